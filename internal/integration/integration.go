// Package integration models how Hoist reaches a VCS server (GitLab for now):
// the Integration record, validation of its fields (SPEC §2.1), who may see
// and change it (SPEC §2.3), and its Store. The business operations live in
// service.go.
package integration

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Provider names a VCS product.
type Provider string

// GitLab is the only provider so far.
const GitLab Provider = "gitlab"

// PrivateScheme prefixes hosts reached through a VCS agent pool (SPEC §2.5).
const PrivateScheme = "private://"

// Integration is one connection to a VCS server. The token and webhook
// secret are only ever held sealed (see package secret); the store never sees
// them in plaintext.
type Integration struct {
	ID             string // slug of the name at creation; immutable; also the webhook path
	Provider       Provider
	Name           string // immutable
	IsDefault      bool   // at most one per provider; lives in root
	SpaceID        string // "root" for defaults
	APIHost        string
	UserFacingHost string
	Labels         []string
	Description    string
	CABundle       string // PEM, "" for the system roots
	// AggregateStatuses posts only hoist/tracked, hoist/proposed and
	// hoist/modules per commit instead of one status per stack (SPEC §5).
	AggregateStatuses bool
	// DriftIssue is the default of the integration's stacks that do not
	// turn drift_issue on themselves: Hoist keeps one GitLab issue per
	// drifted stack, labelled DriftIssueLabels (docs/drift.md).
	DriftIssue          bool
	DriftIssueLabels    []string
	TokenSealed         []byte
	WebhookSecretSealed []byte
	TokenUser           string
	TokenUserID         int64
	TokenScopes         []string
	TokenExpiresAt      *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
	CreatedBy           string // principal
}

// Private reports whether either host is private://… (reached through an
// agent pool).
func (i Integration) Private() bool {
	return strings.HasPrefix(i.APIHost, PrivateScheme) || strings.HasPrefix(i.UserFacingHost, PrivateScheme)
}

// Pools returns the VCS agent pools that either host names, each once, the
// API host's first. Calls go through the first (Endpoint); every one of
// them must be usable by the integration (checkPools).
func (i Integration) Pools() []string {
	var out []string
	for _, h := range []string{i.APIHost, i.UserFacingHost} {
		if p, ok := vcsagent.PoolOf(h); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Endpoint is how Hoist reaches the integration's GitLab with token: every
// GitLab client of the server is built from it. Its API host is
// private://<pool>[/path] when either host names a pool (SPEC §2.1: the API
// host's pool wins; when only the user-facing host names one, the API
// host's path is GitLab's relative root), else the API host itself.
func (i Integration) Endpoint(token string) vcs.Endpoint {
	apiHost := i.APIHost
	if pool, prefix, ok := vcsagent.Route(i.APIHost, i.UserFacingHost); ok {
		apiHost = vcsagent.PrivateScheme + pool + prefix
	}
	return vcs.Endpoint{Integration: i.ID, APIHost: apiHost, Token: token, CABundle: i.CABundle}
}

// Filter narrows a listing. With All false, the listing holds every default
// integration plus those whose space is in Spaces — exactly the set SPEC §2.3
// lists to a principal who has read on Spaces.
type Filter struct {
	Provider Provider // "" for every provider
	All      bool     // every integration (root admins)
	Spaces   []string // spaces the principal may read
}

// Store persists integrations. Each write takes the audit entry describing
// it and stores both in one transaction. A duplicate id, a second default
// integration of a provider, or a missing space give apperr Conflict /
// NotFound; a missing integration gives NotFound.
type Store interface {
	CreateIntegration(ctx context.Context, in Integration, e audit.Entry) error
	GetIntegration(ctx context.Context, id string) (Integration, error)
	// ListIntegrations pages integrations matching f, newest first.
	ListIntegrations(ctx context.Context, f Filter, cursor string, limit int) ([]Integration, string, error)
	// UpdateIntegration replaces every field but ID, Provider, Name,
	// CreatedAt and CreatedBy (rotating the webhook secret is an update).
	UpdateIntegration(ctx context.Context, in Integration, e audit.Entry) error
	// DeleteIntegration removes the integration, freeing its id.
	DeleteIntegration(ctx context.Context, id string, e audit.Entry) error
}
