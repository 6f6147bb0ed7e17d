package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
)

type auditPage struct {
	Filter  auditForm
	Fields  []auditField
	Entries []auditRow
	More    string // the next page's address, filters kept
	Errors  map[string]string
	Error   string
}

// auditForm is the filter form as typed (GET parameters).
type auditForm struct {
	Actor, Action, Type, Target, Space, Since, Before string
}

// auditField is one input of the filter form.
type auditField struct {
	ID, Label, Value, Hint, Error string
	Time                          bool // a datetime-local input
}

// fields lays the form out with its messages.
func (a auditForm) fields(errors map[string]string) []auditField {
	out := []auditField{
		{ID: "actor", Label: "Actor", Value: a.Actor, Hint: "user:admin, apikey:<id>, anonymous"},
		{ID: "action", Label: "Action", Value: a.Action, Hint: "user.disable, or user for every user.… action"},
		{ID: "resource_type", Label: "Target type", Value: a.Type, Hint: "user, api_key, integration, stack…"},
		{ID: "resource_id", Label: "Target id", Value: a.Target},
		{ID: "space", Label: "Space", Value: a.Space},
		{ID: "since", Label: "From (UTC)", Value: a.Since, Time: true},
		{ID: "before", Label: "Before (UTC)", Value: a.Before, Time: true},
	}
	for i := range out {
		out[i].Error = errors[out[i].ID]
	}
	return out
}

type auditRow struct {
	audit.Entry
	Detail string // JSON
}

// maxFilterLen bounds a filter field: names and ids, not payloads.
const maxFilterLen = 200

// auditTimeLayouts are what a datetime-local input sends (with or without
// seconds), and a bare date.
var auditTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly}

// adminAudit lists the audit log, newest first, filtered and paged in SQL.
func (u *UI) adminAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg := auditPage{Filter: auditForm{Actor: q.Get("actor"), Action: q.Get("action"), Type: q.Get("resource_type"),
		Target: q.Get("resource_id"), Space: q.Get("space"), Since: q.Get("since"), Before: q.Get("before")}}
	f, err := pg.Filter.parse()
	var entries []audit.Entry
	var next string
	if err == nil {
		entries, next, err = u.cfg.Audit.ListAudit(r.Context(), f, q.Get("cursor"), 50)
	}
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		pg.Errors, pg.Error = fieldMessage(field, msg, "actor", "action", "resource_type", "resource_id", "space", "since", "before")
		if field == "cursor" {
			pg.Error = "That page of the audit log does not exist: start again from the first page."
		}
		pg.Fields = pg.Filter.fields(pg.Errors)
		return u.render(w, r, status, "admin_audit", view{Title: "Audit log · Administration", Nav: "admin", Content: pg})
	}
	for _, e := range entries {
		d, err := json.Marshal(e.Detail)
		if err != nil {
			d = []byte("{}") // stored as JSON: cannot happen
		}
		pg.Entries = append(pg.Entries, auditRow{Entry: e, Detail: string(d)})
	}
	if next != "" {
		v := pg.Filter.values()
		v.Set("cursor", next)
		pg.More = "/admin/audit?" + v.Encode()
	}
	pg.Fields = pg.Filter.fields(nil)
	return u.render(w, r, http.StatusOK, "admin_audit", view{Title: "Audit log · Administration", Nav: "admin", Content: pg})
}

// parse checks the form into an audit.Filter.
func (a auditForm) parse() (audit.Filter, error) {
	for _, f := range []struct{ name, v string }{{"actor", a.Actor}, {"action", a.Action}, {"resource_type", a.Type},
		{"resource_id", a.Target}, {"space", a.Space}, {"since", a.Since}, {"before", a.Before}} {
		if utf8.RuneCountInString(f.v) > maxFilterLen {
			return audit.Filter{}, apperr.InvalidField(f.name, "must be at most %d characters", maxFilterLen)
		}
	}
	f := audit.Filter{Actor: a.Actor, Action: a.Action, ResourceType: a.Type, ResourceID: a.Target, SpaceID: a.Space}
	var err error
	if f.Since, err = parseAuditTime("since", a.Since); err != nil {
		return f, err
	}
	if f.Until, err = parseAuditTime("before", a.Before); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, apperr.InvalidField("before", "must be after From")
	}
	return f, nil
}

func (a auditForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": a.Actor, "action": a.Action, "resource_type": a.Type,
		"resource_id": a.Target, "space": a.Space, "since": a.Since, "before": a.Before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func parseAuditTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range auditTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, apperr.InvalidField(field, "must be a UTC time such as 2026-12-07T09:30 (or a date)")
}
