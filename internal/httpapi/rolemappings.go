package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/identity"
)

func toRoleMapping(m identity.RoleMapping) api.RoleMapping {
	return api.RoleMapping{ID: m.ID, Issuer: m.Issuer, Group: m.Group, Space: m.SpaceID, Role: string(m.Role),
		CreatedAt: m.CreatedAt, CreatedBy: m.CreatedBy}
}

func (a *API) createRoleMapping(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateRoleMapping
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, err := a.cfg.Identity.CreateRoleMapping(r.Context(), principalOf(r),
		identity.MappingInput{Issuer: req.Issuer, Group: req.Group, Space: req.Space, Role: req.Role})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRoleMapping(m))
	return nil
}

func (a *API) listRoleMappings(w http.ResponseWriter, r *http.Request) error {
	ms, err := a.cfg.Identity.ListRoleMappings(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	out := api.RoleMappings{Items: make([]api.RoleMapping, 0, len(ms))}
	for _, m := range ms {
		out.Items = append(out.Items, toRoleMapping(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
