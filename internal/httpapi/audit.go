package httpapi

import (
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
)

// listAudit serves the audit log to root admins, newest first, filtered by
// ?resource_type= and ?resource_id=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	ok, err := a.cfg.Identity.IsRootAdmin(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Errorf(apperr.Forbidden, "only root admins may read the audit log")
	}
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	entries, next, err := a.cfg.Audit.ListAudit(r.Context(), audit.Filter{ResourceType: q.Get("resource_type"), ResourceID: q.Get("resource_id")}, cursor, limit)
	if err != nil {
		return err
	}
	out := api.Page[api.AuditEntry]{Items: make([]api.AuditEntry, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		out.Items = append(out.Items, api.AuditEntry{ID: strconv.FormatInt(e.ID, 10), At: e.At, Actor: e.Actor, Action: e.Action,
			ResourceType: e.ResourceType, ResourceID: e.ResourceID, Space: e.SpaceID, Detail: detail})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
