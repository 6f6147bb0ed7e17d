package apiclient

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Integration is a VCS integration as the API returns it. The detail fields
// (webhook endpoint and secret, token metadata, warnings) are set only by
// the calls that return details, for callers allowed to see them. The token
// itself is write-only and never returned.
type Integration struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Provider       string   `json:"provider"`
	IsDefault      bool     `json:"is_default"`
	Space          string   `json:"space"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host"`
	Labels         []string `json:"labels,omitempty"`
	Description    string   `json:"description,omitempty"`
	Private        bool     `json:"private"`
	// AggregateStatuses: only hoist/tracked, hoist/proposed and
	// hoist/modules are written instead of one status per stack.
	AggregateStatuses bool      `json:"aggregate_statuses"`
	CreatedAt         time.Time `json:"created_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`

	WebhookEndpoint string     `json:"webhook_endpoint,omitempty"`
	WebhookSecret   string     `json:"webhook_secret,omitempty"`
	CABundle        string     `json:"ca_bundle,omitempty"`
	TokenUser       string     `json:"token_user,omitempty"`
	TokenScopes     []string   `json:"token_scopes,omitempty"`
	TokenExpiresAt  *time.Time `json:"token_expires_at,omitempty"`
	Warnings        []string   `json:"warnings,omitempty"`
}

// CreateGitLabIntegration is the body of POST /api/v1/integrations/gitlab.
type CreateGitLabIntegration struct {
	Name           string   `json:"name"`
	Space          string   `json:"space,omitempty"`
	IsDefault      bool     `json:"is_default,omitempty"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host,omitempty"`
	Token          string   `json:"token"`
	Labels         []string `json:"labels,omitempty"`
	Description    string   `json:"description,omitempty"`
	CABundle       string   `json:"ca_bundle,omitempty"`
	// AggregateStatuses writes hoist/tracked, hoist/proposed and
	// hoist/modules only (for monorepos with many stacks).
	AggregateStatuses bool `json:"aggregate_statuses,omitempty"`
}

// UpdateGitLabIntegration is the body of PATCH
// /api/v1/integrations/gitlab/{id}: nil fields are left unchanged. There is
// no name: names are immutable. Setting Space moves the integration to that
// space; a default integration must also get IsDefault false to move.
type UpdateGitLabIntegration struct {
	Space             *string   `json:"space,omitempty"`
	IsDefault         *bool     `json:"is_default,omitempty"`
	APIHost           *string   `json:"api_host,omitempty"`
	UserFacingHost    *string   `json:"user_facing_host,omitempty"`
	Token             *string   `json:"token,omitempty"`
	Labels            *[]string `json:"labels,omitempty"`
	Description       *string   `json:"description,omitempty"`
	CABundle          *string   `json:"ca_bundle,omitempty"`
	AggregateStatuses *bool     `json:"aggregate_statuses,omitempty"`
}

// TestResult is the answer of POST /api/v1/integrations/gitlab/{id}/test.
type TestResult struct {
	OK             bool       `json:"ok"`
	TokenUser      string     `json:"token_user,omitempty"`
	TokenScopes    []string   `json:"token_scopes,omitempty"`
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
	Warnings       []string   `json:"warnings,omitempty"`
}

const gitlabPath = "/api/v1/integrations/gitlab"

// CreateGitLabIntegration creates a GitLab integration after the server has
// checked the token against GitLab; the answer holds the details.
func (c *Client) CreateGitLabIntegration(ctx context.Context, in CreateGitLabIntegration) (*Integration, error) {
	var it Integration
	if err := c.do(ctx, http.MethodPost, gitlabPath, nil, in, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// Integrations yields the integrations of every provider that the caller
// may see listed, following next_cursor.
func (c *Client) Integrations(ctx context.Context) iter.Seq2[Integration, error] {
	return pages[Integration](ctx, c, "/api/v1/integrations", nil)
}

// ListIntegrations returns every integration the caller may see listed.
func (c *Client) ListIntegrations(ctx context.Context) ([]Integration, error) {
	return collect(c.Integrations(ctx))
}

// GetGitLabIntegration returns the details of a GitLab integration. Callers
// who may list it but not see details get a forbidden error.
func (c *Client) GetGitLabIntegration(ctx context.Context, id string) (*Integration, error) {
	var it Integration
	if err := c.do(ctx, http.MethodGet, gitlabPath+"/"+esc(id), nil, nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// UpdateGitLabIntegration changes the given fields and returns the details.
func (c *Client) UpdateGitLabIntegration(ctx context.Context, id string, in UpdateGitLabIntegration) (*Integration, error) {
	var it Integration
	if err := c.do(ctx, http.MethodPatch, gitlabPath+"/"+esc(id), nil, in, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// DeleteGitLabIntegration deletes a GitLab integration.
func (c *Client) DeleteGitLabIntegration(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, gitlabPath+"/"+esc(id), nil, nil, nil)
}

// TestGitLabIntegration runs the checks of SPEC §2.2 against GitLab again.
func (c *Client) TestGitLabIntegration(ctx context.Context, id string) (*TestResult, error) {
	var r TestResult
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/test", nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RotateGitLabWebhookSecret replaces the webhook secret (the old one stops
// working at once) and returns the details with the new secret.
func (c *Client) RotateGitLabWebhookSecret(ctx context.Context, id string) (*Integration, error) {
	var it Integration
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/rotate-webhook-secret", nil, nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// CreateGitLabWebhook is the body of POST
// /api/v1/integrations/gitlab/{id}/webhooks.
type CreateGitLabWebhook struct {
	Repository string `json:"repository"`
}

// GitLabWebhook is the hook Hoist created (Created) or updated in GitLab.
type GitLabWebhook struct {
	Repository string `json:"repository"`
	ProjectID  int64  `json:"project_id"`
	HookID     int64  `json:"hook_id"`
	URL        string `json:"url"`
	Created    bool   `json:"created"`
}

// CreateGitLabWebhook has Hoist add its webhook to a GitLab project (push,
// tag push and merge request events, SSL verification on), or update the
// hook already pointing at the integration's endpoint.
func (c *Client) CreateGitLabWebhook(ctx context.Context, id string, in CreateGitLabWebhook) (*GitLabWebhook, error) {
	var h GitLabWebhook
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/webhooks", nil, in, &h); err != nil {
		return nil, err
	}
	return &h, nil
}
