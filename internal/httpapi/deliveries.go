package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/webhook"
)

// deliveryJSON is a webhook delivery on the wire; headers and body only
// in the single-delivery answer. Status, result and error are the latest
// processing's; processings has each one.
type deliveryJSON struct {
	ID          string            `json:"id"`
	Integration string            `json:"integration"`
	Event       string            `json:"event"`
	Project     string            `json:"project"`
	Ref         string            `json:"ref"`
	DedupeKey   string            `json:"dedupe_key"`
	Status      string            `json:"status"`
	Attempts    int               `json:"attempts"`
	Error       string            `json:"error,omitempty"`
	Result      *webhook.Result   `json:"result"`
	Processings []processingJSON  `json:"processings"`
	ReceivedAt  time.Time         `json:"received_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
}

// processingJSON is one processing of a delivery: on arrival
// ("received") or asked for again ("redelivered"), with its own outcome.
type processingJSON struct {
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
	Result      *webhook.Result `json:"result"`
}

func toDeliveryJSON(d webhook.Delivery, full bool) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Integration: d.IntegrationID, Event: d.Event, Project: d.Project, Ref: d.Ref,
		DedupeKey: d.DedupeKey, Status: string(d.Status), Attempts: d.Attempts, Error: d.Error, Result: d.Result,
		Processings: make([]processingJSON, len(d.Processings)), ReceivedAt: d.ReceivedAt, UpdatedAt: d.UpdatedAt}
	for i, p := range d.Processings {
		out.Processings[i] = processingJSON{Number: p.Number, Trigger: string(p.Trigger), RequestedBy: p.RequestedBy,
			RequestedAt: p.RequestedAt, StartedAt: p.StartedAt, FinishedAt: p.FinishedAt, Status: string(p.Status),
			Attempts: p.Attempts, Error: p.Error, Counts: p.Result.Counts(), Result: p.Result}
	}
	if full {
		out.Headers = d.Headers
		if json.Valid(d.Body) { // stored bodies are JSON objects; never emit broken JSON
			out.Body = d.Body
		}
	}
	return out
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	ds, next, err := a.cfg.Deliveries.List(r.Context(), principalOf(r), r.URL.Query().Get("integration"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ds, next, func(d webhook.Delivery) deliveryJSON { return toDeliveryJSON(d, false) }))
	return nil
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := a.cfg.Deliveries.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDeliveryJSON(d, true))
	return nil
}

func (a *API) redeliverDelivery(w http.ResponseWriter, r *http.Request) error {
	d, err := a.cfg.Deliveries.Redeliver(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(d, false))
	return nil
}
