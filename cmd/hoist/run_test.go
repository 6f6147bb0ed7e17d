package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// setupRuns starts a server with OpenTofu and a simulator whose project
// acme/infra holds main.tf and sends push and merge request events to the
// server, and creates the stack "web" on it.
func setupRuns(t *testing.T, mainTF string) *e2e {
	t.Helper()
	tofu := apptest.Tofu(t)
	ctx := context.Background()
	srv := inproc.StartServer(t, func(c *app.Config) { c.TofuPath, c.SchedulerPoll = tofu, 50*time.Millisecond })
	h := &e2e{t: t, url: srv.URL, adminKey: srv.AdminKey, http: srv.HTTP}
	h.sim, h.simURL = apptest.StartGitLab(t)
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"main.tf": mainTF}}); err != nil {
		t.Fatal(err)
	}
	u, _ := h.sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "bot"})
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: u.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, _ := h.sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: u.ID, Scopes: []string{"api"}})
	c, err := apiclient.New(h.url, h.adminKey, apiclient.WithHTTPClient(h.http))
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.CreateGitLabIntegration(ctx, api.CreateGitLabIntegration{Name: "GitLab", IsDefault: true, APIHost: h.simURL, Token: tok.Value})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		MergeRequestsEvents: true}); err != nil {
		t.Fatal(err)
	}
	h.ok(h.adminKey, "stack", "create", "--name", "web", "--space", "root", "--repository", "acme/infra", "--branch", "main")
	return h
}

// pushMain commits main.tf to a branch of acme/infra and returns the new
// head.
func (h *e2e) pushMain(branch, mainTF string) string {
	h.t.Helper()
	res, err := h.sim.Push(context.Background(), gitlabsim.PushOptions{Project: "acme/infra", Branch: branch, Commits: []gitlabsim.CommitSpec{{
		Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: mainTF}}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.After
}

// TestCLIRunLifecycle pushes a change through the simulator and drives the
// run with `hoist run list|show|logs --follow|confirm|discard|trigger`.
func TestCLIRunLifecycle(t *testing.T) {
	t.Parallel()
	const tf = `resource "terraform_data" "x" { input = "%s" }` + "\n"
	h := setupRuns(t, strings.Replace(tf, "%s", "a", 1))
	after := h.pushMain("main", strings.Replace(tf, "%s", "b", 1))
	var id string
	apptest.Eventually(t, 60*time.Second, "a run", func() bool {
		var runs []api.Run
		h.jsonOut(&runs, h.adminKey, "run", "list", "web")
		if len(runs) == 1 && runs[0].State == "UNCONFIRMED" && runs[0].CommitSHA == after {
			id = runs[0].ID
			return true
		}
		return false
	})
	out := h.ok(h.adminKey, "run", "show", id)
	if !strings.Contains(out, "create terraform_data.x") || !strings.Contains(out, "+1 ~0 -0") ||
		!regexp.MustCompile(`(?m)^Tool: +opentofu [0-9]+\.[0-9]+\.[0-9]+`).MatchString(out) { // what executed it (issue 14)
		t.Fatalf("run show:\n%s", out)
	}
	h.fails(apperr.Conflict, h.adminKey, "run", "stop", id)
	h.ok(h.adminKey, "run", "confirm", id)
	if out := h.ok(h.adminKey, "run", "logs", id, "--follow"); !strings.Contains(out, "Apply complete!") {
		t.Fatalf("run logs --follow:\n%s", out)
	}
	var r api.Run
	h.jsonOut(&r, h.adminKey, "run", "show", id)
	if r.State != "FINISHED" {
		t.Fatalf("after the log ended the run is %s", r.State)
	}
	// A triggered tracked run with nothing to change finishes on its own.
	h.jsonOut(&r, h.adminKey, "run", "trigger", "web")
	if out := h.ok(h.adminKey, "run", "logs", r.ID, "--follow"); !strings.Contains(out, "No changes.") {
		t.Fatalf("no-op run log:\n%s", out)
	}
}
