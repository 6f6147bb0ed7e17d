package feedback

import (
	"context"
	"fmt"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Integrations reads integrations (integration.Store implements it).
type Integrations interface {
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
}

// NewClientFunc builds a client-go client for an endpoint with the
// integration's HTTP client and client-go's retries and rate limiter off
// (gitlab.Checker.NewClient).
type NewClientFunc func(ep vcs.Endpoint) (*gl.Client, error)

// Clients is the ClientSource of the integrations: one client per
// integration, rebuilt when the integration changes (a new token, CA
// bundle or host).
type Clients struct {
	integrations Integrations
	box          *secret.Box
	newClient    NewClientFunc

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	updated time.Time
	client  *gl.Client
}

// NewClients returns the client source of the integrations in store, whose
// tokens box opens.
func NewClients(integrations Integrations, box *secret.Box, newClient NewClientFunc) *Clients {
	return &Clients{integrations: integrations, box: box, newClient: newClient, cache: map[string]cachedClient{}}
}

// Client implements ClientSource. A deleted integration is apperr NotFound.
func (c *Clients) Client(ctx context.Context, integrationID string) (*gl.Client, error) {
	it, err := c.integrations.GetIntegration(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.cache[it.ID]; ok && cc.updated.Equal(it.UpdatedAt) {
		return cc.client, nil
	}
	token, err := c.box.Open(it.TokenSealed, secret.AAD("integration", it.ID, "token"))
	if err != nil {
		return nil, fmt.Errorf("open token of integration %s: %w", it.ID, err)
	}
	client, err := c.newClient(it.Endpoint(string(token)))
	if err != nil {
		return nil, fmt.Errorf("gitlab client of integration %s: %w", it.ID, err)
	}
	c.cache[it.ID] = cachedClient{updated: it.UpdatedAt, client: client}
	return client, nil
}
