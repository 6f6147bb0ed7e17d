package apiclient

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// VCSAgent is one agent process connected to the server.
type VCSAgent struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Streams     int       `json:"streams"`
	Busy        int       `json:"busy"`
	ConnectedAt time.Time `json:"connected_at"`
}

// VCSAgentPool is a VCS agent pool as the API returns it. Token is set only
// in the answers to creation and rotation; Agents is nil unless the caller
// administers the pool's space (readers see only ConnectedAgents).
type VCSAgentPool struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Space           string     `json:"space"`
	Description     string     `json:"description"`
	Token           string     `json:"token,omitempty"`
	ConnectedAgents int        `json:"connected_agents"`
	Agents          []VCSAgent `json:"agents,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	CreatedBy       string     `json:"created_by,omitempty"`
	TokenRotatedAt  time.Time  `json:"token_rotated_at"`
}

// CreateVCSAgentPool is the body of POST /api/v1/vcs-agent-pools.
type CreateVCSAgentPool struct {
	Name        string `json:"name"`
	Space       string `json:"space,omitempty"` // "" is root
	Description string `json:"description,omitempty"`
}

// UpdateVCSAgentPool is the body of PATCH /api/v1/vcs-agent-pools/{id};
// nil fields are left alone.
type UpdateVCSAgentPool struct {
	Space       *string `json:"space,omitempty"`
	Description *string `json:"description,omitempty"`
}

// CreateVCSAgentPool creates a pool; the answer holds its token, shown only
// this once.
func (c *Client) CreateVCSAgentPool(ctx context.Context, in CreateVCSAgentPool) (*VCSAgentPool, error) {
	var p VCSAgentPool
	if err := c.do(ctx, http.MethodPost, "/api/v1/vcs-agent-pools", nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VCSAgentPools yields the pools, following next_cursor.
func (c *Client) VCSAgentPools(ctx context.Context) iter.Seq2[VCSAgentPool, error] {
	return pages[VCSAgentPool](ctx, c, "/api/v1/vcs-agent-pools", nil)
}

// ListVCSAgentPools returns every pool.
func (c *Client) ListVCSAgentPools(ctx context.Context) ([]VCSAgentPool, error) {
	return collect(c.VCSAgentPools(ctx))
}

// GetVCSAgentPool returns one pool with its connected agents.
func (c *Client) GetVCSAgentPool(ctx context.Context, id string) (*VCSAgentPool, error) {
	var p VCSAgentPool
	if err := c.do(ctx, http.MethodGet, "/api/v1/vcs-agent-pools/"+esc(id), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateVCSAgentPool moves a pool to another space or changes its
// description.
func (c *Client) UpdateVCSAgentPool(ctx context.Context, id string, in UpdateVCSAgentPool) (*VCSAgentPool, error) {
	var p VCSAgentPool
	if err := c.do(ctx, http.MethodPatch, "/api/v1/vcs-agent-pools/"+esc(id), nil, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// RotateVCSAgentPoolToken mints a new pool token (in the answer, shown only
// this once); agents on the old one are disconnected.
func (c *Client) RotateVCSAgentPoolToken(ctx context.Context, id string) (*VCSAgentPool, error) {
	var p VCSAgentPool
	if err := c.do(ctx, http.MethodPost, "/api/v1/vcs-agent-pools/"+esc(id)+"/rotate-token", nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteVCSAgentPool deletes a pool and disconnects its agents.
func (c *Client) DeleteVCSAgentPool(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/vcs-agent-pools/"+esc(id), nil, nil, nil)
}
