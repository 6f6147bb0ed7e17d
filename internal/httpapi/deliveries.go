package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/webhook"
)

// deliveryJSON is a webhook delivery on the wire; headers and body only
// in the single-delivery answer.
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
	ReceivedAt  time.Time         `json:"received_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
}

func toDeliveryJSON(d webhook.Delivery, full bool) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Integration: d.IntegrationID, Event: d.Event, Project: d.Project, Ref: d.Ref,
		DedupeKey: d.DedupeKey, Status: string(d.Status), Attempts: d.Attempts, Error: d.Error, Result: d.Result,
		ReceivedAt: d.ReceivedAt, UpdatedAt: d.UpdatedAt}
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
