package apiclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

const deliveriesPath = "/api/v1/deliveries"

// Deliveries yields deliveries newest first (of one integration when
// integration is not empty), following next_cursor.
func (c *Client) Deliveries(ctx context.Context, integration string) iter.Seq2[api.Delivery, error] {
	var q url.Values
	if integration != "" {
		q = url.Values{"integration": {integration}}
	}
	return pages[api.Delivery](ctx, c, deliveriesPath, q)
}

// GetDelivery returns one delivery with its headers and body.
func (c *Client) GetDelivery(ctx context.Context, id string) (*api.Delivery, error) {
	var d api.Delivery
	if err := c.do(ctx, http.MethodGet, deliveriesPath+"/"+esc(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RedeliverDelivery queues a delivery to be processed again from its
// stored body.
func (c *Client) RedeliverDelivery(ctx context.Context, id string) (*api.Delivery, error) {
	var d api.Delivery
	if err := c.do(ctx, http.MethodPost, deliveriesPath+"/"+esc(id)+"/redeliver", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
