package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestRunPageShowsGitLabWrites: a run whose status write GitLab refuses
// with 503 shows it retrying with its attempts and GitLab's error; when
// GitLab then answers 403 the write shows failed with that error. The
// aggregated statuses' link, /runs?commit=<sha>, lists the run.
func TestRunPageShowsGitLabWrites(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *app.Config) { c.WorkerSlots = -1 }) // runs stay queued
	ctx := t.Context()
	h.hookedProject()
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "web", "space": "root", "repository": "acme/infra", "branch": "main"},
		http.StatusCreated, nil)
	_, err := h.Sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Status: 503})
	if err != nil {
		t.Fatal(err)
	}
	push, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "m", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# v2\n"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	var runID string
	waitPage(t, "a run", func() bool {
		var page struct{ Items []struct{ ID string } }
		h.api("GET", "/api/v1/stacks/web/runs", nil, http.StatusOK, &page)
		if len(page.Items) == 1 {
			runID = page.Items[0].ID
		}
		return runID != ""
	})

	var body string
	waitPage(t, "the write retrying on the run page", func() bool {
		body = c.get("/runs/" + runID).body
		return strings.Contains(body, `id="gitlab-writes"`) && strings.Contains(body, `data-state="retrying"`)
	})
	for _, want := range []string{"commit status hoist/web → pending on " + push.After[:8], "503", "next try"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q while the write is retrying:\n%s", want, section(body, "gitlab-writes"))
		}
	}

	// GitLab now refuses for good: the write fails with GitLab's answer.
	// (Replaced at once: a retry between the two rules would succeed.)
	if _, err := h.Sim.ReplaceFaults(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Status: 403}); err != nil {
		t.Fatal(err)
	}
	waitPage(t, "the write failed on the run page", func() bool {
		body = c.get("/runs/" + runID).body
		return strings.Contains(body, `data-state="failed"`)
	})
	if s := section(body, "gitlab-writes"); !strings.Contains(s, "403") || !strings.Contains(s, `class="error"`) {
		t.Errorf("the failed write does not show GitLab's error:\n%s", s)
	}

	list := c.get("/runs?commit=" + push.After)
	if list.status != http.StatusOK || !strings.Contains(list.body, "/runs/"+runID) || !strings.Contains(list.body, `id="commit-runs"`) {
		t.Errorf("/runs?commit= = %d, want the run listed:\n%.2000s", list.status, list.body)
	}
	other := c.get("/runs?commit=" + strings.Repeat("0", 40))
	if other.status != http.StatusOK || strings.Contains(other.body, "/runs/"+runID) {
		t.Errorf("another commit lists the run (%d)", other.status)
	}
	if bad := c.get("/runs?commit=nope"); bad.status != http.StatusBadRequest {
		t.Errorf("/runs?commit=nope = %d, want 400", bad.status)
	}
}

// section returns the part of a page from the element with the given id.
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return "(no #" + id + ")"
	}
	return body[i:min(len(body), i+3000)]
}

// waitPage polls cond (bounded).
func waitPage(t *testing.T, what string, cond func() bool) {
	t.Helper()
	apptest.Eventually(t, 60*time.Second, what, cond)
}
