package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
)

type adminKeysPage struct {
	Keys      []keyRow
	More      string // cursor of the next page
	Form      newKeyForm
	Created   *identity.NewKey // just created: its secret is shown this once
	RoleNames []string
}

type keyRow struct {
	identity.KeyWithRoles
	Expired bool
}

// newKeyForm is the Create API key form with what was typed and the
// service's messages after a refusal.
type newKeyForm struct {
	Name      string
	ExpiresAt string               // YYYY-MM-DD as the date input sends it
	Picked    []identity.RoleInput // the roles picked, kept after a refusal
	Roles     []roleChoice
	RoleNames []string
	Errors    map[string]string // name, expires_at, roles
	Error     string
}

func (u *UI) adminKeys(w http.ResponseWriter, r *http.Request) error {
	return u.showKeys(w, r, http.StatusOK, adminKeysPage{})
}

func (u *UI) showKeys(w http.ResponseWriter, r *http.Request, status int, pg adminKeysPage) error {
	p := principal(r)
	keys, next, err := u.cfg.Identity.ListAPIKeys(r.Context(), p, r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	now := u.now()
	for _, k := range keys {
		pg.Keys = append(pg.Keys, keyRow{KeyWithRoles: k, Expired: k.Key.ExpiresAt != nil && !now.Before(*k.Key.ExpiresAt)})
	}
	if pg.Form.Roles, err = u.roleChoices(r.Context(), p, pg.Form.Picked); err != nil {
		return err
	}
	pg.More, pg.RoleNames, pg.Form.RoleNames = next, roleNames, roleNames
	return u.render(w, r, status, "admin_api_keys", view{Title: "API keys · Administration", Nav: "admin", Flash: adminFlash(r), Content: pg})
}

// adminCreateKey mints a key with the roles picked per space and an
// optional expiry date, and shows its secret once.
func (u *UI) adminCreateKey(w http.ResponseWriter, r *http.Request) error {
	f := newKeyForm{Name: r.PostForm.Get("name"), ExpiresAt: strings.TrimSpace(r.PostForm.Get("expires_at"))}
	in := identity.KeyInput{Name: f.Name}
	roles, err := formRoles(r)
	in.Roles = roles
	if err == nil && f.ExpiresAt != "" {
		in.ExpiresAt, err = parseExpiry(f.ExpiresAt)
	}
	var nk identity.NewKey
	if err == nil {
		nk, err = u.cfg.Identity.CreateAPIKey(r.Context(), principal(r), in)
	}
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		f.Picked = roles
		f.Errors, f.Error = fieldMessage(field, msg, "name", "expires_at", "roles")
		return u.showKeys(w, r, status, adminKeysPage{Form: f})
	}
	return u.showKeys(w, r, http.StatusCreated, adminKeysPage{Created: &nk})
}

// parseExpiry reads the date input: the key expires at 00:00 UTC that day.
func parseExpiry(s string) (*time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, apperr.InvalidField("expires_at", "must be a date such as 2027-01-31")
	}
	return &t, nil
}

type revokeKeyPage struct {
	Key identity.KeyWithRoles
}

// adminRevokeKeyPage asks before revoking: the key stops working at once.
func (u *UI) adminRevokeKeyPage(w http.ResponseWriter, r *http.Request) error {
	k, err := u.cfg.Identity.GetAPIKey(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "admin_api_key_revoke", view{Title: "Revoke " + k.Key.Name, Nav: "admin", Content: revokeKeyPage{Key: k}})
}

func (u *UI) adminRevokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Identity.DeleteAPIKey(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/api-keys?done=key-revoked", http.StatusSeeOther)
	return nil
}
