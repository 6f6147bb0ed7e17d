package app_test

// End to end: a stack whose code uses a module from Hoist's registry gets a
// tracked run through the webhook, and the run's tofu installs the module
// with the run's own registry credential (issue 8 acceptance 1).

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

const consumerProject = "acme/consumer"

// setupTLSRuns is setupTLS with the embedded workers running tofu.
func setupTLSRuns(t *testing.T) *tlsHarness {
	t.Helper()
	return setupTLS(t, inproc.Runs(t))
}

// consumerCode is a root module using the module greeting from Hoist.
func consumerCode(host string) string {
	return "module \"m\" {\n  source  = \"" + host + "/platform/greeting/null\"\n  version = \"0.1.0\"\n  name    = \"hoist\"\n}\n\n" +
		"output \"greeting\" {\n  value = module.m.greeting\n}\n"
}

// consumerStack creates the stack name in space on the consumer project's
// folder root, whose push webhook points at Hoist.
func (h *tlsHarness) consumerStack(name, space, root string) {
	h.t.Helper()
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": name, "space": space,
		"repository": consumerProject, "branch": "main", "project_root": root})
}

// settledRun waits (bounded) for the tracked run of stack at sha and then for
// its end or its wait for a confirmation.
func (h *tlsHarness) settledRun(stack, sha string) api.Run {
	h.t.Helper()
	var run api.Run
	apptest.Eventually(h.t, 90*time.Second, fmt.Sprintf("a settled tracked run of %s at %s", stack, sha), func() error {
		var page struct{ Items []api.Run }
		h.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/runs", h.AdminKey, nil).Decode(h.t, &page)
		for _, r := range page.Items {
			if r.CommitSHA == sha && r.Type == "TRACKED" && (r.State == "UNCONFIRMED" || isTerminal(r.State)) {
				run = r
				return nil
			}
		}
		return errors.New(mustJSON(h.t, page.Items))
	})
	return run
}

// runLogs reads a run's whole log so far (a run waiting in UNCONFIRMED
// has not ended, so it cannot be followed to its end).
func (h *tlsHarness) runLogs(id string) string {
	h.t.Helper()
	var b strings.Builder
	after := int64(0)
	for {
		var page struct {
			Items []struct {
				ID   int64
				Body string
			}
		}
		h.Must(http.StatusOK, "GET", fmt.Sprintf("/api/v1/runs/%s/logs?after=%d", id, after), h.AdminKey, nil).Decode(h.t, &page)
		if len(page.Items) == 0 {
			return b.String()
		}
		for _, c := range page.Items {
			b.WriteString(c.Body)
			after = c.ID
		}
	}
}

func TestStackRunUsesModuleFromRegistry(t *testing.T) {
	t.Parallel()
	h := setupTLSRuns(t)
	ctx := t.Context()
	endpoint, secret := h.moduleSetup()
	noPush, noVerify := false, false
	if _, err := h.Sim.AddHook(ctx, moduleProject, gitlabsim.HookOptions{URL: endpoint, Token: secret, PushEvents: &noPush,
		TagPushEvents: true, EnableSSLVerification: &noVerify}); err != nil {
		t.Fatal(err)
	}
	// The module's version comes from a tag push.
	res, ver, reason := moduleLine(t, h.tagPush(func() error {
		_, err := h.Sim.CreateTag(ctx, gitlabsim.TagOptions{Project: moduleProject, Tag: "v0.1.0", Ref: "main"})
		return err
	}))
	if res != "published" || ver != "0.1.0" {
		t.Fatalf("v0.1.0: %s %s %s", res, ver, reason)
	}

	// Two stacks on one project: "app" in the module's space, "stranger" in
	// a space that cannot read it.
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: consumerProject, Files: map[string]string{
		"app/main.tf": "# placeholder\n", "stranger/main.tf": "# placeholder\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.AddHook(ctx, consumerProject, gitlabsim.HookOptions{URL: endpoint, Token: secret,
		EnableSSLVerification: &noVerify}); err != nil {
		t.Fatal(err)
	}
	h.consumerStack("app", "platform", "app")
	h.consumerStack("stranger", "other", "stranger")
	code := consumerCode(h.host())
	push, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: consumerProject, Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "use the greeting module", Actions: []gitlabsim.FileAction{
			{Action: "update", Path: "app/main.tf", Content: code}, {Action: "update", Path: "stranger/main.tf", Content: code}}}}})
	if err != nil {
		t.Fatal(err)
	}

	r := h.settledRun("app", push.After)
	logs := h.runLogs(r.ID)
	if r.State != "UNCONFIRMED" && r.State != "FINISHED" {
		t.Fatalf("run of app ended %s (%s); history %v; logs:\n%s", r.State, r.Error, runStates(r), logs)
	}
	if !strings.Contains(logs, "Downloading "+h.host()+"/platform/greeting/null 0.1.0") {
		t.Errorf("the run's init did not download the module from Hoist:\n%s", logs)
	}
	if !strings.Contains(logs, `greeting = "hello, hoist"`) {
		t.Errorf("the run's plan lacks the module's output:\n%s", logs)
	}

	// The run's credential reads only what its stack's space can read.
	s := h.settledRun("stranger", push.After)
	slogs := h.runLogs(s.ID)
	if s.State != "FAILED" || !strings.Contains(slogs, "Module platform/greeting/null") || !strings.Contains(slogs, "cannot be found") {
		t.Errorf("run of stranger = %s (%s), want FAILED at init; logs:\n%s", s.State, s.Error, slogs)
	}
	if strings.Contains(logs+slogs, "hoistrun_") {
		t.Errorf("a run's credential is in its logs")
	}
}
