package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// stackSetup is a server and simulator with a project acme/platform/infra
// (branches main and dev) on which hoist-bot is Maintainer through its
// group, a project acme/dev-only where it is only Developer, spaces team-a
// (inheriting) with child team-a-sub, and team-b, and three integrations:
// the default one, one in team-a and one in team-b.
func stackSetup(t *testing.T) (*harness, gitlabsim.Project) {
	t.Helper()
	h := setup(t, nil)
	ctx := t.Context()
	p, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/platform/infra", Files: map[string]string{"infra/main.tf": "# infra\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.CreateBranch(ctx, p.PathWithNamespace, "dev", "main", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/dev-only", Files: map[string]string{"main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []gitlabsim.MemberOptions{
		{Group: "acme/platform", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer},
		{Project: "acme/dev-only", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Developer},
	} {
		if err := h.Sim.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	h.space("Team A", "root")
	h.space("Team A Sub", "team-a")
	h.space("Team B", "root")
	for _, in := range [][2]string{{"GitLab", ""}, {"GitLab A", "team-a"}, {"GitLab B", "team-b"}} {
		h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
			h.integrationBody(in[0], in[1], h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})))
	}
	return h, p
}

func stackBody(name, space, integration, repo, branch string) map[string]any {
	b := map[string]any{"name": name, "space": space, "repository": repo, "branch": branch}
	if integration != "" {
		b["integration"] = integration
	}
	return b
}

func TestStackCreateChecksGitLab(t *testing.T) {
	t.Parallel()
	h, p := stackSetup(t)
	head, err := h.Sim.ResolveRef(t.Context(), p.PathWithNamespace, "main")
	if err != nil {
		t.Fatal(err)
	}
	body := stackBody("Infra Prod", "team-a-sub", "gitlab-a", "ACME/platform/infra", "main")
	body["project_root"], body["additional_project_globs"], body["labels"] = "infra/", []string{"modules/**"}, []string{"prod"}
	var st api.Stack
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, body).Decode(t, &st)
	if st.ID != "infra-prod" || st.Integration == nil || *st.Integration != "gitlab-a" || st.Detached ||
		st.Repository != "acme/platform/infra" || st.ProjectID != int64(p.ID) || st.ProjectRoot != "infra" ||
		st.Tool != "opentofu" || st.WorkerPool != "embedded" || st.Autodeploy ||
		st.TrackedCommit == nil || st.TrackedCommit.SHA != head || st.TrackedCommit.Branch != "main" {
		t.Fatalf("created %+v (tracked %+v), want project %d at %s", st, st.TrackedCommit, p.ID, head)
	}
	// The default integration is used when none is named.
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, stackBody("Infra Dev", "team-b", "", "acme/platform/infra", "dev")).Decode(t, &st)
	if st.Integration == nil || *st.Integration != "gitlab" || st.TrackedCommit == nil || st.TrackedCommit.Branch != "dev" {
		t.Errorf("stack on the default integration: %+v", st)
	}

	refusals := []struct {
		name, space, integration, repo, branch string
		field, want                            string
	}{
		{"missing project", "team-a", "gitlab-a", "acme/missing", "main", "repository",
			"project acme/missing not found on " + h.SimURL + " or the token's user hoist-bot cannot see it"},
		{"developer only", "team-a", "gitlab-a", "acme/dev-only", "main", "repository",
			"the token's user hoist-bot has Developer (30) access to acme/dev-only; Hoist needs at least Maintainer (40)"},
		{"missing branch", "team-a", "gitlab-a", "acme/platform/infra", "nope", "branch",
			`branch "nope" does not exist in acme/platform/infra (its default branch is main)`},
		{"integration of an unrelated space", "team-b", "gitlab-a", "acme/platform/infra", "main", "integration",
			`integration "gitlab-a" belongs to space "team-a", which stacks in space "team-b" cannot use`},
		{"parent cannot use a child's integration", "root", "gitlab-a", "acme/platform/infra", "main", "integration", "cannot use"},
		{"unknown integration", "team-a", "nope", "acme/platform/infra", "main", "integration", `no integration "nope"`},
		{"unknown space", "nope", "", "acme/platform/infra", "main", "space", `no space "nope"`},
		{"bad glob", "team-a", "", "acme/platform/infra", "main", "additional_project_globs", "not a valid doublestar pattern"},
	}
	for _, tt := range refusals {
		b := stackBody("Refused "+tt.name, tt.space, tt.integration, tt.repo, tt.branch)
		if tt.field == "additional_project_globs" {
			b["additional_project_globs"] = []string{"x/[a"}
		}
		r := h.Call("POST", "/api/v1/stacks", h.AdminKey, b)
		code, msg, field := r.APIError(t)
		if r.Status != http.StatusBadRequest || code != "invalid" || field != tt.field || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %s/%s %q, want 400 invalid/%s containing %q", tt.name, r.Status, code, field, msg, tt.field, tt.want)
		}
	}
	// Issue 14 item 9: a project root is a folder of the repository, never
	// an absolute path or one that climbs out of it.
	for root, want := range map[string]string{
		"/etc":           `not an absolute path: write "etc", not "/etc"`,
		"../x":           "must stay inside the repository",
		"infra/../../up": "must stay inside the repository",
	} {
		b := stackBody("Refused root", "team-a", "", "acme/platform/infra", "main")
		b["project_root"] = root
		r := h.Call("POST", "/api/v1/stacks", h.AdminKey, b)
		code, msg, field := r.APIError(t)
		if r.Status != http.StatusBadRequest || code != "invalid" || field != "project_root" || !strings.Contains(msg, want) {
			t.Errorf("project_root %q: %d %s/%s %q, want 400 invalid/project_root containing %q", root, r.Status, code, field, msg, want)
		}
		r = h.Call("PATCH", "/api/v1/stacks/infra-prod", h.AdminKey, map[string]any{"project_root": root})
		if _, _, field := r.APIError(t); r.Status != http.StatusBadRequest || field != "project_root" {
			t.Errorf("update to project_root %q: %d %s", root, r.Status, r.Body)
		}
	}
	r := h.Call("POST", "/api/v1/stacks", h.AdminKey, stackBody("infra prod", "team-a", "", "acme/platform/infra", "main"))
	if code, _, _ := r.APIError(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Errorf("same id again: %d %s", r.Status, r.Body)
	}
	var list struct{ Items []api.Stack }
	h.Must(http.StatusOK, "GET", "/api/v1/stacks", h.AdminKey, nil).Decode(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("listed %d stacks after refusals, want 2", len(list.Items))
	}
	h.AssertNoTokenLeaked()
}

func TestStackRBAC(t *testing.T) {
	t.Parallel()
	h, _ := stackSetup(t)
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, stackBody("Infra", "team-a", "gitlab-a", "acme/platform/infra", "main"))
	adminA := h.apiKey("admin-a", "team-a:admin")
	writerA := h.apiKey("writer-a", "team-a:write")
	readerB := h.apiKey("reader-b", "team-b:read")

	h.Must(http.StatusOK, "GET", "/api/v1/stacks/infra", writerA, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/stacks/infra", readerB, nil)
	var list struct{ Items []api.Stack }
	h.Must(http.StatusOK, "GET", "/api/v1/stacks", readerB, nil).Decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("reader of team-b lists %d stacks", len(list.Items))
	}
	h.Must(http.StatusForbidden, "POST", "/api/v1/stacks", writerA, stackBody("By writer", "team-a", "gitlab-a", "acme/platform/infra", "main"))
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/stacks/infra", writerA, map[string]any{"autodeploy": true})
	h.Must(http.StatusForbidden, "DELETE", "/api/v1/stacks/infra", writerA, nil)
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/stacks/infra", readerB, nil)

	// A space admin manages stacks in the space and below, but cannot move
	// one to a space it does not administer.
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", adminA, stackBody("Sub", "team-a-sub", "gitlab-a", "acme/platform/infra", "main"))
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/infra", adminA, map[string]any{"autodeploy": true, "labels": []string{"x"}})
	h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/infra", adminA, map[string]any{"space": "team-b"})
	h.Must(http.StatusForbidden, "POST", "/api/v1/stacks", adminA, stackBody("In root", "root", "", "acme/platform/infra", "main"))
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/stacks/sub", adminA, nil)
}

func TestStackUpdateShowDelete(t *testing.T) {
	t.Parallel()
	h, p := stackSetup(t)
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, stackBody("Infra", "team-a", "gitlab-a", "acme/platform/infra", "main"))
	devHead, err := h.Sim.ResolveRef(t.Context(), p.PathWithNamespace, "dev")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Stack
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/infra", h.AdminKey, map[string]any{
		"name": "Infra renamed", "branch": "dev", "project_root": "infra", "autodeploy": true,
	}).Decode(t, &st)
	if st.ID != "infra" || st.Name != "Infra renamed" || st.Branch != "dev" || st.Tool != "opentofu" || !st.Autodeploy ||
		st.TrackedCommit == nil || st.TrackedCommit.SHA != devHead || st.TrackedCommit.Branch != "dev" {
		t.Errorf("after update: %+v", st)
	}
	for body, field := range map[string]string{
		`{"branch":"gone"}`:              "branch",
		`{"id":"other"}`:                 "id",
		`{"integration":""}`:             "integration",
		`{"space":"team-b"}`:             "integration", // team-b cannot use team-a's integration
		`{"repository":"acme/dev-only"}`: "repository",
		// Settings no run would honour (issue 14): this server has no
		// tools folder, so only the default OpenTofu runs.
		`{"tool":"terraform"}`:     "tool",
		`{"tool_version":"1.5.7"}`: "tool_version",
		`{"git_checkout":true}`:    "git_checkout",
	} {
		r := h.Call("PATCH", "/api/v1/stacks/infra", h.AdminKey, body)
		if _, _, f := r.APIError(t); r.Status != http.StatusBadRequest || f != field {
			t.Errorf("PATCH %s = %d %s, want 400 on %s", body, r.Status, r.Body, field)
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/infra", h.AdminKey, nil).Decode(t, &st)
	if st.Branch != "dev" || st.Space != "team-a" || st.Repository != "acme/platform/infra" {
		t.Errorf("refused updates changed the stack: %+v", st)
	}
	// Moving to a space that can use the integration works.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/infra", h.AdminKey, map[string]any{"space": "team-a-sub"}).Decode(t, &st)
	if st.Space != "team-a-sub" {
		t.Errorf("space after move = %q", st.Space)
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/stacks/infra", h.AdminKey, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/stacks/infra", h.AdminKey, nil)
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/stacks/infra", h.AdminKey, nil)
}

// Deleting an integration leaves its stacks detached, saying so, until an
// update points them at another integration (checked in GitLab again).
func TestStackDetachedWhenIntegrationDeleted(t *testing.T) {
	t.Parallel()
	h, _ := stackSetup(t)
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, stackBody("Infra", "team-a", "gitlab-a", "acme/platform/infra", "main"))
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, stackBody("Other", "team-a", "gitlab", "acme/platform/infra", "main"))
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/integrations/gitlab/gitlab-a", h.AdminKey, nil)

	var st api.Stack
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/infra", h.AdminKey, nil).Decode(t, &st)
	if !st.Detached || st.Integration != nil || !strings.Contains(st.DetachedReason, "integration gitlab-a was deleted") {
		t.Fatalf("after deleting its integration: %+v", st)
	}
	if !strings.Contains(string(h.Call("GET", "/api/v1/stacks/infra", h.AdminKey, nil).Body), `"integration":null`) {
		t.Errorf("a detached stack's integration is not null on the wire")
	}
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/other", h.AdminKey, nil).Decode(t, &st)
	if st.Detached {
		t.Errorf("a stack of another integration was detached")
	}
	// Changes other than the integration keep it detached; a new branch
	// cannot be checked without an integration.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/infra", h.AdminKey, map[string]any{"labels": []string{"x"}}).Decode(t, &st)
	if !st.Detached {
		t.Errorf("an unrelated update re-attached the stack")
	}
	r := h.Call("PATCH", "/api/v1/stacks/infra", h.AdminKey, map[string]any{"branch": "dev"})
	if _, msg, f := r.APIError(t); r.Status != http.StatusBadRequest || f != "integration" || !strings.Contains(msg, "detached") {
		t.Errorf("branch change while detached = %d %s", r.Status, r.Body)
	}
	st = api.Stack{}
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/infra", h.AdminKey, map[string]any{"integration": "gitlab"}).Decode(t, &st)
	if st.Detached || st.Integration == nil || *st.Integration != "gitlab" || st.DetachedReason != "" {
		t.Errorf("after re-attaching: %+v", st)
	}
}
