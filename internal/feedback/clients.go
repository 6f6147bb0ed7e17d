package feedback

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Integrations reads integrations (integration.Store implements it).
type Integrations interface {
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
}

// EndpointSource says how to reach an integration's GitLab.
type EndpointSource interface {
	Endpoint(ctx context.Context, integrationID string) (vcs.Endpoint, error)
}

// Endpoints is the EndpointSource of the integrations: read at every
// write, so a changed token or host is used at once. The GitLab adapter
// keeps the integration's client and its connections between writes.
type Endpoints struct {
	integrations Integrations
	box          *secret.Box
}

// NewEndpoints returns the endpoints of the integrations in store, whose
// tokens box opens.
func NewEndpoints(integrations Integrations, box *secret.Box) *Endpoints {
	return &Endpoints{integrations: integrations, box: box}
}

// Endpoint implements EndpointSource. A deleted integration is apperr
// NotFound.
func (e *Endpoints) Endpoint(ctx context.Context, integrationID string) (vcs.Endpoint, error) {
	it, err := e.integrations.GetIntegration(ctx, integrationID)
	if err != nil {
		return vcs.Endpoint{}, err
	}
	token, err := e.box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return vcs.Endpoint{}, fmt.Errorf("open token of integration %s: %w", it.ID, err)
	}
	return it.Endpoint(string(token)), nil
}
