package apiclient

import (
	"context"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
)

func schedulesPath(stack string) string { return stacksPath + "/" + esc(stack) + "/schedules" }

// CreateSchedule adds a schedule to a stack.
func (c *Client) CreateSchedule(ctx context.Context, stack string, in api.CreateSchedule) (*api.Schedule, error) {
	var sc api.Schedule
	if err := c.do(ctx, http.MethodPost, schedulesPath(stack), nil, in, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Schedules returns every schedule of a stack.
func (c *Client) Schedules(ctx context.Context, stack string) ([]api.Schedule, error) {
	var out api.Schedules
	if err := c.do(ctx, http.MethodGet, schedulesPath(stack), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// DeleteSchedule removes a schedule of a stack.
func (c *Client) DeleteSchedule(ctx context.Context, stack, id string) error {
	return c.do(ctx, http.MethodDelete, schedulesPath(stack)+"/"+esc(id), nil, nil, nil)
}
