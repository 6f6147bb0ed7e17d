package web

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// Role mappings (issue 20): root admins give the members of a group at an
// OpenID Connect issuer a role on a space, through the identity service,
// which refuses what the API refuses, with the same messages.

func (u *UI) adminMappingRoutes() {
	u.handle("GET /admin/role-mappings", u.adminPage(u.adminMappings))
	u.handle("POST /admin/role-mappings", u.adminForm(u.adminCreateMapping))
	u.handle("GET /admin/role-mappings/{id}/delete", u.adminPage(u.adminDeleteMappingPage))
	u.handle("POST /admin/role-mappings/{id}/delete", u.adminForm(u.adminDeleteMapping))
}

// newMappingForm is the create form, as typed, with the service's
// messages after a refusal.
type newMappingForm struct {
	Group, Issuer, Space, Role string
	Errors                     map[string]string // group, issuer, role
	Error                      string
}

type adminMappingsPage struct {
	Mappings  []identity.RoleMapping
	Spaces    []space.Space
	RoleNames []string
	Form      newMappingForm
}

func (u *UI) adminMappings(w http.ResponseWriter, r *http.Request) error {
	return u.showMappings(w, r, http.StatusOK, newMappingForm{Space: space.RootID, Role: string(space.Read)})
}

func (u *UI) showMappings(w http.ResponseWriter, r *http.Request, status int, f newMappingForm) error {
	p := principal(r)
	ms, err := u.cfg.Identity.ListRoleMappings(r.Context(), p)
	if err != nil {
		return err
	}
	spaces, err := u.cfg.Spaces.List(r.Context(), p)
	if err != nil {
		return err
	}
	return u.render(w, r, status, "admin_role_mappings", view{Title: "Role mappings · Administration", Nav: "admin", Flash: adminFlash(r),
		Content: adminMappingsPage{Mappings: ms, Spaces: spaces, RoleNames: roleNames, Form: f}})
}

func (u *UI) adminCreateMapping(w http.ResponseWriter, r *http.Request) error {
	f := newMappingForm{Group: r.PostForm.Get("group"), Issuer: r.PostForm.Get("issuer"),
		Space: r.PostForm.Get("space"), Role: r.PostForm.Get("role")}
	_, err := u.cfg.Identity.CreateRoleMapping(r.Context(), principal(r),
		identity.MappingInput{Issuer: f.Issuer, Group: f.Group, Space: f.Space, Role: f.Role})
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		if field == "" && status == http.StatusConflict {
			field = "group" // that group is mapped on that space already
		}
		f.Errors, f.Error = fieldMessage(field, msg, "group", "issuer", "role")
		return u.showMappings(w, r, status, f)
	}
	http.Redirect(w, r, "/admin/role-mappings?done=mapping-created", http.StatusSeeOther)
	return nil
}

// adminDeleteMappingPage asks before deleting: the roles the mapping gave
// go at once.
func (u *UI) adminDeleteMappingPage(w http.ResponseWriter, r *http.Request) error {
	ms, err := u.cfg.Identity.ListRoleMappings(r.Context(), principal(r))
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for _, m := range ms {
		if m.ID == id {
			return u.render(w, r, http.StatusOK, "admin_role_mapping_delete", view{Title: "Delete role mapping " + m.Group,
				Nav: "admin", Content: m})
		}
	}
	return apperr.Errorf(apperr.NotFound, "role mapping %q not found", id)
}

func (u *UI) adminDeleteMapping(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Identity.DeleteRoleMapping(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/role-mappings?done=mapping-deleted", http.StatusSeeOther)
	return nil
}
