package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

const runsProject = "acme/infra"

// infraTF is a configuration that needs no provider download.
func infraTF(greeting string) string {
	return `locals { greeting = "` + greeting + `" }
resource "terraform_data" "hello" { input = local.greeting }
output "greeting" { value = terraform_data.hello.output }
`
}

// runStates is the states of r's history, in order.
func runStates(r api.Run) []string {
	var out []string
	for _, h := range r.History {
		out = append(out, h.State)
	}
	return out
}

// runsSetup is a server with tofu, a simulator project acme/infra with
// infra/main.tf whose webhook points at Hoist, and the stack "web" on it in
// the space platform.
func runsSetup(t testing.TB, tweak func(*app.Config)) *harness {
	t.Helper()
	return runsSetupBehind(t, nil, tweak)
}

// runsSetupBehind is runsSetup with the integration reaching the simulator
// through front(simulator URL), a stand-in GitLab, when front is not nil.
func runsSetupBehind(t testing.TB, front func(simURL string) string, tweak func(*app.Config)) *harness {
	t.Helper()
	h := setup(t, inproc.Runs(t, tweak))
	if front != nil {
		h.apiHost = front(h.SimURL)
	}
	ctx := t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello"), "README.md": "# infra\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var it api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("GitLab", "", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(t, &it)
	if _, err := h.Sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		MergeRequestsEvents: true}); err != nil {
		t.Fatal(err)
	}
	h.space("Platform", "root")
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "web", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "infra"})
	return h
}

// push commits files to a branch of the project.
func (h *harness) push(branch string, files map[string]string) string {
	h.t.Helper()
	var actions []gitlabsim.FileAction
	for path, content := range files {
		actions = append(actions, gitlabsim.FileAction{Action: "update", Path: path, Content: content})
	}
	res, err := h.Sim.Push(h.t.Context(), gitlabsim.PushOptions{Project: runsProject, Branch: branch,
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: actions}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.After
}

func (h *harness) getRun(id string) api.Run {
	h.t.Helper()
	var r api.Run
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+id, h.AdminKey, nil).Decode(h.t, &r)
	return r
}

// waitRun polls the run until cond holds (bounded).
func (h *harness) waitRun(id string, what string, cond func(api.Run) bool) api.Run {
	h.t.Helper()
	var r api.Run
	apptest.Eventually(h.t, 60*time.Second, "run "+id+" to become "+what, func() error {
		if r = h.getRun(id); cond(r) {
			return nil
		}
		return fmt.Errorf("%+v", r)
	})
	return r
}

func (h *harness) waitState(id string, state string) api.Run {
	h.t.Helper()
	return h.waitRun(id, state, func(r api.Run) bool {
		if r.State != state && isTerminal(r.State) {
			h.t.Fatalf("run %s ended %s (%s), waiting for %s; history %v", id, r.State, r.Error, state, runStates(r))
		}
		return r.State == state
	})
}

func isTerminal(s string) bool {
	return slices.Contains([]string{"FINISHED", "FAILED", "DISCARDED", "STOPPED", "CANCELED", "SKIPPED"}, s)
}

// runsOf lists a stack's runs, newest first.
func (h *harness) runsOf(stack string) []api.Run {
	h.t.Helper()
	var page struct{ Items []api.Run }
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/runs", h.AdminKey, nil).Decode(h.t, &page)
	return page.Items
}

// waitRunAt waits for the stack's run at sha of a type.
func (h *harness) waitRunAt(stack, sha, typ string) api.Run {
	h.t.Helper()
	var run api.Run
	apptest.Eventually(h.t, 60*time.Second, fmt.Sprintf("a %s run of %s at %s", typ, stack, sha), func() bool {
		for _, r := range h.runsOf(stack) {
			if r.CommitSHA == sha && r.Type == typ {
				run = r
				return true
			}
		}
		return false
	})
	return run
}

func (h *harness) logText(id string) string {
	h.t.Helper()
	r := h.Must(http.StatusOK, "GET", "/api/v1/runs/"+id+"/logs?follow=true", h.AdminKey, nil)
	return string(r.Body)
}

func TestTrackedRunPlansConfirmsApplies(t *testing.T) {
	t.Parallel()
	trackedLifecycle(t, runsSetup(t, nil))
}

func TestTrackedRunOnPostgreSQL(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
	trackedLifecycle(t, runsSetup(t, func(c *app.Config) { c.DatabaseURL = url }))
}

// trackedLifecycle is acceptance 1 of issue 5: push → UNCONFIRMED →
// confirm → FINISHED with state version 1; a push without infrastructure
// change finishes without UNCONFIRMED.
func trackedLifecycle(t *testing.T, h *harness) {
	t.Helper()
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	r := h.waitRunAt("web", sha, "TRACKED")
	r = h.waitState(r.ID, "UNCONFIRMED")
	if r.Delta.Add != 1 || len(r.Resources) != 1 || r.Resources[0].Address != "terraform_data.hello" {
		t.Fatalf("plan = %+v", r)
	}
	want := []string{"QUEUED", "READY", "PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED"}
	if !slices.Equal(runStates(r), want) {
		t.Fatalf("history = %v, want %v", runStates(r), want)
	}
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	r = h.waitState(r.ID, "FINISHED")
	want = append(want, "CONFIRMED", "PREPARING_APPLY", "APPLYING", "FINISHED")
	if !slices.Equal(runStates(r), want) {
		t.Fatalf("history = %v, want %v", runStates(r), want)
	}
	logs := h.logText(r.ID)
	for _, s := range []string{"Plan: 1 to add", "Apply complete! Resources: 1 added"} {
		if !strings.Contains(logs, s) {
			t.Errorf("log lacks %q:\n%s", s, logs)
		}
	}
	var versions struct {
		Items []struct {
			Serial int64
			Run    string
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/state-versions", h.AdminKey, nil).Decode(t, &versions)
	if len(versions.Items) != 1 || versions.Items[0].Run != r.ID {
		t.Fatalf("state versions = %+v", versions.Items)
	}

	// A push that changes no infrastructure ends without asking.
	sha2 := h.push("main", map[string]string{"infra/main.tf": infraTF("hi") + "# a comment\n"})
	r2 := h.waitState(h.waitRunAt("web", sha2, "TRACKED").ID, "FINISHED")
	if slices.Contains(runStates(r2), "UNCONFIRMED") || r2.Delta.Add != 0 {
		t.Fatalf("no-op run = %+v", r2)
	}
}
