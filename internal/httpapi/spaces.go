package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/space"
)

func toSpaceJSON(s space.Space) api.Space {
	return api.Space{ID: s.ID, Name: s.Name, Parent: s.ParentID, Inherit: s.Inherit, Description: s.Description,
		Labels: nonNilStrings(s.Labels), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// listSpaces answers every readable space at once: the tree is small and
// the access decision needs all of it anyway, so next_cursor is always "".
func (a *API) listSpaces(w http.ResponseWriter, r *http.Request) error {
	spaces, err := a.cfg.Spaces.List(r.Context(), principalOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(spaces, "", toSpaceJSON))
	return nil
}

func (a *API) createSpace(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateSpace
	if err := decode(w, r, &req); err != nil {
		return err
	}
	s, err := a.cfg.Spaces.Create(r.Context(), principalOf(r), space.CreateInput{
		Name: req.Name, Parent: req.Parent, Inherit: req.Inherit, Description: req.Description, Labels: req.Labels})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toSpaceJSON(s))
	return nil
}

func (a *API) getSpace(w http.ResponseWriter, r *http.Request) error {
	s, err := a.cfg.Spaces.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSpaceJSON(s))
	return nil
}

func (a *API) updateSpace(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateSpace
	if err := decode(w, r, &req); err != nil {
		return err
	}
	s, err := a.cfg.Spaces.Update(r.Context(), principalOf(r), r.PathValue("id"), space.Patch(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSpaceJSON(s))
	return nil
}

func (a *API) deleteSpace(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Spaces.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
