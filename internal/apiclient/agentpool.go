package apiclient

import (
	"context"
	"iter"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
)

// CreateVCSAgentPool creates a pool; the answer holds its token, shown only
// this once.
func (c *Client) CreateVCSAgentPool(ctx context.Context, in api.CreateVCSAgentPool) (*api.VCSAgentPool, error) {
	var p api.VCSAgentPool
	if err := c.do(ctx, http.MethodPost, "/api/v1/vcs-agent-pools", nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VCSAgentPools yields the pools, following next_cursor.
func (c *Client) VCSAgentPools(ctx context.Context) iter.Seq2[api.VCSAgentPool, error] {
	return pages[api.VCSAgentPool](ctx, c, "/api/v1/vcs-agent-pools", nil)
}

// ListVCSAgentPools returns every pool.
func (c *Client) ListVCSAgentPools(ctx context.Context) ([]api.VCSAgentPool, error) {
	return collect(c.VCSAgentPools(ctx))
}

// GetVCSAgentPool returns one pool with its connected agents.
func (c *Client) GetVCSAgentPool(ctx context.Context, id string) (*api.VCSAgentPool, error) {
	var p api.VCSAgentPool
	if err := c.do(ctx, http.MethodGet, "/api/v1/vcs-agent-pools/"+esc(id), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateVCSAgentPool moves a pool to another space or changes its
// description.
func (c *Client) UpdateVCSAgentPool(ctx context.Context, id string, in api.UpdateVCSAgentPool) (*api.VCSAgentPool, error) {
	var p api.VCSAgentPool
	if err := c.do(ctx, http.MethodPatch, "/api/v1/vcs-agent-pools/"+esc(id), nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// RotateVCSAgentPoolToken mints a new pool token (in the answer, shown only
// this once); agents on the old one are disconnected.
func (c *Client) RotateVCSAgentPoolToken(ctx context.Context, id string) (*api.VCSAgentPool, error) {
	var p api.VCSAgentPool
	if err := c.do(ctx, http.MethodPost, "/api/v1/vcs-agent-pools/"+esc(id)+"/rotate-token", nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteVCSAgentPool deletes a pool and disconnects its agents.
func (c *Client) DeleteVCSAgentPool(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/vcs-agent-pools/"+esc(id), nil, nil, nil)
}
