package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestRunPageLiveLogsAndConfirm (issue 6, acceptance 2): trigger a run
// from the stack page, watch its log grow on the run page without a
// reload, confirm it there and see it finish.
func TestRunPageLiveLogsAndConfirm(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)

	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
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
		!document.querySelector("form[data-action=confirm]").hidden`, chromedp.WithPollingTimeout(90*time.Second)))
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
	// Issue 14: only what the state allows is offered; stop, asked for
	// anyway (a stale page), comes back to the run saying why.
	if got := x.count("form.run-action:not([hidden])"); got != 2 || x.count("form[data-action=stop]:not([hidden])") != 0 {
		t.Errorf("%d actions offered on an UNCONFIRMED run, stop among them: %q", got, x.text("#run-actions"))
	}
	runPath := x.path()
	if _, err := chromedp.Run(x.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("form[data-action=stop]").submit()`))); err != nil {
		t.Fatal(err)
	}
	if x.path() != runPath+"?refused=stop" || !strings.Contains(x.text("#run-refused"),
		"Cannot stop the run while it is UNCONFIRMED: a run can be stopped only while INITIALIZING or PLANNING.") {
		t.Fatalf("a refused stop led to %s: %q", x.path(), x.text("main"))
	}

	x.click("#confirm")
	x.do(chromedp.Poll[chromedp.Void](`document.querySelector("#run-state .state").dataset.state === "FINISHED"`,
		chromedp.WithPollingTimeout(90*time.Second)))
	if log := x.text("#log"); !strings.Contains(log, "Apply complete!") {
		t.Errorf("log after the apply: %q", log)
	}
	if n := x.count("form.run-action:not([hidden])"); n != 0 {
		t.Errorf("%d action buttons still shown after the run finished", n)
	}
	x.navigate(x.path(), base)
	x.screenshot("run-finished")
	if x.count("#history .state-FINISHED") != 1 || x.count("#resources > tbody > tr") != 1 {
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
	h := setup(t, inproc.Runs(t, func(c *app.Config) {
		c.SimulateNoSandbox, c.UnsafeUnsandboxedRuns = "simulated: no Landlock", true
	}))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	var r struct{ ID, State string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &r)
	apptest.Eventually(t, 90*time.Second, "run "+r.ID+" to wait for a confirmation", func() error {
		if r.State == "UNCONFIRMED" {
			return nil
		}
		h.api("GET", "/api/v1/runs/"+r.ID, nil, http.StatusOK, &r)
		return fmt.Errorf("it is %s", r.State)
	})
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	page := c.get("/runs/" + r.ID)
	if !strings.Contains(page.body, `id="unsandboxed"`) || !strings.Contains(page.body, "This run was not sandboxed") ||
		!strings.Contains(page.body, "simulated: no Landlock") {
		t.Fatalf("the run page does not warn:\n%s", page.body)
	}
}

// runStack creates an integration, the simulator project acme/infra with
// infra/main.tf, and the stack "web" on it.
func (h *harness) runStack(mainTF string, autodeploy bool) {
	h.t.Helper()
	h.createIntegration("Acme GitLab")
	if _, err := h.Sim.CreateProject(h.t.Context(), gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{
		"infra/main.tf": mainTF}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(h.t.Context(), gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "web", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "infra", "autodeploy": autodeploy}, http.StatusCreated, nil)
}

// TestRunPageOpensAtTheError (issue 14): a failed run's page says why in
// its failure banner, in OpenTofu's words, and its log box opens at the
// first error rather than at the top of a long log; it offers no action.
func TestRunPageOpensAtTheError(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	// Sixty resources make a log far longer than its box; the apply fails
	// at its end, on a postcondition only the apply can check.
	h.runStack(`resource "terraform_data" "n" { count = 60 }
resource "terraform_data" "b" {
  input = terraform_data.n[0].id
  lifecycle {
    postcondition {
      condition     = self.output == "never"
      error_message = "hoist-test: <i>the apply fails</i> on purpose."
    }
  }
}
`, true)
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	x.navigate("/stacks/web", base)
	x.click("#trigger-run")
	// Whether the page saw the run fail (and reloaded: a poll across the
	// reload fails, so it is retried) or opened on a failed run, it ends
	// with the banner.
	type page struct {
		Shown bool
		Main  string
	}
	apptest.Eventually(t, 90*time.Second, "the failure banner", func() error {
		p, err := chromedp.Run(x.ctx, chromedp.Evaluate[page](`({Shown: document.readyState === "complete" && document.getElementById("run-error-detail") !== null,
			Main: document.querySelector("main") ? document.querySelector("main").innerText : ""})`))
		if err != nil {
			return err
		}
		if !p.Shown {
			return fmt.Errorf("the page shows %q", p.Main)
		}
		return nil
	})
	if got := x.text("#run-error-detail"); !strings.HasPrefix(got, "Error: Resource postcondition failed") ||
		!strings.Contains(got, "hoist-test: <i>the apply fails</i> on purpose.") {
		t.Errorf("failure banner detail %q", got)
	}
	if st := x.text("#run-state"); st != "FAILED" || x.count("form.run-action:not([hidden])") != 0 {
		t.Errorf("state %q with %d actions offered", st, x.count("form.run-action:not([hidden])"))
	}
	type box struct {
		ScrollTop, ScrollHeight, ClientHeight, MarkTop, LogTop, LogBottom float64
	}
	b, err := chromedp.Run(x.ctx, chromedp.Evaluate[box](`(function () {
		var log = document.getElementById("log"), r = log.getBoundingClientRect();
		return {ScrollTop: log.scrollTop, ScrollHeight: log.scrollHeight, ClientHeight: log.clientHeight,
			MarkTop: document.getElementById("log-error").getBoundingClientRect().top, LogTop: r.top, LogBottom: r.bottom};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if b.ScrollHeight < 3*b.ClientHeight || b.ScrollTop == 0 || b.MarkTop < b.LogTop || b.MarkTop > b.LogBottom-20 {
		t.Errorf("the log box does not open at the error: %+v", b)
	}
	x.screenshot("run-failed")

	// Refused actions come back to the run with the reason, worked out
	// from the run as it is: an ended run, a reader.
	runPath := x.path()
	pw := h.createUser("reader", "read")
	for _, tt := range []struct{ user, pass, want string }{
		{"admin", h.AdminPassword, "Cannot stop the run: it has already ended (FAILED)."},
		{"reader", pw, "You cannot stop this run: that needs write access to its stack."},
	} {
		c := h.client()
		c.mustLogin(tt.user, tt.pass)
		p := c.get(runPath)
		if strings.Contains(p.body, `class="run-action"`) != (tt.user == "admin") {
			t.Errorf("%s: action forms on the page: %v", tt.user, !strings.Contains(p.body, `class="run-action"`))
		}
		res := c.post(runPath+"/stop", url.Values{"csrf_token": {csrf(t, p)}})
		if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || loc != runPath+"?refused=stop" {
			t.Fatalf("%s: refused stop = %d to %q", tt.user, res.status, loc)
		}
		if got := section(c.get(runPath+"?refused=stop").body, "run-refused"); !strings.Contains(got, tt.want) {
			t.Errorf("%s: refusal %q, want %q", tt.user, got, tt.want)
		}
	}
}

// TestRunPageReviewInTheBrowser (issue 17): a run its approval policy
// holds shows Approve and Reject on the run page as soon as it waits
// (the page reloads itself once); approving there lets it go on.
func TestRunPageReviewInTheBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	h.api("POST", "/api/v1/policies", map[string]any{"name": "One approval", "type": "approval", "space": "root",
		"labels": []string{"autoattach:*"}, "body": "package hoist\n\napprove if {\n\tsome r in input.reviews\n\tr.decision == \"approve\"\n}\n"},
		http.StatusCreated, nil)
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	x.navigate("/stacks/web", base)
	x.click("#trigger-run")
	// The page reloads itself when the run starts waiting: look again
	// until the reload is done (an evaluation cut by it is retried).
	apptest.Eventually(t, 90*time.Second, "Approve on the run page", func() error {
		ok, err := chromedp.Run(x.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.getElementById("review-approve")`))
		if err != nil || !ok {
			return fmt.Errorf("not yet (%v)", err)
		}
		return nil
	})
	if st := x.text("#run-state"); st != "PENDING_REVIEW" {
		t.Errorf("state = %q, want PENDING_REVIEW", st)
	}
	x.screenshot("run-pending-review")
	// Approving posts the form; the answer is the run page again.
	if _, err := chromedp.Run(x.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("review-approve").click()`))); err != nil {
		t.Fatal(err)
	}
	x.do(chromedp.Poll[chromedp.Void](`document.querySelector("#run-state .state").dataset.state === "UNCONFIRMED" &&
		!document.getElementById("review-form")`, chromedp.WithPollingTimeout(30*time.Second)))
	if got := x.text("#review-list"); !strings.Contains(got, "approve") {
		t.Errorf("reviews listed: %q", got)
	}
}
