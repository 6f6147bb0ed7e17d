package httpapi

import (
	"net/http"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/module"
)

func toModuleJSON(v module.View) api.Module {
	m := v.Module
	return api.Module{ID: m.ID, Name: m.Name, Provider: m.Provider, Space: m.SpaceID, Integration: m.IntegrationID,
		Repository: m.Repository, Branch: m.Branch, ProjectRoot: m.ProjectRoot, Labels: nonNilStrings(m.Labels), Description: m.Description,
		Source: m.SpaceID + "/" + m.ID + "/" + m.Provider, Detached: v.Detached, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Warnings: v.Warnings}
}

func toModuleVersionJSON(v module.Version) api.ModuleVersion {
	return api.ModuleVersion{Module: v.ModuleID, Version: v.Version, SHA: v.SHA, Tag: v.Tag, State: string(v.State),
		Note: v.Note, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func (a *API) createModule(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateModule
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

func (a *API) createModuleVersion(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateModuleVersion
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

func (a *API) markModuleVersionBad(w http.ResponseWriter, r *http.Request) error {
	var req api.MarkModuleVersionBad
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
