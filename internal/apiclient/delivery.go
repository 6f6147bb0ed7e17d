package apiclient

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Delivery is a webhook delivery as the API returns it (SPEC §2.4).
// Headers and Body are only filled by GetDelivery. Status, Result and
// Error are the latest processing's; Processings has each one.
type Delivery struct {
	ID          string            `json:"id"`
	Integration string            `json:"integration"`
	Event       string            `json:"event"`
	Project     string            `json:"project"`
	Ref         string            `json:"ref"`
	DedupeKey   string            `json:"dedupe_key"`
	Status      string            `json:"status"`
	Attempts    int               `json:"attempts"`
	Error       string            `json:"error,omitempty"`
	Result      *DeliveryResult   `json:"result"`
	Processings []Processing      `json:"processings"`
	ReceivedAt  time.Time         `json:"received_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
}

// Processing is one processing of a delivery: on arrival (trigger
// "received") or asked for again ("redelivered"), with its own outcome.
type Processing struct {
	Number      int             `json:"number"`
	Trigger     string          `json:"trigger"`
	RequestedBy string          `json:"requested_by,omitempty"`
	RequestedAt time.Time       `json:"requested_at"`
	StartedAt   *time.Time      `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	Error       string          `json:"error,omitempty"`
	Counts      map[string]int  `json:"counts"`
	Result      *DeliveryResult `json:"result"`
}

// DeliveryResult is what processing a delivery did.
type DeliveryResult struct {
	Summary      string               `json:"summary"`
	RunsCreated  []DeliveryRun        `json:"runs_created"`
	RunsCanceled []string             `json:"runs_canceled"`
	Stacks       []DeliveryStack      `json:"stacks"`
	Modules      []DeliveryModuleLine `json:"modules,omitempty"`
}

// DeliveryRun is a run a delivery created.
type DeliveryRun struct {
	ID      string `json:"id"`
	StackID string `json:"stack_id"`
	Type    string `json:"type"`
}

// DeliveryStack says whether a stack of the repository got a run, and why
// (not).
type DeliveryStack struct {
	StackID string `json:"stack_id"`
	Result  string `json:"result"` // created, deduplicated, skipped, capped
	RunID   string `json:"run_id,omitempty"`
	RunType string `json:"run_type,omitempty"`
	Reason  string `json:"reason"`
}

// DeliveryModuleLine says what a tag push did for one module.
type DeliveryModuleLine struct {
	ModuleID string `json:"module_id"`
	Version  string `json:"version,omitempty"`
	Result   string `json:"result"`
	Reason   string `json:"reason"`
}

const deliveriesPath = "/api/v1/deliveries"

// Deliveries yields deliveries newest first (of one integration when
// integration is not empty), following next_cursor.
func (c *Client) Deliveries(ctx context.Context, integration string) iter.Seq2[Delivery, error] {
	var q url.Values
	if integration != "" {
		q = url.Values{"integration": {integration}}
	}
	return pages[Delivery](ctx, c, deliveriesPath, q)
}

// GetDelivery returns one delivery with its headers and body.
func (c *Client) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	if err := c.do(ctx, http.MethodGet, deliveriesPath+"/"+esc(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RedeliverDelivery queues a delivery to be processed again from its
// stored body.
func (c *Client) RedeliverDelivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	if err := c.do(ctx, http.MethodPost, deliveriesPath+"/"+esc(id)+"/redeliver", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
