package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/schedule"
)

// A stack's schedules (schedule.Service, as the API's
// /stacks/{id}/schedules, docs/drift.md): listed to readers, created and
// deleted by the stack's admins.

// schedulesCard is the stack page's Schedules card.
type schedulesCard struct {
	Items []schedule.Schedule
	Form  scheduleForm
}

// scheduleForm is the create form, kept after a refusal.
type scheduleForm struct {
	Kind, Cron, TimeZone, Command string
	Reconcile                     bool
	Errors                        map[string]string // kind, cron, time_zone, command, reconcile
	Error                         string
}

func (u *UI) schedulesCard(ctx context.Context, p, stackID string, form *scheduleForm) (*schedulesCard, error) {
	if u.cfg.Schedules == nil {
		return nil, nil
	}
	items, err := u.cfg.Schedules.List(ctx, p, stackID)
	if err != nil {
		return nil, err
	}
	c := &schedulesCard{Items: items, Form: scheduleForm{Kind: string(schedule.Drift), TimeZone: schedule.DefaultTimeZone}}
	if form != nil {
		c.Form = *form
	}
	return c, nil
}

// createSchedule adds a schedule; a refusal shows the stack page again
// with the message next to the field. The command is one line of shell
// words (schedule.ParseCommand: quotes group, nothing is expanded or run;
// docs/design/schedules.md says why).
func (u *UI) createSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	f := scheduleForm{Kind: r.PostForm.Get("kind"), Cron: r.PostForm.Get("cron"), TimeZone: r.PostForm.Get("time_zone"),
		Command: r.PostForm.Get("command"), Reconcile: r.PostForm.Get("reconcile") == "on"}
	args, err := schedule.ParseCommand(f.Command)
	if err == nil {
		_, err = u.cfg.Schedules.Create(r.Context(), principal(r), id, schedule.Input{Kind: schedule.Kind(f.Kind), Cron: f.Cron,
			TimeZone: f.TimeZone, Command: args, Reconcile: f.Reconcile})
	}
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		f.Errors, f.Error = fieldMessage(field, msg, "kind", "cron", "time_zone", "command", "reconcile")
		return u.showStack(w, r, status, stackForms{schedule: &f})
	}
	http.Redirect(w, r, "/stacks/"+url.PathEscape(id)+"?done=schedule-created#schedules", http.StatusSeeOther)
	return nil
}

func (u *UI) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := u.cfg.Schedules.Delete(r.Context(), principal(r), id, r.PostForm.Get("schedule")); err != nil {
		return err
	}
	http.Redirect(w, r, "/stacks/"+url.PathEscape(id)+"?done=schedule-deleted#schedules", http.StatusSeeOther)
	return nil
}
