package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var stackRowRe = regexp.MustCompile(`<tr id="stack-([a-z0-9-]+)">`)

// listed returns the ids of the stacks a stacks list page shows, in order.
func listed(p resp) string {
	var ids []string
	for _, m := range stackRowRe.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
	}
	return strings.Join(ids, " ")
}

// TestStacksListFiltersAndVisibility: the stacks list shows each stack's
// last run (state, type, when) and tracked commit, filters by space,
// label, last run state and text, refuses a state that does not exist,
// and shows a reader of one space nothing of another's.
func TestStacksListFiltersAndVisibility(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	no := false
	for _, name := range []string{"Team A", "Team B"} {
		h.api("POST", "/api/v1/spaces", map[string]any{"name": name, "parent": "root", "inherit": &no}, http.StatusCreated, nil)
	}
	var head struct {
		TrackedCommit struct{ SHA string } `json:"tracked_commit"`
	}
	for _, st := range []struct {
		name, space string
		labels      []string
	}{{"Alpha", "team-a", []string{"eu"}}, {"Beta", "team-a", []string{"us"}}, {"Gamma", "team-b", []string{"eu", "pci"}}} {
		// Pool "parked" has no worker: the run waits, its state stays put.
		h.api("POST", "/api/v1/stacks", map[string]any{"name": st.name, "space": st.space, "repository": "acme/infra",
			"branch": "main", "labels": st.labels, "worker_pool": "parked"}, http.StatusCreated, &head)
	}
	var r struct{ ID, State string }
	h.api("POST", "/api/v1/stacks/alpha/runs", map[string]any{}, http.StatusCreated, &r)
	waitPage(t, "the run waiting for a worker", func() bool {
		h.api("GET", "/api/v1/runs/"+r.ID, nil, http.StatusOK, &r)
		return r.State == "READY"
	})

	admin, _, _ := adminOn(t, h, "/stacks")
	all := admin.get("/stacks")
	if got := listed(all); got != "alpha beta gamma" {
		t.Fatalf("all stacks = %q:\n%.3000s", got, all.body)
	}
	_, alpha, _ := strings.Cut(all.body, `<tr id="stack-alpha">`)
	alpha, _, _ = strings.Cut(alpha, "</tr>")
	for _, want := range []string{`<a href="/runs/` + r.ID + `"`, `data-state="READY"`, "TRACKED", `class="when">just now</time>`,
		"<code>" + head.TrackedCommit.SHA[:8] + "</code>", `<span class="label">eu</span>`} {
		if !strings.Contains(alpha, want) {
			t.Errorf("alpha's row lacks %s:\n%s", want, alpha)
		}
	}
	if _, beta, _ := strings.Cut(all.body, `<tr id="stack-beta">`); !strings.Contains(beta[:strings.Index(beta, "</tr>")], "no runs yet") {
		t.Errorf("beta's row does not say it has no runs")
	}

	for _, tt := range []struct{ query, want string }{
		{"space=team-b", "gamma"},
		{"label=eu", "alpha gamma"},
		{"label=e", ""},
		{"state=READY", "alpha"},
		{"state=none", "beta gamma"},
		{"state=FAILED", ""},
		{"q=gam", "gamma"},
		{"q=ACME%2FINFRA", "alpha beta gamma"},
		{"q=a&space=team-a&label=us&state=none", "beta"},
		{"q=%25", ""},
	} {
		p := admin.get("/stacks?" + tt.query)
		if got := listed(p); p.status != http.StatusOK || got != tt.want {
			t.Errorf("/stacks?%s = %d %q, want %q", tt.query, p.status, got, tt.want)
		}
		if tt.want == "" && !strings.Contains(p.body, "No stacks match these filters") {
			t.Errorf("/stacks?%s: no empty state for filters", tt.query)
		}
	}
	for query, msg := range map[string]string{
		"state=EXPLODED":                       "No run state &#34;EXPLODED&#34;",
		"cursor=!!":                            "is not a cursor returned by this list",
		"q=" + strings.Repeat("x", 101):        "must be at most 100 characters",
		"q=" + url.QueryEscape("\x00"):         "must be at most 100 characters",
		"state=" + strings.Repeat("<b>", 1000): "No run state",
	} {
		p := admin.get("/stacks?" + query)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, msg) || listed(p) != "" {
			t.Errorf("/stacks?%.40s = %d, want 400 with %q:\n%.1500s", query, p.status, msg, p.body)
		}
	}

	// A reader of Team B: Team A's stacks, runs and space are not shown,
	// whatever the filters ask.
	pw := "pw-bob-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": "bob", "password": pw,
		"roles": []map[string]string{{"space": "team-b", "role": "read"}}}, http.StatusCreated, nil)
	bob := h.client()
	bob.mustLogin("bob", pw)
	for _, query := range []string{"", "space=team-a", "q=alpha", "state=READY", "label=us"} {
		p := bob.get("/stacks?" + query)
		want := map[string]string{"": "gamma"}[query]
		if got := listed(p); p.status != http.StatusOK || got != want || strings.Contains(p.body, "Alpha") || strings.Contains(p.body, r.ID) ||
			strings.Contains(p.body, `value="team-a"`) {
			t.Errorf("bob /stacks?%s = %d %q, want %q and nothing of Team A:\n%.2000s", query, p.status, got, want, p.body)
		}
	}
	if p := bob.get("/stacks/alpha"); p.status != http.StatusNotFound {
		t.Errorf("bob GET /stacks/alpha = %d, want 404", p.status)
	}
}
