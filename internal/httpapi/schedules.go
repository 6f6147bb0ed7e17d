package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/stack"
)

func (a *API) registerScheduleRoutes() {
	a.authed("GET /api/v1/stacks/{id}/schedules", a.listSchedules)
	a.authed("POST /api/v1/stacks/{id}/schedules", a.createSchedule)
	a.authed("GET /api/v1/stacks/{id}/schedules/{schedule_id}", a.getSchedule)
	a.authed("PATCH /api/v1/stacks/{id}/schedules/{schedule_id}", a.updateSchedule)
	a.authed("DELETE /api/v1/stacks/{id}/schedules/{schedule_id}", a.deleteSchedule)
}

func toScheduleJSON(sc schedule.Schedule) api.Schedule {
	return api.Schedule{ID: sc.ID, Stack: sc.StackID, Kind: string(sc.Kind), Cron: sc.Cron, TimeZone: sc.TimeZone,
		Command: nonNilStrings(sc.Command), Reconcile: sc.Reconcile, NextRunAt: sc.NextRunAt, LastRunAt: sc.LastRunAt,
		LastRun: sc.LastRunID, LastError: sc.LastError, CreatedBy: sc.CreatedBy, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt}
}

func toDriftJSON(d *stack.Drift) *api.StackDrift {
	if d == nil {
		return nil
	}
	out := &api.StackDrift{Drifted: d.Drifted, Run: d.RunID, CheckedAt: d.CheckedAt, ChangedAt: d.ChangedAt,
		Resources: make([]api.DriftResource, 0, len(d.Changes))}
	for _, c := range d.Changes {
		out.Resources = append(out.Resources, api.DriftResource(c))
	}
	return out
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request) error {
	scs, err := a.cfg.Schedules.List(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Schedules{Items: convert(scs, toScheduleJSON)})
	return nil
}

func (a *API) createSchedule(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateSchedule
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sc, err := a.cfg.Schedules.Create(r.Context(), principalOf(r), r.PathValue("id"), schedule.Input{
		Kind: schedule.Kind(req.Kind), Cron: req.Cron, TimeZone: req.TimeZone, Command: req.Command, Reconcile: req.Reconcile})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toScheduleJSON(sc))
	return nil
}

func (a *API) getSchedule(w http.ResponseWriter, r *http.Request) error {
	sc, err := a.cfg.Schedules.Get(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("schedule_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toScheduleJSON(sc))
	return nil
}

func (a *API) updateSchedule(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateSchedule
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sc, err := a.cfg.Schedules.Update(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("schedule_id"),
		schedule.Patch(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toScheduleJSON(sc))
	return nil
}

func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Schedules.Delete(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("schedule_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
