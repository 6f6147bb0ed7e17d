package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/notify"
)

func (a *API) registerNotificationRoutes() {
	a.authed("GET /api/v1/notification-targets", a.listNotificationTargets)
	a.authed("POST /api/v1/notification-targets", a.createNotificationTarget)
	a.authed("GET /api/v1/notification-targets/{id}", a.getNotificationTarget)
	a.authed("PATCH /api/v1/notification-targets/{id}", a.updateNotificationTarget)
	a.authed("DELETE /api/v1/notification-targets/{id}", a.deleteNotificationTarget)
	a.authed("GET /api/v1/notification-targets/{id}/deliveries", a.listNotificationDeliveries)
	a.authed("POST /api/v1/notification-targets/{id}/deliveries/{delivery_id}/redeliver", a.redeliverNotification)
}

// ToNotificationTarget is a target as the API shows it: never its URL or
// secret.
func ToNotificationTarget(t notify.Target) api.NotificationTarget {
	events := make([]string, len(t.Events))
	for i, e := range t.Events {
		events[i] = string(e)
	}
	return api.NotificationTarget{ID: t.ID, Name: t.Name, Space: t.SpaceID, Kind: string(t.Kind), Events: events,
		URLHost: t.URLHost, HasSecret: t.SecretSealed != nil, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, CreatedBy: t.CreatedBy}
}

func toNotificationDelivery(d notify.DeliveryView) api.NotificationDelivery {
	log := make([]api.NotificationAttempt, len(d.Attempts))
	for i, at := range d.Attempts {
		log[i] = api.NotificationAttempt{Number: at.Number, At: at.At, StatusCode: at.StatusCode, Error: at.Error,
			DurationMS: at.Duration.Milliseconds()}
	}
	return api.NotificationDelivery{ID: d.ID, NotificationID: d.NotificationID, Event: string(d.Event), State: string(d.State),
		Attempts: d.Delivery.Attempts, NextAttemptAt: d.NextAttemptAt, LastStatus: d.LastStatus, LastError: d.LastError,
		RedeliveryOf: d.RedeliveryOf, Payload: d.Payload, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Log: log}
}

func (a *API) createNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateNotificationTarget
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := a.cfg.Notifications.Create(r.Context(), principalOf(r), notify.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ToNotificationTarget(t))
	return nil
}

func (a *API) listNotificationTargets(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	ts, next, err := a.cfg.Notifications.List(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ts, next, ToNotificationTarget))
	return nil
}

func (a *API) getNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	t, err := a.cfg.Notifications.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ToNotificationTarget(t))
	return nil
}

func (a *API) updateNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateNotificationTarget
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := a.cfg.Notifications.Update(r.Context(), principalOf(r), r.PathValue("id"), notify.Patch(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ToNotificationTarget(t))
	return nil
}

func (a *API) deleteNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Notifications.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listNotificationDeliveries(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	ds, next, err := a.cfg.Notifications.Deliveries(r.Context(), principalOf(r), r.PathValue("id"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(ds, next, toNotificationDelivery))
	return nil
}

func (a *API) redeliverNotification(w http.ResponseWriter, r *http.Request) error {
	d, err := a.cfg.Notifications.Redeliver(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("delivery_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toNotificationDelivery(notify.DeliveryView{Delivery: d, Attempts: []notify.Attempt{}}))
	return nil
}
