package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// Personal API keys (issue 20): any logged-in user makes keys for the CLI
// and scripts that act with the user's own roles, as they are at each
// request. A user from an OpenID Connect issuer has no password, so this
// page is how the CLI gets a credential.

func (u *UI) accountRoutes() {
	u.handle("GET /account/api-keys", u.page(u.accountKeys))
	u.handle("POST /account/api-keys", u.form(u.accountCreateKey))
	u.handle("GET /account/api-keys/{id}/delete", u.page(u.accountDeleteKeyPage))
	u.handle("POST /account/api-keys/{id}/delete", u.form(u.accountDeleteKey))
}

// defaultKeyDays is the expiry the create form offers.
const defaultKeyDays = 90

type accountKeysPage struct {
	Mine    identity.PersonalKeys
	Keys    []keyRow
	Form    personalKeyForm
	Created *identity.NewKey // just created: its secret is shown this once
	MaxDays int
	// Spaces are those the viewer may limit a key to: the ones it reads.
	Spaces []space.Space
}

// personalKeyForm is the create form as typed, with the service's
// messages after a refusal.
type personalKeyForm struct {
	Name      string
	ExpiresAt string // YYYY-MM-DD as the date input sends it
	Max       string // the latest date the service accepts
	MaxRole   string // "" for the owner's roles as they are
	Spaces    []string
	Errors    map[string]string
	Error     string
}

// Picked reports whether the form had space id ticked.
func (f personalKeyForm) Picked(id string) bool { return slices.Contains(f.Spaces, id) }

func (u *UI) accountKeys(w http.ResponseWriter, r *http.Request) error {
	return u.showAccountKeys(w, r, http.StatusOK, accountKeysPage{Form: u.blankKeyForm()})
}

// blankKeyForm offers an expiry defaultKeyDays away.
func (u *UI) blankKeyForm() personalKeyForm {
	return personalKeyForm{ExpiresAt: u.now().UTC().AddDate(0, 0, defaultKeyDays).Format(time.DateOnly)}
}

func (u *UI) showAccountKeys(w http.ResponseWriter, r *http.Request, status int, pg accountKeysPage) error {
	mine, err := u.cfg.Identity.ListPersonalKeys(r.Context(), principal(r))
	if err != nil {
		return err
	}
	pg.Mine, pg.MaxDays = mine, int(identity.MaxPersonalKeyLifetime/(24*time.Hour))
	now := u.now()
	for _, k := range mine.Keys {
		pg.Keys = append(pg.Keys, keyRow{KeyWithRoles: identity.KeyWithRoles{Key: k}, Expired: k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)})
	}
	// A date means 00:00 UTC that day: the last one within the lifetime.
	pg.Form.Max = now.UTC().Add(identity.MaxPersonalKeyLifetime).Format(time.DateOnly)
	if pg.Spaces, err = u.cfg.Spaces.List(r.Context(), principal(r)); err != nil {
		return err
	}
	return u.render(w, r, status, "account_api_keys", view{Title: "Your API keys", Nav: "account", Flash: adminFlash(r), Content: pg})
}

func (u *UI) accountCreateKey(w http.ResponseWriter, r *http.Request) error {
	f := personalKeyForm{Name: r.PostForm.Get("name"), ExpiresAt: strings.TrimSpace(r.PostForm.Get("expires_at")),
		MaxRole: r.PostForm.Get("max_role"), Spaces: r.PostForm["spaces"]}
	var expires time.Time
	var err error
	if f.ExpiresAt != "" {
		var t *time.Time
		if t, err = parseExpiry(f.ExpiresAt); err == nil {
			expires = *t
		}
	}
	var nk identity.NewKey
	if err == nil {
		nk, err = u.cfg.Identity.CreatePersonalKey(r.Context(), principal(r),
			identity.PersonalKeyInput{Name: f.Name, ExpiresAt: expires, MaxRole: f.MaxRole, Spaces: f.Spaces})
	}
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		f.Errors, f.Error = fieldMessage(field, msg, "name", "expires_at", "max_role", "spaces")
		return u.showAccountKeys(w, r, status, accountKeysPage{Form: f})
	}
	return u.showAccountKeys(w, r, http.StatusCreated, accountKeysPage{Created: &nk, Form: u.blankKeyForm()})
}

// accountDeleteKeyPage asks before deleting: the key stops at once.
func (u *UI) accountDeleteKeyPage(w http.ResponseWriter, r *http.Request) error {
	mine, err := u.cfg.Identity.ListPersonalKeys(r.Context(), principal(r))
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for _, k := range mine.Keys {
		if k.ID == id {
			return u.render(w, r, http.StatusOK, "account_api_key_delete", view{Title: "Delete " + k.Name, Nav: "account", Content: k})
		}
	}
	return apperr.Errorf(apperr.NotFound, "you have no personal API key %q", id)
}

func (u *UI) accountDeleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Identity.DeletePersonalKey(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/api-keys?done=personal-key-deleted", http.StatusSeeOther)
	return nil
}
