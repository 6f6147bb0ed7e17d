package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

const (
	// planFailsTF fails to plan: a precondition that does not hold. Its
	// message holds markup that every view must show as text.
	planFailsTF = `locals { replicas = 3 }
resource "terraform_data" "a" {
  input = "x"
  lifecycle {
    precondition {
      condition     = local.replicas == 2
      error_message = "hoist-test: <b>two</b> replicas needed."
    }
  }
}
`
	// applyFailsTF plans, then fails to apply: the postcondition depends on
	// an id known only after the apply.
	applyFailsTF = `resource "terraform_data" "a" {}
resource "terraform_data" "b" {
  input = terraform_data.a.id
  lifecycle {
    postcondition {
      condition     = self.output == "never"
      error_message = "hoist-test: the apply fails on purpose."
    }
  }
}
`
)

// TestFailureCauseReachesEveryView (issue 14): OpenTofu's own error of a
// failed plan and of a failed apply reaches the API, `hoist run show`, the
// run page, the merge request note and the commit status; a run that never
// planned shows no plan counts anywhere.
func TestFailureCauseReachesEveryView(t *testing.T) {
	t.Parallel()
	h := setupRuns(t, `resource "terraform_data" "a" { input = "ok" }`+"\n")
	ctx := context.Background()

	// A proposed run on a merge request whose plan fails.
	sha := h.pushMain("feature", planFailsTF)
	mr, err := h.sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: "acme/infra", SourceBranch: "feature", Title: "Fewer replicas"})
	if err != nil {
		t.Fatal(err)
	}
	r := h.waitRunIn("web", sha, "FAILED")
	const planSummary, planMessage = "Error: Resource precondition failed", "hoist-test: <b>two</b> replicas needed."
	if !strings.HasPrefix(r.ErrorDetail, planSummary) || !strings.Contains(r.ErrorDetail, planMessage) || r.Delta != nil {
		t.Fatalf("API: error_detail %q, delta %+v; want tofu's error and no plan", r.ErrorDetail, r.Delta)
	}
	out := h.ok(h.adminKey, "run", "show", r.ID)
	if !strings.Contains(out, "OpenTofu error:\n  "+planSummary+"\n") || !strings.Contains(out, "  "+planMessage+"\n") ||
		!regexp.MustCompile(`Delta:\s+no plan\n`).MatchString(out) || strings.Contains(out, "+0 ~0 -0") {
		t.Errorf("run show:\n%s", out)
	}
	if out := h.ok(h.adminKey, "run", "list", "web"); strings.Contains(out, "+0 ~0 -0") {
		t.Errorf("run list shows counts of a plan never made:\n%s", out)
	}
	page := h.webPage("/runs/" + r.ID)
	detail := regexp.MustCompile(`(?s)<pre class="error-detail" id="run-error-detail">(.*?)</pre>`).FindStringSubmatch(page)
	switch {
	case detail == nil:
		t.Errorf("run page without the error detail:\n%s", page)
	case !strings.Contains(detail[1], html.EscapeString(planMessage)) || strings.Contains(page, "<b>two</b>"):
		t.Errorf("run page error detail, not escaped as text: %s", detail[1])
	case !strings.Contains(page, `<span id="log-error">`+planSummary):
		t.Errorf("the run page's log marks no error")
	case strings.Contains(page, `<span class="add">`):
		t.Errorf("the run page shows plan counts of a plan never made")
	}
	wantStatus := "Plan failed: " + planSummary + " — " + planMessage
	apptest.Eventually(t, 60*time.Second, "the failed status and note", func() bool {
		notes, _ := h.sim.Notes("acme/infra", mr.IID)
		return statusOf(t, h, sha) == wantStatus && len(notes) == 1 && strings.Contains(notes[0].Body, planMessage)
	})
	note, _ := h.sim.Notes("acme/infra", mr.IID)
	if body := note[0].Body; !strings.Contains(body, "```text\n"+planSummary+"\n") || strings.Contains(body, "+0 ~0 -0") ||
		strings.Contains(body, "to add") {
		t.Errorf("merge request note:\n%s", body)
	}

	// A tracked run whose apply fails: it planned, so it keeps its counts.
	sha = h.pushMain("main", applyFailsTF)
	r = h.waitRunIn("web", sha, "UNCONFIRMED")
	h.ok(h.adminKey, "run", "confirm", r.ID)
	r = h.waitRunIn("web", sha, "FAILED")
	const applySummary, applyMessage = "Error: Resource postcondition failed", "hoist-test: the apply fails on purpose."
	if !strings.HasPrefix(r.ErrorDetail, applySummary) || !strings.Contains(r.ErrorDetail, applyMessage) || r.Delta == nil || r.Delta.Add != 2 {
		t.Fatalf("API: error_detail %q, delta %+v", r.ErrorDetail, r.Delta)
	}
	if out := h.ok(h.adminKey, "run", "show", r.ID); !strings.Contains(out, "  "+applyMessage+"\n") || !strings.Contains(out, "+2 ~0 -0 (import 0)") {
		t.Errorf("run show:\n%s", out)
	}
	if page := h.webPage("/runs/" + r.ID); !strings.Contains(page, html.EscapeString(applyMessage)) || !strings.Contains(page, `<span class="add">+2</span>`) {
		t.Errorf("run page of the failed apply:\n%s", page)
	}
	wantStatus = "Apply failed: " + applySummary + " — " + applyMessage
	apptest.Eventually(t, 60*time.Second, "the failed apply's status", func() bool { return statusOf(t, h, sha) == wantStatus })
}

// waitRunIn waits for the stack's run at sha to be in state, and returns
// it as `hoist run show -o json` shows it.
func (h *e2e) waitRunIn(stack, sha, state string) api.Run {
	h.t.Helper()
	var got api.Run
	apptest.Eventually(h.t, 60*time.Second, "a "+state+" run at "+sha, func() bool {
		var runs []api.Run
		h.jsonOut(&runs, h.adminKey, "run", "list", stack)
		for _, r := range runs {
			if r.CommitSHA == sha && r.State == state {
				h.jsonOut(&got, h.adminKey, "run", "show", r.ID)
				return true
			}
		}
		return false
	})
	return got
}

// statusOf is the description of the current hoist/web status on sha.
func statusOf(t *testing.T, h *e2e, sha string) string {
	t.Helper()
	sts, err := h.sim.CommitStatuses("acme/infra", sha)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Name == "hoist/web" && !s.Retried {
			return s.Description
		}
	}
	return ""
}

// webPage logs into the web UI with the admin API key and returns a page.
func (h *e2e) webPage(path string) string {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(p string) string {
		res, err := c.Get(h.url + p)
		if err != nil {
			h.t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			h.t.Fatalf("GET %s = %d", p, res.StatusCode)
		}
		return string(b)
	}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if m == nil {
		h.t.Fatal("no CSRF token on the login page")
	}
	res, err := c.PostForm(h.url+"/login", url.Values{"csrf_token": {m[1]}, "api_key": {h.adminKey}})
	if err != nil {
		h.t.Fatal(err)
	}
	res.Body.Close()
	return get(path)
}
