package gitlab_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

func TestCheckRepositoryAgainstSimulator(t *testing.T) {
	t.Parallel()
	e := startSim(t)
	ctx := t.Context()
	projects := map[string]int{ // path → hoist-bot's access level (0: none)
		"acme/sub/infra":  0,
		"acme/dev-only":   gitlabsim.Developer,
		"acme/owned":      gitlabsim.Owner,
		"public/stranger": 0,
	}
	var infra gitlabsim.Project
	for path, level := range projects {
		vis := "private"
		if strings.HasPrefix(path, "public/") {
			vis = "public"
		}
		p, err := e.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: path, Visibility: vis, Files: map[string]string{"main.tf": "\n"}})
		if err != nil {
			t.Fatal(err)
		}
		if path == "acme/sub/infra" {
			infra = p
		}
		if level != 0 {
			if err := e.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: path, UserID: e.user.ID, AccessLevel: level}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Maintainer on infra through the group above its subgroup.
	if err := e.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme/sub", UserID: e.user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	head, err := e.sim.ResolveRef(ctx, "acme/sub/infra", "main")
	if err != nil {
		t.Fatal(err)
	}
	ep := vcs.Endpoint{APIHost: e.url, Token: e.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})}
	checker := gitlab.New(nil, nil)
	query := func(repo, branch string) vcs.RepoQuery {
		return vcs.RepoQuery{Repository: repo, Branch: branch, UserID: int64(e.user.ID), Username: "hoist-bot"}
	}

	got, err := checker.CheckRepository(ctx, ep, query("ACME/Sub/Infra", "main"))
	if err != nil || got.ProjectID != int64(infra.ID) || got.Path != "acme/sub/infra" || got.BranchSHA != head {
		t.Errorf("CheckRepository = %+v, %v; want project %d at %s", got, err, infra.ID, head)
	}
	if _, err := checker.CheckRepository(ctx, ep, query("acme/owned", "main")); err != nil {
		t.Errorf("owner: %v", err)
	}
	for _, tt := range []struct {
		repo, branch, field, want string
	}{
		{"acme/missing", "main", "repository", "project acme/missing not found on " + e.url + " or the token's user hoist-bot cannot see it"},
		{"acme/dev-only", "main", "repository", "hoist-bot has Developer (30) access to acme/dev-only; Hoist needs at least Maintainer (40)"},
		{"public/stranger", "main", "repository", "hoist-bot is not a member of public/stranger"},
		{"acme/sub/infra", "feature/x", "branch", `branch "feature/x" does not exist in acme/sub/infra (its default branch is main)`},
	} {
		_, err := checker.CheckRepository(ctx, ep, query(tt.repo, tt.branch))
		var ae *apperr.Error
		if !asAppErr(err, &ae) || ae.Code != apperr.Invalid || ae.Field != tt.field || !strings.Contains(ae.Message, tt.want) {
			t.Errorf("%s@%s: err = %v, want invalid %s containing %q", tt.repo, tt.branch, err, tt.field, tt.want)
		}
	}
	// A token GitLab rejects is the token's fault, not the repository's.
	revoked := vcs.Endpoint{APIHost: e.url, Token: e.token(t, gitlabsim.TokenOptions{Revoked: true})}
	_, err = checker.CheckRepository(ctx, revoked, query("acme/sub/infra", "main"))
	var ae *apperr.Error
	if !asAppErr(err, &ae) || ae.Field != "token" {
		t.Errorf("revoked token: %v", err)
	}
	if n := e.sim.CallCount("GET /api/v4/projects/*/repository/branches/*"); n == 0 {
		t.Errorf("the branch endpoint was never called")
	}
}
