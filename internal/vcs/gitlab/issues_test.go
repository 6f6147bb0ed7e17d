package gitlab_test

import (
	"fmt"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// TestFindIssue: the issue holding the marker is found past the first
// page; one that only mentions the search's words, a closed one and one
// of another project are not; an unknown project is KindNotFound.
func TestFindIssue(t *testing.T) {
	t.Parallel()
	e := startSim(t)
	ctx := t.Context()
	const path, marker = "acme/infra", "<!-- hoist:drift stack=db -->"
	for _, p := range []string{path, "acme/other"} {
		if _, err := e.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: p, Files: map[string]string{"main.tf": "\n"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: p, UserID: e.user.ID, AccessLevel: gitlabsim.Reporter}); err != nil {
			t.Fatal(err)
		}
	}
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	ep := vcs.Endpoint{Integration: "gl", APIHost: e.url, Token: e.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})}
	open := func(project, description string) int64 {
		t.Helper()
		iid, err := c.CreateIssue(ctx, ep, vcs.Issue{Project: project, Title: "Drift: stack db", Description: description})
		if err != nil {
			t.Fatal(err)
		}
		return iid
	}
	open("acme/other", "changes\n"+marker)
	want := open(path, "changes\n"+marker)
	closed := open(path, "old changes\n"+marker)
	if err := c.UpdateIssue(ctx, ep, closed, vcs.Issue{Project: path, Title: "Drift: stack db", Description: "gone\n" + marker}); err != nil {
		t.Fatal(err)
	}
	// 25 newer issues whose text holds the search's words but not the
	// marker: the one wanted is on the second page.
	for i := range 25 {
		open(path, fmt.Sprintf("quoting <!-\u200b- hoist:drift stack=db --> %d", i))
	}
	got, err := c.FindIssue(ctx, ep, path, "hoist:drift stack=db", marker)
	if err != nil || got != want {
		t.Errorf("FindIssue = %d, %v; want #%d", got, err, want)
	}
	if got, err := c.FindIssue(ctx, ep, path, "hoist:drift stack=web", "<!-- hoist:drift stack=web -->"); err != nil || got != 0 {
		t.Errorf("FindIssue of a stack without an issue = %d, %v", got, err)
	}
	if _, err := c.FindIssue(ctx, ep, "acme/nope", "x", marker); vcs.KindOf(err) != vcs.KindNotFound {
		t.Errorf("FindIssue in an unknown project = %v", err)
	}
}
