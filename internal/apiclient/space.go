package apiclient

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Space is a node of the space tree as the API returns it.
type Space struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Parent      string    `json:"parent,omitempty"`
	Inherit     bool      `json:"inherit"`
	Description string    `json:"description,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// CreateSpace is the body of POST /api/v1/spaces. Inherit is a pointer so
// that leaving it out keeps the server's default (true).
type CreateSpace struct {
	Name        string   `json:"name"`
	Parent      string   `json:"parent,omitempty"`
	Inherit     *bool    `json:"inherit,omitempty"`
	Description string   `json:"description,omitempty"`
	Labels      []string `json:"labels,omitempty"`
}

// UpdateSpace is the body of PATCH /api/v1/spaces/{id}: nil fields are left
// unchanged.
type UpdateSpace struct {
	Name        *string   `json:"name,omitempty"`
	Parent      *string   `json:"parent,omitempty"`
	Inherit     *bool     `json:"inherit,omitempty"`
	Description *string   `json:"description,omitempty"`
	Labels      *[]string `json:"labels,omitempty"`
}

// CreateSpace creates a space and returns it with its id.
func (c *Client) CreateSpace(ctx context.Context, in CreateSpace) (*Space, error) {
	var s Space
	if err := c.do(ctx, http.MethodPost, "/api/v1/spaces", nil, in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Spaces yields the spaces the caller may read, following next_cursor.
func (c *Client) Spaces(ctx context.Context) iter.Seq2[Space, error] {
	return pages[Space](ctx, c, "/api/v1/spaces", nil)
}

// ListSpaces returns every space the caller may read.
func (c *Client) ListSpaces(ctx context.Context) ([]Space, error) {
	return collect(c.Spaces(ctx))
}

// GetSpace returns one space.
func (c *Client) GetSpace(ctx context.Context, id string) (*Space, error) {
	var s Space
	if err := c.do(ctx, http.MethodGet, "/api/v1/spaces/"+esc(id), nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// UpdateSpace changes the given fields of a space and returns the result.
func (c *Client) UpdateSpace(ctx context.Context, id string, in UpdateSpace) (*Space, error) {
	var s Space
	if err := c.do(ctx, http.MethodPatch, "/api/v1/spaces/"+esc(id), nil, in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSpace deletes an empty space.
func (c *Client) DeleteSpace(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/spaces/"+esc(id), nil, nil, nil)
}
