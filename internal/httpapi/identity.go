package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

type roleJSON struct {
	Space string `json:"space"`
	Role  string `json:"role"`
}

func toRoles(bs []space.Binding) []roleJSON {
	out := make([]roleJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, roleJSON{Space: b.SpaceID, Role: string(b.Role)})
	}
	return out
}

func fromRoles(rs []roleJSON) []identity.RoleInput {
	out := make([]identity.RoleInput, 0, len(rs))
	for _, r := range rs {
		out = append(out, identity.RoleInput{Space: r.Space, Role: r.Role})
	}
	return out
}

type apiKeyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Secret    string     `json:"secret,omitempty"` // only in the create answer
	Roles     []roleJSON `json:"roles"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
}

type createAPIKeyRequest struct {
	Name  string     `json:"name"`
	Roles []roleJSON `json:"roles"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req createAPIKeyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	nk, err := a.cfg.Identity.CreateAPIKey(r.Context(), principalOf(r), req.Name, fromRoles(req.Roles))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyJSON{ID: nk.Key.ID, Name: nk.Key.Name, Secret: nk.Secret, Roles: toRoles(nk.Roles),
		CreatedAt: nk.Key.CreatedAt, CreatedBy: nk.Key.CreatedBy})
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
	writeJSON(w, http.StatusOK, pageOf(keys, next, func(k identity.KeyWithRoles) apiKeyJSON {
		return apiKeyJSON{ID: k.Key.ID, Name: k.Key.Name, Roles: toRoles(k.Roles), CreatedAt: k.Key.CreatedAt, CreatedBy: k.Key.CreatedBy}
	}))
	return nil
}

type userJSON struct {
	ID        string     `json:"id"`
	Username  string     `json:"username"`
	Password  string     `json:"password,omitempty"` // only when generated, in the create answer
	Roles     []roleJSON `json:"roles"`
	CreatedAt time.Time  `json:"created_at"`
}

type createUserRequest struct {
	Username string     `json:"username"`
	Password string     `json:"password"`
	Roles    []roleJSON `json:"roles"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	nu, err := a.cfg.Identity.CreateUser(r.Context(), principalOf(r), req.Username, req.Password, fromRoles(req.Roles))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON{ID: nu.User.ID, Username: nu.User.Username, Password: nu.Password,
		Roles: toRoles(nu.Roles), CreatedAt: nu.User.CreatedAt})
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
	writeJSON(w, http.StatusOK, pageOf(users, next, func(u identity.UserWithRoles) userJSON {
		return userJSON{ID: u.User.ID, Username: u.User.Username, Roles: toRoles(u.Roles), CreatedAt: u.User.CreatedAt}
	}))
	return nil
}

// grantRole serves POST …/{id}/roles for users or API keys.
func (a *API) grantRole(principal func(id string) string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req roleJSON
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
			var req struct {
				Space string `json:"space"`
			}
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
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.Identity.SetPassword(r.Context(), principalOf(r), r.PathValue("id"), req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
