package apiclient

import (
	"context"
	"iter"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
)

// CreateSpace creates a space and returns it with its id.
func (c *Client) CreateSpace(ctx context.Context, in api.CreateSpace) (*api.Space, error) {
	var s api.Space
	if err := c.do(ctx, http.MethodPost, "/api/v1/spaces", nil, in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Spaces yields the spaces the caller may read, following next_cursor.
func (c *Client) Spaces(ctx context.Context) iter.Seq2[api.Space, error] {
	return pages[api.Space](ctx, c, "/api/v1/spaces", nil)
}

// ListSpaces returns every space the caller may read.
func (c *Client) ListSpaces(ctx context.Context) ([]api.Space, error) {
	return collect(c.Spaces(ctx))
}

// GetSpace returns one space.
func (c *Client) GetSpace(ctx context.Context, id string) (*api.Space, error) {
	var s api.Space
	if err := c.do(ctx, http.MethodGet, "/api/v1/spaces/"+esc(id), nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// UpdateSpace changes the given fields of a space and returns the result.
func (c *Client) UpdateSpace(ctx context.Context, id string, in api.UpdateSpace) (*api.Space, error) {
	var s api.Space
	if err := c.do(ctx, http.MethodPatch, "/api/v1/spaces/"+esc(id), nil, in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSpace deletes an empty space.
func (c *Client) DeleteSpace(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/spaces/"+esc(id), nil, nil, nil)
}
