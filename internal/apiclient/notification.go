package apiclient

import (
	"context"
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
)

const notificationTargetsPath = "/api/v1/notification-targets"

// CreateNotificationTarget creates a notification target.
func (c *Client) CreateNotificationTarget(ctx context.Context, in api.CreateNotificationTarget) (*api.NotificationTarget, error) {
	var t api.NotificationTarget
	if err := c.do(ctx, http.MethodPost, notificationTargetsPath, nil, in, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListNotificationTargets returns every target the caller may read.
func (c *Client) ListNotificationTargets(ctx context.Context) ([]api.NotificationTarget, error) {
	return collect(pages[api.NotificationTarget](ctx, c, notificationTargetsPath, nil))
}

// GetNotificationTarget returns one target.
func (c *Client) GetNotificationTarget(ctx context.Context, id string) (*api.NotificationTarget, error) {
	var t api.NotificationTarget
	if err := c.do(ctx, http.MethodGet, notificationTargetsPath+"/"+esc(id), nil, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateNotificationTarget changes the fields of in that are set.
func (c *Client) UpdateNotificationTarget(ctx context.Context, id string, in api.UpdateNotificationTarget) (*api.NotificationTarget, error) {
	var t api.NotificationTarget
	if err := c.do(ctx, http.MethodPatch, notificationTargetsPath+"/"+esc(id), nil, in, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteNotificationTarget deletes a target and its delivery log.
func (c *Client) DeleteNotificationTarget(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, notificationTargetsPath+"/"+esc(id), nil, nil, nil)
}

// NotificationDeliveries returns a target's delivery log, newest first.
func (c *Client) NotificationDeliveries(ctx context.Context, id string) ([]api.NotificationDelivery, error) {
	return collect(pages[api.NotificationDelivery](ctx, c, notificationTargetsPath+"/"+esc(id)+"/deliveries", nil))
}

// RedeliverNotification queues a delivery of a target again.
func (c *Client) RedeliverNotification(ctx context.Context, id string, deliveryID int64) (*api.NotificationDelivery, error) {
	var d api.NotificationDelivery
	path := notificationTargetsPath + "/" + esc(id) + "/deliveries/" + strconv.FormatInt(deliveryID, 10) + "/redeliver"
	if err := c.do(ctx, http.MethodPost, path, nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
