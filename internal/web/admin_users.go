package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

type adminUsersPage struct {
	Users     []identity.UserWithRoles
	More      string // cursor of the next page
	Form      newUserForm
	RoleNames []string
}

// newUserForm is the Create user form, with what was typed (never the
// password) and the service's messages after a refusal.
type newUserForm struct {
	Username  string
	Picked    []identity.RoleInput // the roles picked, kept after a refusal
	Roles     []roleChoice
	RoleNames []string
	Errors    map[string]string // username, password, roles
	Error     string
}

// adminUsers lists users, ordered by id, with the create form.
func (u *UI) adminUsers(w http.ResponseWriter, r *http.Request) error {
	return u.showUsers(w, r, http.StatusOK, newUserForm{})
}

func (u *UI) showUsers(w http.ResponseWriter, r *http.Request, status int, f newUserForm) error {
	p := principal(r)
	users, next, err := u.cfg.Identity.ListUsers(r.Context(), p, r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	if f.Roles, err = u.roleChoices(r.Context(), p, f.Picked); err != nil {
		return err
	}
	f.RoleNames = roleNames
	return u.render(w, r, status, "admin_users", view{Title: "Users · Administration", Nav: "admin", Flash: adminFlash(r),
		Content: adminUsersPage{Users: users, More: next, Form: f, RoleNames: roleNames}})
}

// adminCreateUser creates a user with the roles picked per space. A
// password left empty is generated and shown once, on the user's page.
func (u *UI) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	f := newUserForm{Username: r.PostForm.Get("username")}
	roles, err := formRoles(r)
	var nu identity.NewUser
	if err == nil {
		nu, err = u.cfg.Identity.CreateUser(r.Context(), principal(r), f.Username, r.PostForm.Get("password"), roles)
	}
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		if field == "" && status == http.StatusConflict {
			field = "username" // the user exists already
		}
		f.Picked = roles
		f.Errors, f.Error = fieldMessage(field, msg, "username", "password", "roles")
		return u.showUsers(w, r, status, f)
	}
	if nu.Password == "" {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(nu.User.ID)+"?done=user-created", http.StatusSeeOther)
		return nil
	}
	return u.showUser(w, r, http.StatusCreated, nu.User.ID, adminUserPage{NewPassword: nu.Password})
}

// fieldMessage puts msg next to field when the form has that field, else
// above the form.
func fieldMessage(field, msg string, fields ...string) (map[string]string, string) {
	for _, f := range fields {
		if f == field {
			return map[string]string{field: msg}, "Nothing was saved: fix the field marked below."
		}
	}
	return nil, msg
}

// adminUserPage is one user: its standing, roles, and the forms that
// change them.
type adminUserPage struct {
	User      identity.UserWithRoles
	Self      bool // the viewer: Hoist refuses to disable yourself
	Spaces    []space.Space
	RoleNames []string
	// GrantSpace and GrantRole are the grant form's choice after a refusal.
	GrantSpace, GrantRole string
	Errors                map[string]string // "grant", "password"
	Error                 string
	NewPassword           string // generated at creation: shown this once
}

func (u *UI) adminUser(w http.ResponseWriter, r *http.Request) error {
	return u.showUser(w, r, http.StatusOK, r.PathValue("id"), adminUserPage{})
}

func (u *UI) showUser(w http.ResponseWriter, r *http.Request, status int, id string, pg adminUserPage) error {
	p := principal(r)
	usr, err := u.cfg.Identity.GetUser(r.Context(), p, id)
	if err != nil {
		return err
	}
	if pg.Spaces, err = u.cfg.Spaces.List(r.Context(), p); err != nil {
		return err
	}
	pg.User, pg.Self, pg.RoleNames = usr, usr.User.Principal() == p, roleNames
	return u.render(w, r, status, "admin_user", view{Title: usr.User.Username + " · Users", Nav: "admin", Flash: adminFlash(r), Content: pg})
}

// adminDone sends the browser back to the user's page with a flash.
func adminDone(w http.ResponseWriter, r *http.Request, done string) error {
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(r.PathValue("id"))+"?done="+done, http.StatusSeeOther)
	return nil
}

// adminRefused shows the user's page again with the service's refusal:
// next to form's fields when it names one of fields, else above.
func (u *UI) adminRefused(w http.ResponseWriter, r *http.Request, err error, form string, pg adminUserPage, fields ...string) error {
	field, msg, status, err := fieldError(err)
	if err != nil {
		return err
	}
	if form != "" && field != "" && slices.Contains(fields, field) {
		pg.Errors = map[string]string{form: msg}
	} else {
		pg.Error = msg
	}
	return u.showUser(w, r, status, r.PathValue("id"), pg)
}

func (u *UI) adminSetPassword(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Identity.SetPassword(r.Context(), principal(r), r.PathValue("id"), r.PostForm.Get("password")); err != nil {
		return u.adminRefused(w, r, err, "password", adminUserPage{}, "password")
	}
	return adminDone(w, r, "password")
}

// adminUserAction serves disable and enable.
func (u *UI) adminUserAction(done string, do func(ctx context.Context, actor, id string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := do(r.Context(), principal(r), r.PathValue("id")); err != nil {
			return u.adminRefused(w, r, err, "", adminUserPage{})
		}
		return adminDone(w, r, done)
	}
}

func (u *UI) adminGrant(w http.ResponseWriter, r *http.Request) error {
	in := identity.RoleInput{Space: r.PostForm.Get("space"), Role: r.PostForm.Get("role")}
	id := r.PathValue("id")
	if err := u.cfg.Identity.Grant(r.Context(), principal(r), identity.UserPrincipal(id), in); err != nil {
		return u.adminRefused(w, r, err, "grant", adminUserPage{GrantSpace: in.Space, GrantRole: in.Role}, "role", "space")
	}
	return adminDone(w, r, "granted")
}

func (u *UI) adminRevoke(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := u.cfg.Identity.Revoke(r.Context(), principal(r), identity.UserPrincipal(id), r.PostForm.Get("space")); err != nil {
		return u.adminRefused(w, r, err, "", adminUserPage{})
	}
	return adminDone(w, r, "revoked")
}
