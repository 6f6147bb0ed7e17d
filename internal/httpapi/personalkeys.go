package httpapi

import (
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
)

// The caller's personal API keys (issue 20): /api/v1/me/api-keys answers
// only about the keys of the user the calling key belongs to.

func (a *API) createPersonalKey(w http.ResponseWriter, r *http.Request) error {
	var req api.CreatePersonalAPIKey
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := identity.PersonalKeyInput{Name: req.Name, MaxRole: req.MaxRole, Spaces: req.Spaces}
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return apperr.InvalidField("expires_at", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
		}
		in.ExpiresAt = t
	}
	nk, err := a.cfg.Identity.CreatePersonalKey(r.Context(), principalOf(r), in)
	if err != nil {
		return err
	}
	out := toAPIKey(nk.Key, nk.Roles)
	out.Secret = nk.Secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listPersonalKeys(w http.ResponseWriter, r *http.Request) error {
	mine, err := a.cfg.Identity.ListPersonalKeys(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	out := api.PersonalAPIKeys{Items: make([]api.APIKey, 0, len(mine.Keys))}
	for _, k := range mine.Keys {
		out.Items = append(out.Items, toAPIKey(k, mine.Roles))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// personalKeyRoutes registers the caller's own keys.
func (a *API) personalKeyRoutes() {
	a.authed("GET /api/v1/me/api-keys", a.listPersonalKeys)
	a.authed("POST /api/v1/me/api-keys", a.createPersonalKey)
	a.authed("DELETE /api/v1/me/api-keys/{id}", a.identityAction(a.cfg.Identity.DeletePersonalKey))
}
