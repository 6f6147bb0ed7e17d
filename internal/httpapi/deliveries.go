package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/webhook"
)

// toDeliveryJSON is a delivery on the wire; headers and body only in the
// single-delivery answer (full).
func toDeliveryJSON(d webhook.Delivery, full bool) api.Delivery {
	out := api.Delivery{ID: d.ID, Integration: d.IntegrationID, Event: d.Event, Project: d.Project, Ref: d.Ref,
		DedupeKey: d.DedupeKey, Status: string(d.Status), Attempts: d.Attempts, Error: d.Error, Result: toResultJSON(d.Result),
		Processings: make([]api.Processing, len(d.Processings)), ReceivedAt: d.ReceivedAt, UpdatedAt: d.UpdatedAt}
	for i, p := range d.Processings {
		out.Processings[i] = api.Processing{Number: p.Number, Trigger: string(p.Trigger), RequestedBy: p.RequestedBy,
			RequestedAt: p.RequestedAt, StartedAt: p.StartedAt, FinishedAt: p.FinishedAt, Status: string(p.Status),
			Attempts: p.Attempts, Error: p.Error, Counts: p.Result.Counts(), Result: toResultJSON(p.Result)}
	}
	if full {
		out.Headers = d.Headers
		if json.Valid(d.Body) { // stored bodies are JSON objects; never emit broken JSON
			out.Body = d.Body
		}
	}
	return out
}

// toResultJSON keeps nil slices nil: the wire shows what was stored.
func toResultJSON(r *webhook.Result) *api.DeliveryResult {
	if r == nil {
		return nil
	}
	return &api.DeliveryResult{Summary: r.Summary, RunsCanceled: r.RunsCanceled, StacksOmitted: r.StacksOmitted,
		RunsCreated: convert(r.RunsCreated, func(x webhook.RunRef) api.DeliveryRun { return api.DeliveryRun(x) }),
		Stacks:      convert(r.Stacks, func(x webhook.StackResult) api.DeliveryStack { return api.DeliveryStack(x) }),
		Modules:     convert(r.Modules, func(x webhook.ModuleResult) api.DeliveryModuleLine { return api.DeliveryModuleLine(x) })}
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
	writeJSON(w, http.StatusOK, pageOf(ds, next, func(d webhook.Delivery) api.Delivery { return toDeliveryJSON(d, false) }))
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
