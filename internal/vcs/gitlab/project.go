package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// MinAccessLevel is the role the token's user needs on a stack's project:
// Maintainer, because Hoist writes commit statuses, deployments and
// (optionally) project hooks there (SPEC §2.2).
const MinAccessLevel = gl.MaintainerPermissions

// CheckRepository implements stack.RepoChecker with three calls: GET
// /projects/:path (the project exists and the token's user sees it), GET
// /projects/:id/members/all/:user_id (the user is at least Maintainer,
// inherited and invited groups included), GET
// /projects/:id/repository/branches/:branch (the branch exists).
func (c *Client) CheckRepository(ctx context.Context, ep vcs.Endpoint, q vcs.RepoQuery) (vcs.Repo, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return vcs.Repo{}, err
	}
	defer release()
	p, resp, err := client.Projects.GetProject(q.Repository, nil, gl.WithContext(ctx))
	if err != nil {
		e := classify(resp, err)
		if e.Kind == vcs.KindNotFound {
			return vcs.Repo{}, wrapField("repository", e, "project %s not found on %s or the token's user%s cannot see it — check the path, or give the user access to the project",
				q.Repository, ep.APIHost, userSuffix(q.Username))
		}
		return vcs.Repo{}, explain(ctx, ep.APIHost, "projects/:id", e)
	}
	if p == nil || p.ID == 0 {
		return vcs.Repo{}, notGitLab(ep.APIHost, "projects/:id answered without a project id")
	}
	if err := checkMember(ctx, client, ep.APIHost, p, q); err != nil {
		return vcs.Repo{}, err
	}
	b, resp, err := client.Branches.GetBranch(p.ID, q.Branch, gl.WithContext(ctx))
	if err != nil {
		e := classify(resp, err)
		if e.Kind == vcs.KindNotFound {
			return vcs.Repo{}, wrapField("branch", e, "branch %q does not exist in %s%s — push it first or pick an existing branch",
				q.Branch, p.PathWithNamespace, defaultBranchHint(p.DefaultBranch))
		}
		return vcs.Repo{}, explain(ctx, ep.APIHost, "projects/:id/repository/branches/:branch", e)
	}
	out := vcs.Repo{ProjectID: p.ID, Path: p.PathWithNamespace}
	if b != nil && b.Commit != nil {
		out.BranchSHA = b.Commit.ID
	}
	return out, nil
}

// checkMember refuses a token whose user is not at least Maintainer on p.
func checkMember(ctx context.Context, client *gl.Client, apiHost string, p *gl.Project, q vcs.RepoQuery) error {
	if q.UserID == 0 {
		return apperr.InvalidField("integration", "the integration does not know its token's user; run `hoist integration gitlab test` on it first")
	}
	m, resp, err := client.ProjectMembers.GetInheritedProjectMember(p.ID, q.UserID, gl.WithContext(ctx))
	level := gl.NoPermissions
	switch {
	case err != nil:
		if e := classify(resp, err); e.Kind != vcs.KindNotFound {
			return explain(ctx, apiHost, "projects/:id/members/all/:user_id", e)
		}
	case m != nil:
		level = m.AccessLevel
	}
	if level >= MinAccessLevel {
		return nil
	}
	who := "the token's user" + userSuffix(q.Username)
	have := "is not a member of " + p.PathWithNamespace
	if level > gl.NoPermissions {
		have = fmt.Sprintf("has %s access to %s", levelName(level), p.PathWithNamespace)
	}
	return apperr.InvalidField("repository", "%s %s; Hoist needs at least Maintainer (40) to write commit statuses and deployments — "+
		"make the user a Maintainer of the project or its group, or use an integration whose token has that access", who, have)
}

func userSuffix(username string) string {
	if username == "" {
		return ""
	}
	return " " + username
}

func defaultBranchHint(def string) string {
	if def == "" {
		return ""
	}
	return " (its default branch is " + def + ")"
}

// levelName names a GitLab access level as GitLab's UI does.
func levelName(l gl.AccessLevelValue) string {
	names := map[gl.AccessLevelValue]string{
		gl.MinimalAccessPermissions: "Minimal Access", gl.GuestPermissions: "Guest", gl.PlannerPermissions: "Planner",
		gl.ReporterPermissions: "Reporter", gl.DeveloperPermissions: "Developer", gl.MaintainerPermissions: "Maintainer",
		gl.OwnerPermissions: "Owner",
	}
	if n, ok := names[l]; ok {
		return fmt.Sprintf("%s (%d)", n, l)
	}
	return fmt.Sprintf("level %d", l)
}
