package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/space"
)

// The Modules pages are the module registry's (SPEC §4.5): the modules
// the viewer may read, a create form for admins of a space, and a module
// page with its versions, a mark-bad form for writers and the snippet
// `tofu init` needs. Every check is module.Service's, as for the API.

func (u *UI) moduleRoutes() {
	u.handle("GET /modules", u.page(u.modulesList))
	u.handle("POST /modules", u.form(u.createModule))
	u.handle("GET /modules/{id}", u.page(u.moduleDetails))
	u.handle("POST /modules/{id}/mark-bad", u.form(u.markVersionBad))
}

// modulesPage is the content of modules.html.
type modulesPage struct {
	Modules []module.View
	More    string      // cursor of the next page
	Form    *moduleForm // nil: the viewer administers no space
}

// moduleForm is the Create module form with what was typed and the
// service's messages after a refusal.
type moduleForm struct {
	Name, Provider, Space, Integration      string
	Repository, Branch, ProjectRoot, Labels string
	Description                             string
	Spaces                                  []space.Space // where the viewer may create one (admin)
	Integrations                            []integration.Integration
	Errors                                  map[string]string
	Error                                   string
}

// moduleFields are the form's inputs, named as the API's fields.
var moduleFields = []string{"name", "provider", "space", "integration", "repository", "branch", "project_root", "labels", "description"}

func (u *UI) modulesList(w http.ResponseWriter, r *http.Request) error {
	return u.showModules(w, r, http.StatusOK, moduleForm{Space: space.RootID, Branch: "main"})
}

func (u *UI) showModules(w http.ResponseWriter, r *http.Request, status int, f moduleForm) error {
	ctx, p := r.Context(), principal(r)
	mods, next, err := u.cfg.Modules.List(ctx, p, r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	page := modulesPage{Modules: mods, More: next}
	if err := u.moduleChoices(ctx, p, &f); err != nil {
		return err
	}
	if len(f.Spaces) > 0 {
		page.Form = &f
	}
	return u.render(w, r, status, "modules", view{Title: "Modules", Nav: "modules", Content: page})
}

// moduleChoices adds the spaces the viewer administers and the
// integrations it may list (the service checks the integration is usable
// from the space chosen).
func (u *UI) moduleChoices(ctx context.Context, p string, f *moduleForm) error {
	var err error
	if f.Spaces, err = u.adminSpaces(ctx, p); err != nil {
		return err
	}
	views, _, err := u.cfg.Integrations.List(ctx, p, "", 100)
	if err != nil {
		return err
	}
	for _, v := range views {
		f.Integrations = append(f.Integrations, v.Integration)
	}
	return nil
}

// createModule creates a module as POST /api/v1/modules does (the same
// validation and GitLab checks) and opens its page.
func (u *UI) createModule(w http.ResponseWriter, r *http.Request) error {
	get := func(k string) string { return r.PostForm.Get(k) }
	f := moduleForm{Name: get("name"), Provider: get("provider"), Space: get("space"), Integration: get("integration"),
		Repository: get("repository"), Branch: get("branch"), ProjectRoot: get("project_root"), Labels: get("labels"),
		Description: get("description")}
	v, err := u.cfg.Modules.Create(r.Context(), principal(r), module.CreateInput{Name: f.Name, Provider: f.Provider,
		Space: f.Space, Integration: f.Integration, Repository: f.Repository, Branch: f.Branch, ProjectRoot: f.ProjectRoot,
		Labels: splitLabels(f.Labels), Description: f.Description})
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		f.Errors, f.Error = fieldMessage(field, msg, moduleFields...)
		return u.showModules(w, r, status, f)
	}
	done := "created"
	if len(v.Warnings) > 0 {
		done = "created-warnings"
	}
	http.Redirect(w, r, "/modules/"+url.PathEscape(v.ID)+"?done="+done, http.StatusSeeOther)
	return nil
}

// maxVersionsShown is how many versions a module page lists at once.
const maxVersionsShown = 50

// modulePage is the content of module.html.
type modulePage struct {
	module.View
	Versions   []module.Version
	More       string // cursor of the next page of versions
	CanMarkBad bool   // write on the module's space
	Source     string // the registry address
	Latest     string // the highest published version on this page
	TokenVar   string // the TF_TOKEN_… variable OpenTofu reads for Hoist's host
	HTTPS      bool   // OpenTofu reaches registries only over HTTPS
	// The mark-bad form after a refusal.
	BadVersion, BadNote string
	Errors              map[string]string
	Error               string
}

// LocalName is a module block's name for the snippet: the id with '-' as
// '_' (both are valid; underscores read as one identifier).
func (p modulePage) LocalName() string { return strings.ReplaceAll(p.ID, "-", "_") }

// Published are the versions the mark-bad form offers.
func (p modulePage) Published() []module.Version {
	var out []module.Version
	for _, v := range p.Versions {
		if v.State == module.Published {
			out = append(out, v)
		}
	}
	return out
}

func (u *UI) moduleDetails(w http.ResponseWriter, r *http.Request) error {
	return u.showModule(w, r, http.StatusOK, modulePage{})
}

func (u *UI) showModule(w http.ResponseWriter, r *http.Request, status int, pg modulePage) error {
	ctx, p, id := r.Context(), principal(r), r.PathValue("id")
	v, err := u.cfg.Modules.Get(ctx, p, id)
	if err != nil {
		return err
	}
	pg.View = v
	if pg.Versions, pg.More, err = u.cfg.Modules.Versions(ctx, p, id, r.URL.Query().Get("cursor"), maxVersionsShown); err != nil {
		return err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	pg.CanMarkBad = access.Has(v.SpaceID, space.Write)
	pg.Source = v.SpaceID + "/" + v.ID + "/" + v.Provider
	if u.host != "" {
		pg.Source = u.host + "/" + pg.Source
		pg.TokenVar = tokenVar(u.host)
	}
	pg.HTTPS = strings.HasPrefix(u.origin, "https://")
	for _, ver := range pg.Versions {
		if ver.State == module.Published && (pg.Latest == "" || module.CompareVersions(ver.Version, pg.Latest) > 0) {
			pg.Latest = ver.Version
		}
	}
	return u.render(w, r, status, "module", view{Title: v.Name + " · Modules", Nav: "modules",
		Flash: moduleFlashes[r.URL.Query().Get("done")], Content: pg})
}

var moduleFlashes = map[string]string{
	"created":          "Module created. Push a tag such as v0.1.0 on its repository to publish its first version.",
	"created-warnings": "Module created, with the warnings below. Push a tag such as v0.1.0 on its repository to publish its first version.",
	"marked-bad":       "Version marked bad: the registry no longer offers it, and its number stays taken.",
}

// tokenVar is the environment variable OpenTofu reads the credential of
// host from: lower case, '-' as "__", '.' as '_', the port kept after its
// colon (docs/modules.md).
func tokenVar(host string) string {
	h := strings.ToLower(host)
	h = strings.ReplaceAll(h, "-", "__")
	h = strings.ReplaceAll(h, ".", "_")
	return "TF_TOKEN_" + h
}

// markVersionBad marks a version bad with a note, as POST
// /api/v1/modules/{id}/versions/{version}/mark-bad does.
func (u *UI) markVersionBad(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ver, note := r.PostForm.Get("version"), r.PostForm.Get("note")
	if _, err := u.cfg.Modules.MarkBad(r.Context(), principal(r), id, ver, note); err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		if status == http.StatusNotFound {
			// The module exists (else showModule answers 404): the
			// version is unknown, which is said next to its select.
			field = "version"
		}
		pg := modulePage{BadVersion: ver, BadNote: note}
		pg.Errors, pg.Error = fieldMessage(field, msg, "version", "note")
		return u.showModule(w, r, status, pg)
	}
	http.Redirect(w, r, "/modules/"+url.PathEscape(id)+"?done=marked-bad", http.StatusSeeOther)
	return nil
}
