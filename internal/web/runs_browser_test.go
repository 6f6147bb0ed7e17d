package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
)

// TestRunsListNeedsMyAttention (issue 19, acceptance 1): in a browser,
// open Runs from the navigation, filter to "needs my attention", and
// confirm the waiting run from the list, which comes back to the same
// filtered list; the run then applies.
func TestRunsListNeedsMyAttention(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	var waiting, other struct{ ID, State string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &waiting)
	// A proposed run at a commit GitLab does not have: it fails, and
	// needs no one's attention.
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{"type": "PROPOSED", "commit_sha": strings.Repeat("e", 40)},
		http.StatusCreated, &other)
	apptest.Eventually(t, 90*time.Second, "run "+waiting.ID+" to wait for a confirmation", func() error {
		if waiting.State == "UNCONFIRMED" {
			return nil
		}
		h.api("GET", "/api/v1/runs/"+waiting.ID, nil, http.StatusOK, &waiting)
		return fmt.Errorf("it is %s", waiting.State)
	})

	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	x.click("nav a[href='/runs']")
	if p := x.path(); p != "/runs" || x.count("#runs-list tbody tr") != 2 {
		t.Fatalf("Runs tab: %s with %d rows: %q", p, x.count("#runs-list tbody tr"), x.text("main"))
	}
	if n := x.count("#runs-list time[datetime][title]"); n != 2 {
		t.Errorf("%d rows show a relative time with the absolute one on hover, want 2", n)
	}
	x.screenshot("runs")

	x.do(chromedp.Click(chromedp.ID("f-attention")))
	x.click("#apply-filter")
	if p := x.path(); !strings.Contains(p, "attention=1") {
		t.Fatalf("filtering led to %s", p)
	}
	if ids := x.count("#runs-list tbody tr"); ids != 1 || x.count("#run-"+waiting.ID) != 1 {
		t.Fatalf("needs my attention lists %d runs: %q", ids, x.text("#runs-list"))
	}
	if st := x.text("#run-" + waiting.ID + " .state"); st != "UNCONFIRMED" {
		t.Errorf("the listed run is %q", st)
	}
	x.screenshot("runs-attention")

	x.click("#confirm-" + waiting.ID)
	if p := x.path(); p != "/runs?attention=1" {
		t.Errorf("after Confirm: %s, want the same filtered list", p)
	}
	if x.count("#f-attention:checked") != 1 || x.count("#runs-list") != 0 || !strings.Contains(x.text("#runs-empty"), "No runs match") {
		t.Errorf("after Confirm the filtered list still shows the run: %q", x.text("main"))
	}
	apptest.Eventually(t, 90*time.Second, "the confirmed run to apply", func() error {
		h.api("GET", "/api/v1/runs/"+waiting.ID, nil, http.StatusOK, &waiting)
		if waiting.State == "FINISHED" {
			return nil
		}
		return fmt.Errorf("it is %s", waiting.State)
	})
	x.navigate("/runs/"+waiting.ID, base)
	if h1 := x.text("h1"); !strings.HasPrefix(h1, "web · TRACKED · commit ") {
		t.Errorf("run page heading %q", h1)
	}
}
