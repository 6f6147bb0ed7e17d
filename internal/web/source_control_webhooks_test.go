package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

var outcomeRe = regexp.MustCompile(`(?s)<li class="webhook-outcome" data-outcome="([a-z]+)" data-project="([^"]+)">(.*?)</li>`)

// outcomes reads the Create webhook outcomes of a page: project → outcome
// and its text.
func outcomes(p resp) map[string][2]string {
	out := map[string][2]string{}
	for _, m := range outcomeRe.FindAllStringSubmatch(p.body, -1) {
		out[m[2]] = [2]string{m[1], strings.Join(strings.Fields(m[3]), " ")}
	}
	return out
}

// TestCreateWebhookButton: the details page's Create webhook starts with
// the stacks' repositories and, per project, adds the hook (created),
// turns on the triggers a hand-made hook lacks (updated), leaves a
// complete one as it was but for its secret (already fine), or says why
// it could not.
func TestCreateWebhookButton(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	ctx := t.Context()
	it := h.createIntegration("Acme GitLab")
	h.infraStack(it, gitlabsim.HookOptions{}) // a hand-made hook with push events only
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/network", Files: map[string]string{"main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	_, page, post := adminOn(t, h, "/source-control/gitlab/acme-gitlab")
	if !strings.Contains(page.body, `name="projects" rows="4" class="mono" spellcheck="false" autocomplete="off" aria-describedby="projects-hint">acme/infra</textarea>`) {
		t.Errorf("the projects field does not start with the stack's repository:\n%s", cardOf(page.body, `id="create-webhook"`))
	}

	const path = "/source-control/gitlab/acme-gitlab/webhooks"
	p := post(path, url.Values{"projects": {"acme/infra\nacme/network, ACME/network\nacme/missing\nnoslash"}})
	got := outcomes(p)
	if p.status != http.StatusOK || len(got) != 4 {
		t.Fatalf("create webhooks = %d with %d outcomes:\n%s", p.status, len(got), cardOf(p.body, `id="create-webhook"`))
	}
	for project, want := range map[string][2]string{
		"acme/infra":   {"triggers", "turned on tag_push_events, merge_requests_events, note_events and set its secret token"},
		"acme/network": {"created", "created</span> webhook"},
		"acme/missing": {"error", "GitLab has no project acme/missing the token&#39;s user can see"},
		"noslash":      {"error", "name the GitLab project as group/project"},
	} {
		if g := got[project]; g[0] != want[0] || !strings.Contains(g[1], want[1]) {
			t.Errorf("%s: %q %q, want %q with %q", project, g[0], g[1], want[0], want[1])
		}
	}
	for _, project := range []string{"acme/infra", "acme/network"} {
		hooks, err := h.Sim.Hooks(project)
		if err != nil {
			t.Fatal(err)
		}
		if len(hooks) != 1 || !hooks[0].PushEvents || !hooks[0].TagPushEvents || !hooks[0].MergeRequestsEvents || !hooks[0].NoteEvents ||
			hooks[0].URL != it["webhook_endpoint"] || hooks[0].Token != it["webhook_secret"] {
			t.Errorf("%s's hooks after Create webhook: %+v", project, hooks)
		}
	}

	again := outcomes(post(path, url.Values{"projects": {"acme/infra acme/network"}}))
	for _, project := range []string{"acme/infra", "acme/network"} {
		if g := again[project]; g[0] != "fine" || !strings.Contains(g[1], "already fine") {
			t.Errorf("%s the second time: %q %q, want already fine", project, g[0], g[1])
		}
	}
	if hooks, _ := h.Sim.Hooks("acme/network"); len(hooks) != 1 {
		t.Errorf("the second Create webhook added a hook: %d hooks", len(hooks))
	}

	// The field's own refusals, next to it; what was typed is kept.
	wantField(t, "no project", post(path, url.Values{"projects": {" \n , "}}), http.StatusBadRequest, "projects", "Name at least one GitLab project")
	var list []string
	for i := range 51 {
		list = append(list, "acme/p"+strings.Repeat("x", i))
	}
	p = post(path, url.Values{"projects": {strings.Join(list, "\n")}})
	wantField(t, "51 projects", p, http.StatusBadRequest, "projects", "at most 50 projects")
	if !strings.Contains(p.body, "acme/pxxxxx\n") {
		t.Error("the projects typed are not kept after a refusal")
	}
	wantField(t, "a huge field", post(path, url.Values{"projects": {strings.Repeat("a/b ", 5000)}}), http.StatusBadRequest, "projects", "too long")
	h.AssertNoTokenLeaked()
}

// TestCreateWebhookRefusals: only admins of the integration may create
// its webhooks: a writer gets 403 and GitLab is not touched; an unknown
// integration is 404; a post without the CSRF token is 403.
func TestCreateWebhookRefusals(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	h.infraStack(it, gitlabsim.HookOptions{})
	writer, token := h.loggedIn("writer", "write")
	p := writer.post("/source-control/gitlab/acme-gitlab/webhooks", url.Values{"csrf_token": {token}, "projects": {"acme/infra"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "only root admins") {
		t.Errorf("a writer's Create webhook = %d:\n%.1500s", p.status, p.body)
	}
	admin, _, post := adminOn(t, h, "/source-control/gitlab/acme-gitlab")
	if p := post("/source-control/gitlab/nosuch/webhooks", url.Values{"projects": {"acme/infra"}}); p.status != http.StatusNotFound {
		t.Errorf("Create webhook of an unknown integration = %d, want 404", p.status)
	}
	if p := admin.post("/source-control/gitlab/acme-gitlab/webhooks", url.Values{"projects": {"acme/infra"}}); p.status != http.StatusForbidden {
		t.Errorf("Create webhook without the CSRF token = %d, want 403", p.status)
	}
	hooks, err := h.Sim.Hooks("acme/infra")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].NoteEvents {
		t.Errorf("refused Create webhooks changed GitLab: %+v", hooks)
	}
}
