package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

const stacksPath = "/api/v1/stacks"

// CreateStack creates a stack after the server has checked the repository
// and branch in GitLab.
func (c *Client) CreateStack(ctx context.Context, in api.CreateStack) (*api.Stack, error) {
	var st api.Stack
	if err := c.do(ctx, http.MethodPost, stacksPath, nil, in, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Stacks yields the stacks the caller may read (of one space when space is
// not empty), following next_cursor.
func (c *Client) Stacks(ctx context.Context, space string) iter.Seq2[api.Stack, error] {
	var q url.Values
	if space != "" {
		q = url.Values{"space": {space}}
	}
	return pages[api.Stack](ctx, c, stacksPath, q)
}

// ListStacks returns every stack the caller may read (of one space when
// space is not empty).
func (c *Client) ListStacks(ctx context.Context, space string) ([]api.Stack, error) {
	return collect(c.Stacks(ctx, space))
}

// GetStack returns one stack.
func (c *Client) GetStack(ctx context.Context, id string) (*api.Stack, error) {
	var st api.Stack
	if err := c.do(ctx, http.MethodGet, stacksPath+"/"+esc(id), nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// UpdateStack changes the given fields and returns the stack.
func (c *Client) UpdateStack(ctx context.Context, id string, in api.UpdateStack) (*api.Stack, error) {
	var st api.Stack
	if err := c.do(ctx, http.MethodPatch, stacksPath+"/"+esc(id), nil, in, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteStack deletes a stack.
func (c *Client) DeleteStack(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, stacksPath+"/"+esc(id), nil, nil, nil)
}
