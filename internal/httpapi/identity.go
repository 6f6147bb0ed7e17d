package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

func toRoles(bs []space.Binding) []api.RoleBinding {
	out := make([]api.RoleBinding, 0, len(bs))
	for _, b := range bs {
		out = append(out, api.RoleBinding{Space: b.SpaceID, Role: string(b.Role)})
	}
	return out
}

func fromRoles(rs []api.RoleBinding) []identity.RoleInput {
	out := make([]identity.RoleInput, 0, len(rs))
	for _, r := range rs {
		out = append(out, identity.RoleInput{Space: r.Space, Role: r.Role})
	}
	return out
}

func toAPIKey(k identity.APIKey, roles []space.Binding) api.APIKey {
	return api.APIKey{ID: k.ID, Name: k.Name, Roles: toRoles(roles), CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, ExpiresAt: k.ExpiresAt,
		Personal: k.Personal, Ceiling: toCeiling(k.Ceiling)}
}

// toCeiling is a key's ceiling on the wire; nil when it has none.
func toCeiling(c space.Ceiling) *api.KeyCeiling {
	if c.IsZero() {
		return nil
	}
	out := &api.KeyCeiling{MaxRole: string(c.Max)}
	if c.Limited {
		spaces := append([]string{}, c.Spaces...)
		out.Spaces = &spaces
	}
	return out
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateAPIKey
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := identity.KeyInput{Name: req.Name, Roles: fromRoles(req.Roles)}
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return apperr.InvalidField("expires_at", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
		}
		in.ExpiresAt = &t
	}
	nk, err := a.cfg.Identity.CreateAPIKey(r.Context(), principalOf(r), in)
	if err != nil {
		return err
	}
	out := toAPIKey(nk.Key, nk.Roles)
	out.Secret = nk.Secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	keys, next, err := a.cfg.Identity.ListAPIKeys(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(keys, next, func(k identity.KeyWithRoles) api.APIKey { return toAPIKey(k.Key, k.Roles) }))
	return nil
}

func toUser(u identity.User, roles []space.Binding) api.User {
	return api.User{ID: u.ID, Username: u.Username, Roles: toUserRoles(roles), CreatedAt: u.CreatedAt,
		Disabled: u.DisabledAt != nil, DisabledAt: u.DisabledAt, Issuer: u.Issuer, Name: u.Name, Email: u.Email}
}

func toUserRoles(bs []space.Binding) []api.UserRole {
	out := make([]api.UserRole, 0, len(bs))
	for _, b := range bs {
		r := api.UserRole{Space: b.SpaceID, Role: string(b.Role), Source: "local", MappingID: b.MappingID}
		if b.MappingID != "" {
			r.Source = "mapping"
		}
		out = append(out, r)
	}
	return out
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateUser
	if err := decode(w, r, &req); err != nil {
		return err
	}
	nu, err := a.cfg.Identity.CreateUser(r.Context(), principalOf(r), req.Username, req.Password, fromRoles(req.Roles))
	if err != nil {
		return err
	}
	out := toUser(nu.User, nu.Roles)
	out.Password = nu.Password
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	users, next, err := a.cfg.Identity.ListUsers(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(users, next, func(u identity.UserWithRoles) api.User { return toUser(u.User, u.Roles) }))
	return nil
}

// identityAction serves the routes that delete or change the standing of
// one user or API key ({id}): 204 when done.
func (a *API) identityAction(do func(ctx context.Context, actor, id string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := do(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// grantRole serves POST …/{id}/roles for users or API keys.
func (a *API) grantRole(principal func(id string) string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req api.RoleBinding
		if err := decode(w, r, &req); err != nil {
			return err
		}
		in := identity.RoleInput{Space: req.Space, Role: req.Role}
		if err := a.cfg.Identity.Grant(r.Context(), principalOf(r), principal(r.PathValue("id")), in); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// revokeRole serves DELETE …/{id}/roles with the space in ?space= or in a
// {"space": …} body.
func (a *API) revokeRole(principal func(id string) string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		spaceID := r.URL.Query().Get("space")
		if spaceID == "" && r.ContentLength != 0 {
			var req api.RevokeRole
			if err := decode(w, r, &req); err != nil {
				return err
			}
			spaceID = req.Space
		}
		if strings.TrimSpace(spaceID) == "" {
			return apperr.InvalidField("space", "is required (?space=<space-id>)")
		}
		if err := a.cfg.Identity.Revoke(r.Context(), principalOf(r), principal(r.PathValue("id")), spaceID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) setPassword(w http.ResponseWriter, r *http.Request) error {
	var req api.SetPassword
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.Identity.SetPassword(r.Context(), principalOf(r), r.PathValue("id"), req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
