package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

var hrefs = regexp.MustCompile(`href="([^"]*)"`)

// gitlabLinks lists the links of a page that leave Hoist.
func gitlabLinks(body string) []string {
	var out []string
	for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "/") && !strings.HasPrefix(m[1], "#") {
			out = append(out, m[1])
		}
	}
	return out
}

// TestPrivateIntegrationLinksArePlainText is issue 14 item 10: the
// repository, branch, commit and merge request of a stack whose
// integration's user-facing host is private://<pool> show as text, never
// as private://… (or GitLab) links; the same pages link them while the
// host is a web URL.
func TestPrivateIntegrationLinksArePlainText(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	ctx := t.Context()
	noPush := false
	h.infraStack(h.createIntegration("Acme GitLab"), gitlabsim.HookOptions{PushEvents: &noPush, MergeRequestsEvents: true})
	if _, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "feature", StartBranch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "infra/main.tf", Content: "# x\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: "acme/infra", SourceBranch: "feature", Title: "Change"}); err != nil {
		t.Fatal(err)
	}
	var runID string
	waitPage(t, "a proposed run of the merge request", func() bool {
		var page struct {
			Items []struct {
				ID              string `json:"id"`
				MergeRequestIID int    `json:"merge_request_iid"`
			}
		}
		h.api("GET", "/api/v1/stacks/infra/runs", nil, http.StatusOK, &page)
		if len(page.Items) == 1 && page.Items[0].MergeRequestIID == 1 {
			runID = page.Items[0].ID
			return true
		}
		return false
	})
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	pages := []string{"/stacks", "/stacks/infra", "/runs/" + runID}
	for _, p := range pages {
		if links := gitlabLinks(c.get(p).body); len(links) == 0 {
			t.Errorf("%s links nothing in GitLab while the user-facing host is %s", p, h.SimURL)
		}
	}

	h.api("POST", "/api/v1/vcs-agent-pools", map[string]any{"name": "dc"}, http.StatusCreated, nil)
	h.api("PATCH", "/api/v1/integrations/gitlab/acme-gitlab", map[string]any{"user_facing_host": "private://dc"}, http.StatusOK, nil)
	for _, p := range pages {
		body := c.get(p).body
		if links := gitlabLinks(body); len(links) != 0 {
			t.Errorf("%s links %q for a private integration; want plain text", p, links)
		}
		if !strings.Contains(body, "acme/infra") && !strings.Contains(body, "!1") {
			t.Errorf("%s no longer names the repository or merge request", p)
		}
	}
	if body := c.get("/runs/" + runID).body; !strings.Contains(body, "!1") {
		t.Errorf("the run page does not name the merge request: %.2000s", body)
	}
}
