package httpapi

import (
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/module"
)

// moduleJSON is a module on the wire.
type moduleJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Provider    string    `json:"provider"`
	Space       string    `json:"space"`
	Integration string    `json:"integration"`
	Repository  string    `json:"repository"`
	Branch      string    `json:"branch"`
	ProjectRoot string    `json:"project_root"`
	Labels      []string  `json:"labels"`
	Description string    `json:"description"`
	Source      string    `json:"source"` // the registry address without host: space/name/provider
	Detached    bool      `json:"detached"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Warnings    []string  `json:"warnings,omitempty"`
}

func toModuleJSON(v module.View) moduleJSON {
	m := v.Module
	return moduleJSON{ID: m.ID, Name: m.Name, Provider: m.Provider, Space: m.SpaceID, Integration: m.IntegrationID,
		Repository: m.Repository, Branch: m.Branch, ProjectRoot: m.ProjectRoot, Labels: nonNilStrings(m.Labels), Description: m.Description,
		Source: m.SpaceID + "/" + m.ID + "/" + m.Provider, Detached: v.Detached, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Warnings: v.Warnings}
}

// moduleVersionJSON is a version on the wire.
type moduleVersionJSON struct {
	Module    string    `json:"module"`
	Version   string    `json:"version"`
	SHA       string    `json:"sha"`
	Tag       string    `json:"tag"`
	State     string    `json:"state"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toModuleVersionJSON(v module.Version) moduleVersionJSON {
	return moduleVersionJSON{Module: v.ModuleID, Version: v.Version, SHA: v.SHA, Tag: v.Tag, State: string(v.State),
		Note: v.Note, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

type createModuleRequest struct {
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	Space       string   `json:"space"`
	Integration string   `json:"integration"`
	Repository  string   `json:"repository"`
	Branch      string   `json:"branch"`
	ProjectRoot string   `json:"project_root"`
	Labels      []string `json:"labels"`
	Description string   `json:"description"`
}

func (a *API) createModule(w http.ResponseWriter, r *http.Request) error {
	var req createModuleRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Modules.Create(r.Context(), principalOf(r), module.CreateInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toModuleJSON(v))
	return nil
}

func (a *API) listModules(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	views, next, err := a.cfg.Modules.List(r.Context(), principalOf(r), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(views, next, toModuleJSON))
	return nil
}

func (a *API) getModule(w http.ResponseWriter, r *http.Request) error {
	v, err := a.cfg.Modules.Get(r.Context(), principalOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toModuleJSON(v))
	return nil
}

func (a *API) deleteModule(w http.ResponseWriter, r *http.Request) error {
	if err := a.cfg.Modules.Delete(r.Context(), principalOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listModuleVersions(w http.ResponseWriter, r *http.Request) error {
	cursor, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	vs, next, err := a.cfg.Modules.Versions(r.Context(), principalOf(r), r.PathValue("id"), cursor, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(vs, next, toModuleVersionJSON))
	return nil
}

type createModuleVersionRequest struct {
	Version string `json:"version"`
	SHA     string `json:"sha"`
}

func (a *API) createModuleVersion(w http.ResponseWriter, r *http.Request) error {
	var req createModuleVersionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Modules.CreateVersion(r.Context(), principalOf(r), r.PathValue("id"), module.CreateVersionInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toModuleVersionJSON(v))
	return nil
}

type markBadRequest struct {
	Note string `json:"note"`
}

func (a *API) markModuleVersionBad(w http.ResponseWriter, r *http.Request) error {
	var req markBadRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := a.cfg.Modules.MarkBad(r.Context(), principalOf(r), r.PathValue("id"), r.PathValue("version"), req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toModuleVersionJSON(v))
	return nil
}
