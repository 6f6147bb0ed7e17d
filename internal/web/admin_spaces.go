package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/space"
)

// The spaces tree (issue 19): root admins create spaces, move them under
// another parent and delete empty ones, through the space service (which
// refuses what the API refuses, with the same messages).

func (u *UI) adminSpaceRoutes() {
	u.handle("GET /admin/spaces", u.adminPage(u.adminSpacesPage))
	u.handle("POST /admin/spaces", u.adminForm(u.adminCreateSpace))
	u.handle("POST /admin/spaces/{id}/move", u.adminForm(u.adminMoveSpace))
	u.handle("POST /admin/spaces/{id}/delete", u.adminForm(u.adminDeleteSpace))
}

// spaceRow is one space of the tree, indented by depth.
type spaceRow struct {
	Space space.Space
	Depth int
	// Parents are the spaces it may move under: every other space that is
	// not below it.
	Parents []space.Space
}

// newSpaceForm is the create form, as typed.
type newSpaceForm struct {
	Name, Parent, Description string
	Inherit                   bool
	Errors                    map[string]string
	Error                     string
}

type adminSpacesPage struct {
	Rows []spaceRow
	All  []space.Space
	Form newSpaceForm
	// Refused is why a move or delete was refused ("" when none), and
	// RefusedID the space it was about.
	Refused, RefusedID string
}

func (u *UI) adminSpacesPage(w http.ResponseWriter, r *http.Request) error {
	return u.showSpaces(w, r, http.StatusOK, newSpaceForm{Parent: space.RootID, Inherit: true}, "", "")
}

func (u *UI) showSpaces(w http.ResponseWriter, r *http.Request, status int, f newSpaceForm, refusedID, refused string) error {
	all, err := u.cfg.Spaces.List(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return u.render(w, r, status, "admin_spaces", view{Title: "Spaces · Administration", Nav: "admin", Flash: adminFlash(r),
		Content: adminSpacesPage{Rows: spaceTree(all), All: all, Form: f, Refused: refused, RefusedID: refusedID}})
}

// spaceTree orders spaces depth first from root, children by name.
func spaceTree(all []space.Space) []spaceRow {
	children := map[string][]space.Space{}
	for _, sp := range all {
		if !sp.IsRoot() {
			children[sp.ParentID] = append(children[sp.ParentID], sp)
		}
	}
	for _, cs := range children {
		slices.SortFunc(cs, func(a, b space.Space) int { return strings.Compare(a.Name, b.Name) })
	}
	var rows []spaceRow
	var walk func(sp space.Space, depth int)
	walk = func(sp space.Space, depth int) {
		rows = append(rows, spaceRow{Space: sp, Depth: depth})
		for _, c := range children[sp.ID] {
			walk(c, depth+1)
		}
	}
	for _, sp := range all {
		if sp.IsRoot() {
			walk(sp, 0)
		}
	}
	// A space may move under any space outside its own subtree.
	for i := range rows {
		inside := map[string]bool{rows[i].Space.ID: true}
		for j := i + 1; j < len(rows) && rows[j].Depth > rows[i].Depth; j++ {
			inside[rows[j].Space.ID] = true
		}
		for _, row := range rows {
			if !inside[row.Space.ID] {
				rows[i].Parents = append(rows[i].Parents, row.Space)
			}
		}
	}
	return rows
}

func (u *UI) adminCreateSpace(w http.ResponseWriter, r *http.Request) error {
	f := newSpaceForm{Name: r.PostForm.Get("name"), Parent: r.PostForm.Get("parent"), Description: r.PostForm.Get("description"),
		Inherit: r.PostForm.Get("inherit") == "on"}
	inherit := f.Inherit
	if _, err := u.cfg.Spaces.Create(r.Context(), principal(r), space.CreateInput{Name: f.Name, Parent: f.Parent,
		Inherit: &inherit, Description: f.Description}); err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		if field == "" && status == http.StatusConflict {
			field = "name"
		}
		f.Errors, f.Error = fieldMessage(field, msg, "name", "parent", "description")
		return u.showSpaces(w, r, status, f, "", "")
	}
	http.Redirect(w, r, "/admin/spaces?done=space-created", http.StatusSeeOther)
	return nil
}

func (u *UI) adminMoveSpace(w http.ResponseWriter, r *http.Request) error {
	id, parent := r.PathValue("id"), r.PostForm.Get("parent")
	if _, err := u.cfg.Spaces.Update(r.Context(), principal(r), id, space.Patch{Parent: &parent}); err != nil {
		return u.spaceRefused(w, r, id, err)
	}
	http.Redirect(w, r, "/admin/spaces?done=space-moved#space-"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

func (u *UI) adminDeleteSpace(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := u.cfg.Spaces.Delete(r.Context(), principal(r), id); err != nil {
		return u.spaceRefused(w, r, id, err)
	}
	http.Redirect(w, r, "/admin/spaces?done=space-deleted", http.StatusSeeOther)
	return nil
}

// spaceRefused shows the tree again with why the service refused a move
// or a delete, next to the space's row.
func (u *UI) spaceRefused(w http.ResponseWriter, r *http.Request, id string, err error) error {
	_, msg, status, err := fieldError(err)
	if err != nil {
		return err
	}
	return u.showSpaces(w, r, status, newSpaceForm{Parent: space.RootID, Inherit: true}, id, msg)
}
