package httpapi

import (
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/space"
)

type spaceJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Parent      string    `json:"parent"`
	Inherit     bool      `json:"inherit"`
	Description string    `json:"description"`
	Labels      []string  `json:"labels"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toSpaceJSON(s space.Space) spaceJSON {
	return spaceJSON{ID: s.ID, Name: s.Name, Parent: s.ParentID, Inherit: s.Inherit, Description: s.Description,
		Labels: nonNilStrings(s.Labels), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type createSpaceRequest struct {
	Name        string   `json:"name"`
	Parent      string   `json:"parent"`
	Inherit     *bool    `json:"inherit"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
}

type updateSpaceRequest struct {
	Name        *string   `json:"name"`
	Parent      *string   `json:"parent"`
	Inherit     *bool     `json:"inherit"`
	Description *string   `json:"description"`
	Labels      *[]string `json:"labels"`
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
	var req createSpaceRequest
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
	var req updateSpaceRequest
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
