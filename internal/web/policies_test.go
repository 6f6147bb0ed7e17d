package web_test

import (
	"net/http"
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
