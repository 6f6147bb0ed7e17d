package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

const runsProject = "acme/infra"

// infraTF is a configuration that needs no provider download.
func infraTF(greeting string) string {
	return `locals { greeting = "` + greeting + `" }
resource "terraform_data" "hello" { input = local.greeting }
output "greeting" { value = terraform_data.hello.output }
`
}

// tofuPath finds the OpenTofu scripts/install-tofu.sh builds, or skips.
func tofuPath(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", "tofu")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no OpenTofu at %s (run scripts/install-tofu.sh)", p)
	}
	return p
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
	tofu := tofuPath(t)
	h := setup(t, func(c *app.Config) {
		c.TofuPath, c.SchedulerPoll, c.LeaseTTL = tofu, 50*time.Millisecond, 5*time.Second
		if tweak != nil {
			tweak(c)
		}
	})
	if front != nil {
		h.apiHost = front(h.simURL)
	}
	ctx := t.Context()
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello"), "README.md": "# infra\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.simUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var it struct {
		WebhookEndpoint string `json:"webhook_endpoint"`
		WebhookSecret   string `json:"webhook_secret"`
	}
	h.must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.adminKey,
		h.integrationBody("GitLab", "", h.token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).decode(t, &it)
	if _, err := h.sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		MergeRequestsEvents: true}); err != nil {
		t.Fatal(err)
	}
	h.space("Platform", "root")
	h.must(http.StatusCreated, "POST", "/api/v1/stacks", h.adminKey, map[string]any{"name": "web", "space": "platform",
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
	res, err := h.sim.Push(h.t.Context(), gitlabsim.PushOptions{Project: runsProject, Branch: branch,
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: actions}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.After
}

func (h *harness) getRun(id string) api.Run {
	h.t.Helper()
	var r api.Run
	h.must(http.StatusOK, "GET", "/api/v1/runs/"+id, h.adminKey, nil).decode(h.t, &r)
	return r
}

// waitRun polls the run until cond holds (bounded).
func (h *harness) waitRun(id string, what string, cond func(api.Run) bool) api.Run {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := h.getRun(id)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s never became %s: %+v", id, what, r)
		}
		time.Sleep(20 * time.Millisecond) // polling the API, bounded above
	}
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
	h.must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/runs", h.adminKey, nil).decode(h.t, &page)
	return page.Items
}

// waitRunAt waits for the stack's run at sha of a type.
func (h *harness) waitRunAt(stack, sha, typ string) api.Run {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, r := range h.runsOf(stack) {
			if r.CommitSHA == sha && r.Type == typ {
				return r
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %s run of %s at %s", typ, stack, sha)
		}
		time.Sleep(20 * time.Millisecond) // polling the API, bounded above
	}
}

func (h *harness) logText(id string) string {
	h.t.Helper()
	r := h.must(http.StatusOK, "GET", "/api/v1/runs/"+id+"/logs?follow=true", h.adminKey, nil)
	return string(r.body)
}

func TestTrackedRunPlansConfirmsApplies(t *testing.T) {
	t.Parallel()
	trackedLifecycle(t, runsSetup(t, nil))
}

func TestTrackedRunOnPostgreSQL(t *testing.T) {
	t.Parallel()
	url := freshSchema(t)
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
	h.must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.adminKey, nil)
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
	h.must(http.StatusOK, "GET", "/api/v1/stacks/web/state-versions", h.adminKey, nil).decode(t, &versions)
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
