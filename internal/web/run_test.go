package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// tofuBinary finds the OpenTofu that scripts/install-tofu.sh builds; the
// run test skips without it outside CI.
func tofuBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), ".tools", "bin", "tofu")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no OpenTofu at %s: scripts/install-tofu.sh builds it", p)
		}
		t.Skipf("no OpenTofu at %s (run scripts/install-tofu.sh)", p)
	}
	return p
}

// TestRunPageLiveLogsAndConfirm (issue 6, acceptance 2): trigger a run
// from the stack page, watch its log grow on the run page without a
// reload, confirm it there and see it finish.
func TestRunPageLiveLogsAndConfirm(t *testing.T) {
	t.Parallel()
	tofu := tofuBinary(t)
	h := setup(t, func(c *app.Config) {
		c.TofuPath, c.SchedulerPoll, c.LeaseTTL = tofu, 50*time.Millisecond, 5*time.Second
	})
	ctx := t.Context()
	h.createIntegration("Acme GitLab")
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{
		"infra/main.tf": `resource "terraform_data" "hello" { input = "hello" }` + "\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.simUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "web", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "infra"}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	base := h.srv.URL()
	x.login(base, "admin", h.adminPass)
	x.navigate("/stacks/web", base)
	x.click("#trigger-run")
	if !strings.HasPrefix(x.path(), "/runs/") {
		t.Fatalf("trigger led to %s", x.path())
	}
	// A marker that a reload would wipe: the log must grow in place.
	start, err := chromedp.Run(x.ctx, chromedp.Evaluate[int](`window.__hoistStay = true; document.getElementById("log").textContent.length`))
	if err != nil {
		t.Fatal(err)
	}
	x.do(chromedp.Poll[chromedp.Void](`document.getElementById("log").textContent.includes("Plan:") &&
		!document.querySelector("form.when-unconfirmed").hidden`, chromedp.WithPollingTimeout(90*time.Second)))
	grown, err := chromedp.Run(x.ctx, chromedp.Evaluate[bool](`window.__hoistStay === true && document.getElementById("log").textContent.length > `+strconv.Itoa(start)))
	if err != nil || !grown {
		t.Errorf("the log did not grow in place (%v): %q", err, x.text("#log"))
	}
	if st := x.text("#run-state"); st != "UNCONFIRMED" {
		t.Errorf("state = %q, want UNCONFIRMED", st)
	}
	if d := x.text("#run-delta .add"); d != "+1" {
		t.Errorf("plan summary add = %q, want +1", d)
	}
	x.screenshot("run-unconfirmed")
	if n := x.count("#unsandboxed"); n != 0 {
		t.Error("a sandboxed run's page warns that it was not sandboxed")
	}

	x.click("#confirm")
	x.do(chromedp.Poll[chromedp.Void](`document.querySelector("#run-state .state").dataset.state === "FINISHED"`,
		chromedp.WithPollingTimeout(90*time.Second)))
	if log := x.text("#log"); !strings.Contains(log, "Apply complete!") {
		t.Errorf("log after the apply: %q", log)
	}
	if n := x.count("form.when-unconfirmed:not([hidden])"); n != 0 {
		t.Errorf("%d confirm/discard buttons still shown after the run finished", n)
	}
	x.navigate(x.path(), base)
	x.screenshot("run-finished")
	if x.count("#history .state-FINISHED") != 1 || x.count("#resources tbody tr") != 1 {
		t.Errorf("history/resources after reload: %q / %q", x.text("#history"), x.text("main"))
	}
	x.navigate("/stacks/web", base)
	x.screenshot("stack-runs")
}

// TestRunPageWarnsWhenNotSandboxed: a run executed without a sandbox
// (--unsafe-unsandboxed-runs where none can be set up) carries a warning
// on its page; a sandboxed one (TestRunPageLiveLogsAndConfirm) does not.
func TestRunPageWarnsWhenNotSandboxed(t *testing.T) {
	t.Parallel()
	tofu := tofuBinary(t)
	h := setup(t, func(c *app.Config) {
		c.TofuPath, c.SchedulerPoll, c.LeaseTTL = tofu, 50*time.Millisecond, 5*time.Second
		c.SimulateNoSandbox, c.UnsafeUnsandboxedRuns = "simulated: no Landlock", true
	})
	h.createIntegration("Acme GitLab")
	if _, err := h.sim.CreateProject(t.Context(), gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{
		"infra/main.tf": `resource "terraform_data" "hello" { input = "hello" }` + "\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddMember(t.Context(), gitlabsim.MemberOptions{Group: "acme", UserID: h.simUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "web", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "infra"}, http.StatusCreated, nil)
	var r struct{ ID, State string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &r)
	deadline := time.Now().Add(90 * time.Second)
	for r.State != "UNCONFIRMED" {
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want UNCONFIRMED", r.ID, r.State)
		}
		time.Sleep(50 * time.Millisecond) // polling the API, bounded above
		h.api("GET", "/api/v1/runs/"+r.ID, nil, http.StatusOK, &r)
	}
	c := h.client()
	c.mustLogin("admin", h.adminPass)
	page := c.get("/runs/" + r.ID)
	if !strings.Contains(page.body, `id="unsandboxed"`) || !strings.Contains(page.body, "This run was not sandboxed") ||
		!strings.Contains(page.body, "simulated: no Landlock") {
		t.Fatalf("the run page does not warn:\n%s", page.body)
	}
}
