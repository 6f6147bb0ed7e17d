package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apptest/inproc"
)

// TestRunPageShowsPolicyEvaluations (issue 17: the run page's "Policies"
// card): a plan policy attached to every stack warns on the run's plan;
// the run page lists the evaluation with its policy, version, outcome and
// message, escaped as text. A run no policy looked at has no card.
func TestRunPageShowsPolicyEvaluations(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)

	var before struct{ ID string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &before)
	waitPage(t, "the first run to plan", func() bool {
		var r struct{ State string }
		h.api("GET", "/api/v1/runs/"+before.ID, nil, http.StatusOK, &r)
		return r.State == "UNCONFIRMED"
	})
	if body := c.get("/runs/" + before.ID).body; strings.Contains(body, `id="policy-evaluations"`) {
		t.Error("a run without policies shows a Policies card")
	}
	h.api("POST", "/api/v1/runs/"+before.ID+"/discard", nil, http.StatusOK, nil) // frees the stack

	h.api("POST", "/api/v1/policies", map[string]any{"name": "Count changes", "type": "plan", "space": "root",
		"labels": []string{"autoattach:*"}, "body": `package hoist

warn contains sprintf("<b>%d</b> change(s)", [count(input.plan.resource_changes)])
`}, http.StatusCreated, nil)
	var run struct{ ID string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &run)
	var body string
	waitPage(t, "the evaluation on the run page", func() bool {
		body = c.get("/runs/" + run.ID).body
		return strings.Contains(body, `id="policy-evaluations"`)
	})
	for _, want := range []string{"<code>count-changes</code>", "v1, plan", `data-outcome="warn"`, "&lt;b&gt;1&lt;/b&gt; change(s)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Policies card lacks %q:\n%s", want, cardOf(body, `id="policy-evaluations"`))
		}
	}
	if strings.Contains(body, "<b>1</b>") {
		t.Error("a policy's message is rendered as HTML")
	}
}

// cardOf is the part of a page around marker, for failure messages.
func cardOf(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		return "(no " + marker + ")"
	}
	return body[i:min(len(body), i+1500)]
}

// TestRunPageReviews (issue 17: approval policies): a run its approval
// policy holds in PENDING_REVIEW shows the Reviews card with Approve and
// Reject; approving through the page records the review (note escaped)
// and the policy lets the run go on to UNCONFIRMED.
func TestRunPageReviews(t *testing.T) {
	t.Parallel()
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	h.api("POST", "/api/v1/policies", map[string]any{"name": "One approval", "type": "approval", "space": "root",
		"labels": []string{"autoattach:*"}, "body": `package hoist

approve if {
	some r in input.reviews
	r.decision == "approve"
}

message contains "one approval needed" if not approve
`}, http.StatusCreated, nil)
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	var run struct{ ID string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &run)
	var page resp
	waitPage(t, "the run to wait for review", func() bool {
		page = c.get("/runs/" + run.ID)
		return strings.Contains(page.body, `id="review-form"`)
	})
	for _, want := range []string{`id="review-waiting"`, `id="review-approve"`, `id="review-reject"`, "PENDING_REVIEW"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the run page lacks %q:\n%s", want, cardOf(page.body, `id="reviews"`))
		}
	}
	after := c.post("/runs/"+run.ID+"/reviews", url.Values{"csrf_token": {csrf(t, page)}, "decision": {"approve"},
		"note": {"<i>ship it</i>"}})
	if after.status != http.StatusSeeOther || after.header.Get("Location") != "/runs/"+run.ID+"#reviews" {
		t.Fatalf("approving answered %d, Location %q", after.status, after.header.Get("Location"))
	}
	after = c.get("/runs/" + run.ID)
	if !strings.Contains(after.body, "&lt;i&gt;ship it&lt;/i&gt;") ||
		strings.Contains(after.body, `id="review-form"`) {
		t.Fatalf("after approving (%d):\n%s", after.status, cardOf(after.body, `id="reviews"`))
	}
	var r struct{ State string }
	h.api("GET", "/api/v1/runs/"+run.ID, nil, http.StatusOK, &r)
	if r.State != "UNCONFIRMED" {
		t.Fatalf("approved run is %s", r.State)
	}
}
