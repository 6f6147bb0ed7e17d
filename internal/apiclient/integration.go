package apiclient

import (
	"context"
	"iter"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
)

const gitlabPath = "/api/v1/integrations/gitlab"

// CreateGitLabIntegration creates a GitLab integration after the server has
// checked the token against GitLab; the answer holds the details.
func (c *Client) CreateGitLabIntegration(ctx context.Context, in api.CreateGitLabIntegration) (*api.Integration, error) {
	var it api.Integration
	if err := c.do(ctx, http.MethodPost, gitlabPath, nil, in, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// Integrations yields the integrations of every provider that the caller
// may see listed, following next_cursor.
func (c *Client) Integrations(ctx context.Context) iter.Seq2[api.Integration, error] {
	return pages[api.Integration](ctx, c, "/api/v1/integrations", nil)
}

// ListIntegrations returns every integration the caller may see listed.
func (c *Client) ListIntegrations(ctx context.Context) ([]api.Integration, error) {
	return collect(c.Integrations(ctx))
}

// GetGitLabIntegration returns the details of a GitLab integration. Callers
// who may list it but not see details get a forbidden error.
func (c *Client) GetGitLabIntegration(ctx context.Context, id string) (*api.Integration, error) {
	var it api.Integration
	if err := c.do(ctx, http.MethodGet, gitlabPath+"/"+esc(id), nil, nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// UpdateGitLabIntegration changes the given fields and returns the details.
func (c *Client) UpdateGitLabIntegration(ctx context.Context, id string, in api.UpdateGitLabIntegration) (*api.Integration, error) {
	var it api.Integration
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
func (c *Client) TestGitLabIntegration(ctx context.Context, id string) (*api.TestResult, error) {
	var r api.TestResult
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/test", nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RotateGitLabWebhookSecret replaces the webhook secret (the old one stops
// working at once) and returns the details with the new secret.
func (c *Client) RotateGitLabWebhookSecret(ctx context.Context, id string) (*api.Integration, error) {
	var it api.Integration
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/rotate-webhook-secret", nil, nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// CreateGitLabWebhook has Hoist add its webhook to a GitLab project (push,
// tag push, merge request and comment events, SSL verification on), or
// update the hook already pointing at the integration's endpoint.
func (c *Client) CreateGitLabWebhook(ctx context.Context, id string, in api.CreateGitLabWebhook) (*api.GitLabWebhook, error) {
	var h api.GitLabWebhook
	if err := c.do(ctx, http.MethodPost, gitlabPath+"/"+esc(id)+"/webhooks", nil, in, &h); err != nil {
		return nil, err
	}
	return &h, nil
}
