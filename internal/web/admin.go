package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// The Administration pages (users, API keys, spaces, role mappings, the
// audit log) are for root admins: the identity service lets nobody else
// manage users or keys, and the audit log spans every space.

func (u *UI) adminRoutes() {
	u.handle("GET /admin", u.adminPage(func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
		return nil
	}))
	u.handle("GET /admin/users", u.adminPage(u.adminUsers))
	u.handle("POST /admin/users", u.adminForm(u.adminCreateUser))
	u.handle("GET /admin/users/{id}", u.adminPage(u.adminUser))
	u.handle("POST /admin/users/{id}/password", u.adminForm(u.adminSetPassword))
	u.handle("POST /admin/users/{id}/disable", u.adminForm(u.adminUserAction("disabled", u.cfg.Identity.DisableUser)))
	u.handle("POST /admin/users/{id}/enable", u.adminForm(u.adminUserAction("enabled", u.cfg.Identity.EnableUser)))
	u.handle("POST /admin/users/{id}/roles", u.adminForm(u.adminGrant))
	u.handle("POST /admin/users/{id}/roles/revoke", u.adminForm(u.adminRevoke))
	u.handle("GET /admin/api-keys", u.adminPage(u.adminKeys))
	u.handle("POST /admin/api-keys", u.adminForm(u.adminCreateKey))
	u.handle("GET /admin/api-keys/{id}/revoke", u.adminPage(u.adminRevokeKeyPage))
	u.handle("POST /admin/api-keys/{id}/revoke", u.adminForm(u.adminRevokeKey))
	u.handle("GET /admin/audit", u.adminPage(u.adminAudit))
	u.adminSpaceRoutes()
	u.adminMappingRoutes()
}

var errNotAdmin = apperr.Errorf(apperr.Forbidden, "Only root admins may use the Administration pages.")

// requireAdmin refuses anyone but a root admin (the layout's viewer was
// resolved for this request).
func requireAdmin(r *http.Request) error {
	if c, ok := sessionOf(r); ok && c.viewer.RootAdmin {
		return nil
	}
	return errNotAdmin
}

func (u *UI) adminPage(h handlerFunc) http.Handler {
	return u.page(func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		return h(w, r)
	})
}

func (u *UI) adminForm(h handlerFunc) http.Handler {
	return u.form(func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		return h(w, r)
	})
}

// adminFlashes are the fixed messages an Administration redirect may ask
// for with ?done=.
var adminFlashes = map[string]string{
	"user-created":    "User created.",
	"disabled":        "User disabled: its sessions ended and its API keys stopped working.",
	"enabled":         "User enabled: it can log in again and its API keys work again.",
	"password":        "Password changed: every session of the user ended.",
	"granted":         "Role granted.",
	"revoked":         "Role revoked.",
	"key-revoked":     "API key revoked: it no longer works.",
	"space-created":   "Space created.",
	"space-moved":     "Space moved: its stacks, integrations and roles went with it.",
	"space-deleted":   "Space deleted.",
	"mapping-created": "Role mapping created: its members get the role at their next login or refresh.",
	"mapping-deleted": "Role mapping deleted: the roles it gave are gone.",
	// not an Administration page's: the account's own keys
	"personal-key-deleted": "API key deleted: it no longer works.",
}

func adminFlash(r *http.Request) string { return adminFlashes[r.URL.Query().Get("done")] }

// fieldError splits a service error for a form: the message of an invalid
// field (without the field's name in front), or the message about the
// form as a whole, and the status to answer with. Errors that are not the
// person's to fix come back as err, for the error page.
func fieldError(err error) (field, msg string, status int, _ error) {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return "", "", 0, err
	}
	switch ae.Code {
	case apperr.Invalid:
		status = http.StatusBadRequest
	case apperr.Conflict:
		status = http.StatusConflict
	case apperr.NotFound:
		status = http.StatusNotFound
	default:
		return "", "", 0, err
	}
	if ae.Field == "" {
		return "", ae.Message, status, nil
	}
	return ae.Field, strings.TrimPrefix(ae.Message, ae.Field+": "), status, nil
}

// roleChoice is one space of a "roles per space" form and the role picked.
type roleChoice struct {
	Space space.Space
	Role  string
}

// maxRoleFields bounds the role:<space> fields one form may carry: each
// costs the service a look-up.
const maxRoleFields = 500

// formRoles reads the role:<space-id> selects of a form ("" = no role),
// ordered by space; the service validates role names and spaces.
func formRoles(r *http.Request) ([]identity.RoleInput, error) {
	var out []identity.RoleInput
	n := 0
	for k, vs := range r.PostForm {
		id, ok := strings.CutPrefix(k, "role:")
		if !ok {
			continue
		}
		if n++; n > maxRoleFields {
			return nil, apperr.InvalidField("roles", "at most %d roles at once", maxRoleFields)
		}
		if v := strings.TrimSpace(vs[0]); v != "" {
			out = append(out, identity.RoleInput{Space: id, Role: v})
		}
	}
	slices.SortFunc(out, func(a, b identity.RoleInput) int { return strings.Compare(a.Space, b.Space) })
	return out, nil
}

// roleChoices lists every space the admin sees, with the role picked in
// the form (picked, from formRoles) or none.
func (u *UI) roleChoices(ctx context.Context, p string, picked []identity.RoleInput) ([]roleChoice, error) {
	spaces, err := u.cfg.Spaces.List(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list spaces: %w", err)
	}
	out := make([]roleChoice, 0, len(spaces))
	for _, sp := range spaces {
		c := roleChoice{Space: sp}
		for _, in := range picked {
			if in.Space == sp.ID {
				c.Role = in.Role
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// roleNames is what the role selects offer.
var roleNames = []string{string(space.Read), string(space.Write), string(space.Admin)}
