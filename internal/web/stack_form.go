package web

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// The stack forms call stack.Service.Create, Update and Delete, as the
// API does: the same validation, the same checks in GitLab, the same
// messages, shown next to the field they name.

func (u *UI) stackRoutes() {
	u.handle("GET /stacks/new", u.page(u.newStackPage))
	u.handle("POST /stacks/new", u.form(u.createStack))
	u.handle("GET /stacks/{id}/edit", u.page(u.editStackPage))
	u.handle("POST /stacks/{id}/edit", u.form(u.updateStack))
	u.handle("GET /stacks/{id}/delete", u.page(u.deleteStackPage))
	u.handle("POST /stacks/{id}/delete", u.form(u.deleteStack))
}

// stackForm is the create and edit form: what was typed, the choices, and
// the service's messages after a refusal.
type stackForm struct {
	Edit     bool
	ID       string // the stack being edited
	Detached string // why the edited stack is detached, "" when it is not

	Name, Space, Integration, Repository, Branch, ProjectRoot string
	Globs, Labels                                             string // one per line
	Autodeploy                                                bool
	Tool, ToolVersion, WorkerPool                             string
	AllowForkMRs, MRApply                                     bool
	MRPlanMinAccess, MRApplyMinAccess                         string
	Require                                                   map[string]bool // apply requirements picked
	Description                                               string
	DriftIssue                                                string // inherit, on, off
	DriftIssueLabels                                          string // one per line

	Spaces       []space.Space // where the viewer may put a stack: admin spaces
	Integrations []integrationChoice
	InheritDrift string // the picked integration's Drift
	Requirements []string
	Errors       map[string]string
	Error        string
}

// integrationChoice is one integration of the picker, with the spaces
// (among the viewer's admin spaces) whose stacks may use it; hoist.js
// hides it for the others.
type integrationChoice struct {
	ID, Name string
	Default  bool
	Spaces   string // space ids, separated by spaces
	// Drift is the integration's drift issue setting, which a stack that
	// follows it takes: hoist.js shows the picked one's next to
	// "Follow the integration".
	Drift string
}

// driftSetting says an integration's drift issue setting in a few words.
func driftSetting(it integration.Integration) string {
	if !it.DriftIssue {
		return "now off"
	}
	if len(it.DriftIssueLabels) == 0 {
		return "now on"
	}
	return "now on, labelled " + strings.Join(it.DriftIssueLabels, " ")
}

// stackFormFields are the fields the form shows, as the service names
// them in its errors; a message about another field goes on top.
var stackFormFields = []string{"name", "space", "integration", "repository", "branch", "project_root",
	"additional_project_globs", "labels", "description", "tool", "tool_version", "worker_pool",
	"mr_plan_min_access", "mr_apply_min_access", "apply_requirements", "drift_issue_mode", "drift_issue_labels"}

// accessLevelNames are the names of stack.MRAccessLevels, lowest level
// first.
var accessLevelNames = func() []string {
	names := slices.Collect(maps.Keys(stack.MRAccessLevels))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(stack.MRAccessLevels[a], stack.MRAccessLevels[b]) })
	return names
}()

func (u *UI) newStackPage(w http.ResponseWriter, r *http.Request) error {
	f := stackForm{Tool: string(stack.OpenTofu), WorkerPool: stack.DefaultWorkerPool,
		MRPlanMinAccess: stack.DefaultMRPlanMinAccess, MRApplyMinAccess: stack.DefaultMRApplyMinAccess}
	return u.showStackForm(w, r, http.StatusOK, f)
}

// showStackForm fills the form's choices and renders it; a viewer who is
// admin of no space is refused, as the service would refuse the post.
func (u *UI) showStackForm(w http.ResponseWriter, r *http.Request, status int, f stackForm) error {
	ctx, p := r.Context(), principal(r)
	access, tree, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	spaces, err := u.cfg.Spaces.List(ctx, p)
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if stack.CanManage(sp.ID, access) {
			f.Spaces = append(f.Spaces, sp)
		}
	}
	if len(f.Spaces) == 0 {
		return apperr.Errorf(apperr.Forbidden, "Creating stacks needs admin on a space; you are admin of none.")
	}
	if f.Space == "" {
		f.Space = f.Spaces[0].ID
	}
	its, err := u.visibleIntegrations(ctx, p)
	if err != nil {
		return err
	}
	for _, it := range its {
		var usable []string
		for _, sp := range f.Spaces {
			if stack.IntegrationUsable(tree, sp.ID, it.Integration) {
				usable = append(usable, sp.ID)
			}
		}
		if len(usable) > 0 || it.ID == f.Integration {
			f.Integrations = append(f.Integrations, integrationChoice{ID: it.ID, Name: it.Name, Default: it.IsDefault,
				Spaces: strings.Join(usable, " "), Drift: driftSetting(it.Integration)})
		}
		if it.IsDefault && f.Integration == "" && !f.Edit {
			f.Integration = it.ID
		}
	}
	for _, c := range f.Integrations {
		if c.ID == f.Integration {
			f.InheritDrift = c.Drift
		}
	}
	f.Requirements = stack.ApplyRequirementNames
	title := "New stack"
	if f.Edit {
		title = "Edit " + f.Name
	}
	return u.render(w, r, status, "stack_form", view{Title: title, Nav: "stacks", Content: f})
}

// readStackForm reads the posted form.
func readStackForm(r *http.Request) stackForm {
	g := func(k string) string { return r.PostForm.Get(k) }
	f := stackForm{Name: g("name"), Space: g("space"), Integration: g("integration"), Repository: g("repository"),
		Branch: g("branch"), ProjectRoot: g("project_root"), Globs: g("additional_project_globs"), Labels: g("labels"),
		Autodeploy: g("autodeploy") == "on", Tool: g("tool"), ToolVersion: g("tool_version"), WorkerPool: g("worker_pool"),
		AllowForkMRs: g("allow_fork_mrs") == "on", MRApply: g("mr_apply") == "on", MRPlanMinAccess: g("mr_plan_min_access"),
		MRApplyMinAccess: g("mr_apply_min_access"), Description: g("description"), Require: map[string]bool{},
		DriftIssue: g("drift_issue_mode"), DriftIssueLabels: g("drift_issue_labels")}
	if f.DriftIssue == "" && g("drift_issue") == "on" {
		f.DriftIssue = string(stack.DriftIssueOn) // a page from before the mode: its checkbox
	}
	for _, req := range r.PostForm["apply_requirements"] {
		f.Require[req] = true
	}
	return f
}

// lines splits a textarea into its non-blank lines, trimmed.
func lines(s string) []string {
	out := []string{}
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (u *UI) createStack(w http.ResponseWriter, r *http.Request) error {
	f := readStackForm(r)
	v, err := u.cfg.Stacks.Create(r.Context(), principal(r), stack.CreateInput{Name: f.Name, Space: f.Space,
		Integration: f.Integration, Repository: f.Repository, Branch: f.Branch, ProjectRoot: f.ProjectRoot,
		AdditionalProjectGlobs: lines(f.Globs), Labels: lines(f.Labels), Autodeploy: f.Autodeploy, Description: f.Description,
		Tool: f.Tool, ToolVersion: f.ToolVersion, WorkerPool: f.WorkerPool, AllowForkMRs: f.AllowForkMRs,
		MRPlanMinAccess: f.MRPlanMinAccess, MRApply: f.MRApply, MRApplyMinAccess: f.MRApplyMinAccess,
		ApplyRequirements: r.PostForm["apply_requirements"], DriftIssueMode: f.DriftIssue,
		DriftIssueLabels: lines(f.DriftIssueLabels)})
	if err != nil {
		return u.refuseStackForm(w, r, f, err)
	}
	done := "created"
	if len(v.Warnings) > 0 {
		done = "created-unchecked"
	}
	http.Redirect(w, r, "/stacks/"+v.ID+"?done="+done, http.StatusSeeOther)
	return nil
}

// refuseStackForm shows the form again with the service's message next to
// its field; errors that are not the person's to fix go to the error page.
func (u *UI) refuseStackForm(w http.ResponseWriter, r *http.Request, f stackForm, err error) error {
	field, msg, status, err := fieldError(err)
	if err != nil {
		return err
	}
	f.Errors, f.Error = fieldMessage(field, msg, stackFormFields...)
	return u.showStackForm(w, r, status, f)
}

// manageable loads the stack of the request for its admins; others get
// the service's 404 (cannot read) or 403.
func (u *UI) manageable(ctx context.Context, r *http.Request) (stack.View, error) {
	p := principal(r)
	v, err := u.cfg.Stacks.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return stack.View{}, err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return stack.View{}, err
	}
	if !stack.CanManage(v.SpaceID, access) {
		return stack.View{}, apperr.Errorf(apperr.Forbidden, "Changing or deleting stack %q needs admin on space %q.", v.ID, v.SpaceID)
	}
	return v, nil
}

func (u *UI) editStackPage(w http.ResponseWriter, r *http.Request) error {
	v, err := u.manageable(r.Context(), r)
	if err != nil {
		return err
	}
	f := stackForm{Edit: true, ID: v.ID, Detached: v.DetachedReason(), Name: v.Name, Space: v.SpaceID, Integration: v.IntegrationID,
		Repository: v.Repository, Branch: v.Branch, ProjectRoot: v.ProjectRoot, Globs: strings.Join(v.AdditionalProjectGlobs, "\n"),
		Labels: strings.Join(v.Labels, "\n"), Autodeploy: v.Autodeploy, Tool: string(v.Tool), ToolVersion: v.ToolVersion,
		WorkerPool: v.WorkerPool, AllowForkMRs: v.AllowForkMRs, MRApply: v.MRApply, MRPlanMinAccess: v.MRPlanMinAccess,
		MRApplyMinAccess: v.MRApplyMinAccess, Description: v.Description, Require: map[string]bool{},
		DriftIssue: string(v.DriftIssue), DriftIssueLabels: strings.Join(v.DriftIssueLabels, "\n")}
	for _, req := range v.ApplyRequirements {
		f.Require[req] = true
	}
	return u.showStackForm(w, r, http.StatusOK, f)
}

// updateStack saves the edit form. The integration is given to the
// service only when it changes (or re-attaches a detached stack): giving
// it makes the service check the repository in GitLab again, which an
// edit of the labels should not need.
func (u *UI) updateStack(w http.ResponseWriter, r *http.Request) error {
	cur, err := u.manageable(r.Context(), r)
	if err != nil {
		return err
	}
	f := readStackForm(r)
	f.Edit, f.ID, f.Detached = true, cur.ID, cur.DetachedReason()
	globs, labels, reqs := lines(f.Globs), lines(f.Labels), slices.Clone(r.PostForm["apply_requirements"])
	issueLabels := lines(f.DriftIssueLabels)
	pt := stack.Patch{Name: &f.Name, Space: &f.Space, Repository: &f.Repository, Branch: &f.Branch,
		ProjectRoot: &f.ProjectRoot, AdditionalProjectGlobs: &globs, Labels: &labels, Autodeploy: &f.Autodeploy,
		Description: &f.Description, Tool: &f.Tool, ToolVersion: &f.ToolVersion, WorkerPool: &f.WorkerPool,
		AllowForkMRs: &f.AllowForkMRs, MRPlanMinAccess: &f.MRPlanMinAccess, MRApply: &f.MRApply,
		MRApplyMinAccess: &f.MRApplyMinAccess, ApplyRequirements: &reqs, DriftIssueMode: &f.DriftIssue,
		DriftIssueLabels: &issueLabels}
	if it := strings.TrimSpace(f.Integration); it != cur.IntegrationID && (it != "" || !cur.Detached()) {
		pt.Integration = &it
	}
	if _, err := u.cfg.Stacks.Update(r.Context(), principal(r), cur.ID, pt); err != nil {
		return u.refuseStackForm(w, r, f, err)
	}
	http.Redirect(w, r, "/stacks/"+cur.ID+"?done=updated", http.StatusSeeOther)
	return nil
}

// deleteStackForm is the delete confirmation: the stack's name, typed.
type deleteStackForm struct {
	Stack   stack.View
	Confirm string
	Error   string
}

func (u *UI) deleteStackPage(w http.ResponseWriter, r *http.Request) error {
	v, err := u.manageable(r.Context(), r)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "stack_delete", view{Title: "Delete " + v.Name, Nav: "stacks", Content: deleteStackForm{Stack: v}})
}

func (u *UI) deleteStack(w http.ResponseWriter, r *http.Request) error {
	v, err := u.manageable(r.Context(), r)
	if err != nil {
		return err
	}
	if typed := r.PostForm.Get("confirm_name"); strings.TrimSpace(typed) != v.Name {
		return u.render(w, r, http.StatusBadRequest, "stack_delete", view{Title: "Delete " + v.Name, Nav: "stacks",
			Content: deleteStackForm{Stack: v, Confirm: typed, Error: "Type the stack's name, " + v.Name + ", exactly to delete it."}})
	}
	if err := u.cfg.Stacks.Delete(r.Context(), principal(r), v.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/stacks?done=deleted", http.StatusSeeOther)
	return nil
}

// stackField is one input of the stack form as its templates render it.
type stackField struct {
	Key, Label, Value, Hint, Placeholder, Error string
	MaxLen                                      int
	Required, Mono                              bool
	Options                                     []string // a select's choices
}

// stackTextFields are the stack form's single-line fields and selects of
// access levels, by the name the service gives them.
var stackTextFields = map[string]stackField{
	"name": {Label: "Name", MaxLen: 64, Required: true,
		Hint: "Unique. The id is the slug of the name at creation and never changes; the name can."},
	"repository": {Label: "Repository", MaxLen: stack.MaxRepositoryLen, Required: true, Mono: true, Placeholder: "acme/infra",
		Hint: "The GitLab project path, namespace/project (subgroups too). Hoist checks that it exists and that the integration's user is Maintainer on it."},
	"branch": {Label: "Tracked branch", MaxLen: stack.MaxBranchLen, Required: true, Mono: true, Placeholder: "main",
		Hint: "Pushes to it make tracked runs, which may apply. Checked in GitLab."},
	"project_root": {Label: "Project root", MaxLen: stack.MaxProjectRootLen, Mono: true, Placeholder: "infra/prod",
		Hint: "The folder, from the repository's root, where runs execute and whose changes trigger the stack. Empty: the whole repository."},
	"tool_version": {Label: "Tool version", MaxLen: stack.MaxToolVersionLen, Mono: true, Placeholder: "1.9.0",
		Hint: "Empty: the workers' default OpenTofu. A pinned version, and Terraform always, must be in the server's tools folder; Hoist refuses one it cannot run."},
	"worker_pool": {Label: "Worker pool", MaxLen: stack.MaxWorkerPoolLen, Mono: true,
		Hint: "Where runs execute; empty or embedded is the server's own pool."},
	"mr_plan_min_access":  {Label: "Who may comment /hoist plan", Options: accessLevelNames},
	"mr_apply_min_access": {Label: "Who may comment /hoist apply and /hoist unlock", Options: accessLevelNames},
}

// Field is the field key of the form with its value and error.
func (f stackForm) Field(key string) stackField {
	ff := stackTextFields[key]
	ff.Key, ff.Error = key, f.Errors[key]
	switch key {
	case "name":
		ff.Value = f.Name
	case "repository":
		ff.Value = f.Repository
	case "branch":
		ff.Value = f.Branch
	case "project_root":
		ff.Value = f.ProjectRoot
	case "tool_version":
		ff.Value = f.ToolVersion
	case "worker_pool":
		ff.Value = f.WorkerPool
	case "mr_plan_min_access":
		ff.Value = f.MRPlanMinAccess
	case "mr_apply_min_access":
		ff.Value = f.MRApplyMinAccess
	}
	return ff
}
