package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
)

// The details page's "Create webhook" does what `hoist integration gitlab
// create-webhook` does, for several projects at once: for each project it
// calls integration.Service.CreateWebhook (admins of the integration only)
// and shows what became of that project's hook.

// maxWebhookProjects bounds the projects of one "Create webhook": each
// costs GitLab two or three calls.
const maxWebhookProjects = 50

// maxProjectsField bounds the projects field (50 paths of GitLab's
// 255-character maximum, with separators).
const maxProjectsField = 16 << 10

// webhookOutcome is what Create webhook did for one project.
type webhookOutcome struct {
	Repository string
	// Outcome is created, triggers (an existing hook got the triggers it
	// lacked), fine (an existing hook had them all: only its secret token
	// was set again) or error.
	Outcome       string
	HookID        int64
	ProjectID     int64
	TriggersAdded []string
	Error         string // the reason, when Outcome is error
}

// webhookForm is the Create webhook form on the details page.
type webhookForm struct {
	Projects string           // one GitLab project per line
	Error    string           // about the projects field
	Outcomes []webhookOutcome // after a submit, one per project
}

// createWebhooks adds (or updates) Hoist's webhook on each project named
// and shows the outcome per project on the details page.
func (u *UI) createWebhooks(w http.ResponseWriter, r *http.Request) error {
	ctx, p, id := r.Context(), principal(r), r.PathValue("id")
	v, err := u.cfg.Integrations.Get(ctx, p, id)
	if err != nil {
		return err
	}
	form := webhookForm{Projects: r.PostForm.Get("projects")}
	repos, msg := webhookProjects(form.Projects)
	if msg != "" {
		form.Error = msg
		return u.showDetails(w, r, http.StatusBadRequest, detailsPage{View: v, Webhook: form}, "")
	}
	for _, repo := range repos {
		o, err := u.createWebhook(ctx, p, id, repo)
		if err != nil {
			return err
		}
		form.Outcomes = append(form.Outcomes, o)
	}
	return u.showDetails(w, r, http.StatusOK, detailsPage{View: v, Webhook: form}, "")
}

// createWebhook sets one project's hook. A refusal of the integration
// itself (the viewer lost admin meanwhile) is the page's error; anything
// about the project is its outcome.
func (u *UI) createWebhook(ctx context.Context, p, id, repo string) (webhookOutcome, error) {
	res, err := u.cfg.Integrations.CreateWebhook(ctx, p, id, repo)
	switch {
	case apperr.Is(err, apperr.Forbidden) || apperr.Is(err, apperr.Unauthorized):
		return webhookOutcome{}, err
	case err != nil:
		o := webhookOutcome{Repository: repo, Outcome: "error"}
		if _, msg, _, ferr := fieldError(err); ferr == nil {
			o.Error = msg // the project is named in front already
		} else if msg, ok := userMessage(err); ok {
			o.Error = msg
		} else {
			u.log.ErrorContext(ctx, "create GitLab webhook", "integration_id", id, "repository", repo, "error", err.Error())
			o.Error = "Hoist could not set this project's webhook; the server log has the details."
		}
		return o, nil
	}
	o := webhookOutcome{Repository: res.Repository, HookID: res.HookID, ProjectID: res.ProjectID,
		TriggersAdded: res.TriggersAdded, Outcome: "fine"}
	switch {
	case res.Created:
		o.Outcome = "created"
	case len(res.TriggersAdded) > 0:
		o.Outcome = "triggers"
	}
	return o, nil
}

// webhookProjects reads the projects field: GitLab paths separated by new
// lines, commas or spaces, each once (GitLab paths are case-insensitive).
// The service validates each path; msg is about the field as a whole.
func webhookProjects(s string) (repos []string, msg string) {
	if len(s) > maxProjectsField {
		return nil, "The list of projects is too long: name at most 50 projects at once."
	}
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		f = strings.Trim(f, "/")
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		seen[strings.ToLower(f)] = true
		repos = append(repos, f)
	}
	switch {
	case len(repos) == 0:
		return nil, "Name at least one GitLab project, as group/project."
	case len(repos) > maxWebhookProjects:
		return nil, "Name at most 50 projects at once."
	}
	return repos, ""
}

// webhookSuggestions are the projects the form starts with: the
// repositories of the stacks and modules on the integration that the
// viewer can read, each once, sorted.
func (u *UI) webhookSuggestions(ctx context.Context, p string, it integration.Integration) (string, error) {
	stacks, err := u.stacksUsing(ctx, p, it.ID)
	if err != nil {
		return "", err
	}
	var repos []string
	for _, s := range stacks {
		repos = append(repos, s.Repository)
	}
	if u.cfg.Modules != nil {
		mods, err := u.modulesUsing(ctx, p, it.ID)
		if err != nil {
			return "", err
		}
		repos = append(repos, mods...)
	}
	slices.Sort(repos)
	return strings.Join(slices.Compact(repos), "\n"), nil
}

// modulesUsing lists the repositories of the modules on integration id
// that the viewer can read.
func (u *UI) modulesUsing(ctx context.Context, p, id string) ([]string, error) {
	var out []string
	cursor := ""
	for range 50 { // 10,000 modules is far beyond any real account
		views, next, err := u.cfg.Modules.List(ctx, p, cursor, 200)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			if v.IntegrationID == id {
				out = append(out, v.Repository)
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	return out, nil
}
