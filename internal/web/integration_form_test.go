package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestIntegrationFormDriftIssueAndStatuses: the integration forms set
// aggregate_statuses and the drift issue default; the create form refuses
// what the API refuses, with the API's message next to the field; the
// details page and the edit form show the settings; the edit form turns
// them off, refusing labels left behind as the API's PATCH does.
func TestIntegrationFormDriftIssueAndStatuses(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	admin, page, post := adminOn(t, h, "/source-control/gitlab/new")
	for _, want := range []string{`id="aggregate_statuses"`, `id="drift_issue"`, `<label for="drift_issue_labels">`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the create form lacks %s:\n%.3000s", want, page.body)
		}
	}
	tok := h.Token(gitlabsim.TokenOptions{})
	var many strings.Builder
	for i := range 21 {
		fmt.Fprintf(&many, "label-%d\n", i)
	}
	for _, tt := range []struct {
		what string
		set  map[string]string
	}{
		{"labels without the drift issue", map[string]string{"drift_issue_labels": "drift"}},
		{"a label with a comma", map[string]string{"drift_issue": "on", "drift_issue_labels": "drift\na,b"}},
		{"a label with a tab", map[string]string{"drift_issue": "on", "drift_issue_labels": "a\tb"}},
		{"21 labels", map[string]string{"drift_issue": "on", "drift_issue_labels": many.String()}},
	} {
		form := url.Values{"name": {"Acme"}, "type": {"default"}, "api_host": {h.SimURL}, "token": {tok}}
		body := map[string]any{"name": "Acme", "is_default": true, "api_host": h.SimURL, "token": tok}
		for k, v := range tt.set {
			form.Set(k, v)
			if k == "drift_issue" {
				body[k] = true
			} else {
				body[k] = strings.Split(strings.TrimSuffix(v, "\n"), "\n")
			}
		}
		_, msg, field := h.Call("POST", "/api/v1/integrations/gitlab", h.AdminKey, body).APIError(t)
		if field != "drift_issue_labels" || msg == "" {
			t.Fatalf("%s: the API refused field %q with %q", tt.what, field, msg)
		}
		wantField(t, tt.what, post("/source-control/gitlab/new", form), http.StatusBadRequest, field,
			html.EscapeString(strings.TrimPrefix(msg, field+": ")))
	}
	var list struct{ Items []any }
	h.api("GET", "/api/v1/integrations", nil, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused form created %d integrations", len(list.Items))
	}

	form := url.Values{"name": {"Acme"}, "type": {"default"}, "api_host": {h.SimURL}, "token": {tok},
		"aggregate_statuses": {"on"}, "drift_issue": {"on"}, "drift_issue_labels": {" drift\n\nteam::infra\ndrift\n"}}
	if p := post("/source-control/gitlab/new", form); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/source-control/gitlab/acme?done=created" {
		t.Fatalf("create = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	var it struct {
		AggregateStatuses bool     `json:"aggregate_statuses"`
		DriftIssue        bool     `json:"drift_issue"`
		DriftIssueLabels  []string `json:"drift_issue_labels"`
	}
	h.api("GET", "/api/v1/integrations/gitlab/acme", nil, http.StatusOK, &it)
	if !it.AggregateStatuses || !it.DriftIssue || strings.Join(it.DriftIssueLabels, ",") != "drift,team::infra" {
		t.Errorf("created integration = %+v", it)
	}
	if p := admin.get("/source-control/gitlab/acme"); !strings.Contains(p.body, `<dd id="aggregate-statuses">aggregated`) ||
		!strings.Contains(p.body, `<dd id="drift-issue">on for the stacks that follow it, labelled <span class="label">drift</span> <span class="label">team::infra</span></dd>`) {
		t.Errorf("the details page does not show the settings:\n%.6000s", p.body)
	}
	edit := admin.get("/source-control/gitlab/acme/edit")
	if !strings.Contains(edit.body, `id="aggregate_statuses" checked`) || !strings.Contains(edit.body, `id="drift_issue" checked`) ||
		!strings.Contains(edit.body, "drift\nteam::infra</textarea>") {
		t.Fatalf("the edit form does not show the settings:\n%.6000s", edit.body)
	}

	// Unchecked with the labels left: refused as the API refuses it.
	_, msg, field := h.Call("PATCH", "/api/v1/integrations/gitlab/acme", h.AdminKey, map[string]any{"drift_issue": false}).APIError(t)
	if field != "drift_issue_labels" {
		t.Fatalf("PATCH drift_issue false with labels: field %q, %q", field, msg)
	}
	off := url.Values{"csrf_token": {csrf(t, edit)}, "type": {"default"}, "api_host": {h.SimURL},
		"drift_issue_labels": {"drift\nteam::infra"}}
	wantField(t, "labels left without the drift issue", admin.post("/source-control/gitlab/acme/edit", off),
		http.StatusBadRequest, field, html.EscapeString(strings.TrimPrefix(msg, field+": ")))
	off.Set("drift_issue_labels", "")
	if p := admin.post("/source-control/gitlab/acme/edit", off); p.status != http.StatusSeeOther {
		t.Fatalf("edit to off = %d:\n%.1500s", p.status, p.body)
	}
	h.api("GET", "/api/v1/integrations/gitlab/acme", nil, http.StatusOK, &it)
	if it.AggregateStatuses || it.DriftIssue || len(it.DriftIssueLabels) != 0 {
		t.Errorf("integration after unchecking both = %+v", it)
	}
	if p := admin.get("/source-control/gitlab/acme"); !strings.Contains(p.body, `<dd id="aggregate-statuses">one per stack</dd>`) ||
		!strings.Contains(p.body, `<dd id="drift-issue">off for the stacks that follow it</dd>`) {
		t.Errorf("the details page after turning them off:\n%.6000s", p.body)
	}
}
