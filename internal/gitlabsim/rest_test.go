package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

func TestTokenAndUserIntrospection(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	exp := time.Now().AddDate(0, 0, 20).UTC().Truncate(24 * time.Hour)
	tok, err := f.sim.CreateToken(ctx, TokenOptions{UserID: f.user.ID, Name: "ci", Scopes: []string{"api", "read_repository"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, f.url, tok.Value)
	pat, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	if pat.Name != "ci" || !slices.Equal(pat.Scopes, []string{"api", "read_repository"}) || pat.UserID != int64(f.user.ID) || !pat.Active || pat.Revoked {
		t.Errorf("token self = %+v", pat)
	}
	if pat.ExpiresAt == nil || time.Time(*pat.ExpiresAt).Format("2006-01-02") != exp.Format("2006-01-02") {
		t.Errorf("expires_at = %v, want %s", pat.ExpiresAt, exp.Format("2006-01-02"))
	}
	u, _, err := c.Users.CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.ID != int64(f.user.ID) || u.Bot {
		t.Errorf("current user = %+v", u)
	}

	// A project access token acts as a bot user that is a project member.
	ptok, err := f.sim.CreateToken(ctx, TokenOptions{Kind: TokenProject, Project: f.project.PathWithNamespace, Scopes: []string{"api"}, AccessLevel: Maintainer})
	if err != nil {
		t.Fatal(err)
	}
	bot, _, err := newClient(t, f.url, ptok.Value).Users.CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	if !bot.Bot {
		t.Errorf("project token user is not a bot: %+v", bot)
	}
	m, _, err := f.client.ProjectMembers.GetInheritedProjectMember(f.project.ID, bot.ID)
	if err != nil || m.AccessLevel != gitlab.MaintainerPermissions {
		t.Errorf("bot membership = %+v, %v", m, err)
	}
}

func TestProjectsAndMembers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, pid := range []any{f.project.ID, "acme/infra/app"} {
		p, _, err := f.client.Projects.GetProject(pid, nil)
		if err != nil {
			t.Fatalf("get project %v: %v", pid, err)
		}
		if p.PathWithNamespace != "acme/infra/app" || p.DefaultBranch != "main" || p.Namespace.FullPath != "acme/infra" ||
			p.HTTPURLToRepo != f.url+"/acme/infra/app.git" || p.WebURL != f.url+"/acme/infra/app" {
			t.Errorf("project = %+v", p)
		}
	}
	_, resp, err := f.client.Projects.GetProject("acme/nope", nil)
	if !errors.Is(err, gitlab.ErrNotFound) || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown project: %v", err)
	}
	// The client folds 404s into ErrNotFound; check GitLab's body directly.
	if body := rawGet(t, f.url+"/api/v4/projects/acme%2Fnope", f.token); body != `{"message":"404 Project Not Found"}` {
		t.Errorf("unknown project body = %s", body)
	}

	// Group membership is inherited; the plain member endpoint is absent,
	// the effective one answers.
	bob, _ := addUser(t, f.sim, "bob", 0, "", "api")
	if err := f.sim.AddMember(ctx, MemberOptions{Group: "acme", UserID: bob.ID, AccessLevel: Developer}); err != nil {
		t.Fatal(err)
	}
	m, _, err := f.client.ProjectMembers.GetInheritedProjectMember("acme/infra/app", int64(bob.ID))
	if err != nil || m.AccessLevel != gitlab.DeveloperPermissions || m.Username != "bob" {
		t.Fatalf("inherited member = %+v, %v", m, err)
	}
	carol, _ := addUser(t, f.sim, "carol", 0, "", "api")
	if _, _, err := f.client.ProjectMembers.GetInheritedProjectMember(f.project.ID, int64(carol.ID)); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("non-member: %v", err)
	}
	// A private project is invisible (404) to non-members.
	if _, _, err := newClient(t, f.url, mustToken(t, f.sim, carol.ID)).Projects.GetProject(f.project.ID, nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("private project for non-member: %v", err)
	}
}

func mustToken(t *testing.T, sim *Server, userID int, scopes ...string) string {
	t.Helper()
	tok, err := sim.CreateToken(context.Background(), TokenOptions{UserID: userID, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

func TestBranchesCommitsCompare(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.PathWithNamespace
	res := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "feature/x", Commits: []CommitSpec{
		{Message: "add a", Actions: []FileAction{{Action: "create", Path: "a.tf", Content: "a\n"}}},
		{Message: "move and change", Actions: []FileAction{{Action: "move", Path: "docs/README.md", PreviousPath: "README.md"}, {Action: "update", Path: "main.tf", Content: "# changed\n"}}},
	}})
	b, _, err := f.client.Branches.GetBranch(pid, "feature/x")
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "feature/x" || b.Commit.ID != res.After || b.Commit.Title != "move and change" {
		t.Errorf("branch = %+v commit %+v", b, b.Commit)
	}
	if _, _, err := f.client.Branches.GetBranch(pid, "nope"); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("missing branch: %v", err)
	}
	branches, _, err := f.client.Branches.ListBranches(pid, nil)
	if err != nil || len(branches) != 2 {
		t.Fatalf("branches = %v, %v", branches, err)
	}
	c, _, err := f.client.Commits.GetCommit(pid, res.Commits[0], nil)
	if err != nil || c.ID != res.Commits[0] || c.Title != "add a" || len(c.ParentIDs) != 1 {
		t.Fatalf("commit = %+v, %v", c, err)
	}
	if _, _, err := f.client.Commits.GetCommit(pid, "0123456789012345678901234567890123456789", nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("missing commit: %v", err)
	}
	cmp, _, err := f.client.Repositories.Compare(pid, &gitlab.CompareOptions{From: gitlab.Ptr("main"), To: gitlab.Ptr(res.After)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Commits) != 2 || cmp.Commits[0].ID != res.Commits[0] || cmp.Commit.ID != res.After {
		t.Errorf("compare commits = %+v", cmp.Commits)
	}
	paths := map[string]string{}
	for _, d := range cmp.Diffs {
		switch {
		case d.RenamedFile:
			paths[d.OldPath+"->"+d.NewPath] = "renamed"
		case d.NewFile:
			paths[d.NewPath] = "new"
		default:
			paths[d.NewPath] = "changed"
		}
	}
	want := map[string]string{"a.tf": "new", "README.md->docs/README.md": "renamed", "main.tf": "changed"}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("compare diffs = %v, want %v", paths, want)
	}
}

func TestMergeRequestDiffsPaginate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.PathWithNamespace
	actions := make([]FileAction, 250)
	for i := range actions {
		actions[i] = FileAction{Action: "create", Path: fmt.Sprintf("stacks/s%03d/main.tf", i), Content: fmt.Sprintf("# %d\n", i)}
	}
	mustPush(t, f.sim, PushOptions{Project: pid, Branch: "big", Commits: []CommitSpec{{Message: "many", Actions: actions}}})
	mr, err := f.sim.CreateMergeRequest(context.Background(), MROptions{Project: pid, SourceBranch: "big", Title: "Big"})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := f.client.MergeRequests.GetMergeRequest(pid, int64(mr.IID), nil)
	if err != nil || got.IID != int64(mr.IID) || got.SHA != mr.HeadSHA || got.State != "opened" || got.DiffRefs.HeadSha != mr.HeadSHA {
		t.Fatalf("mr = %+v, %v", got, err)
	}
	diffs, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.MergeRequestDiff, *gitlab.Response, error) {
		return f.client.MergeRequests.ListMergeRequestDiffs(pid, int64(mr.IID), &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 250 {
		t.Fatalf("got %d diffs, want 250", len(diffs))
	}
	seen := map[string]bool{}
	for _, d := range diffs {
		seen[d.NewPath] = true
	}
	if len(seen) != 250 {
		t.Errorf("distinct paths = %d", len(seen))
	}
	// Headers of a middle page, and the NextPage loop the old way.
	_, resp, err := f.client.MergeRequests.ListMergeRequestDiffs(pid, int64(mr.IID), &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{Page: 2, PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.CurrentPage != 2 || resp.NextPage != 3 || resp.PreviousPage != 1 || resp.TotalItems != 250 || resp.TotalPages != 3 || resp.ItemsPerPage != 100 {
		t.Errorf("pagination = %+v", resp)
	}
	if resp.Header.Get("Link") == "" {
		t.Error("no Link header")
	}
	_, resp, err = f.client.MergeRequests.ListMergeRequestDiffs(pid, int64(mr.IID), &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{Page: 3, PerPage: 100}})
	if err != nil || resp.NextPage != 0 || resp.Header.Get("X-Next-Page") != "" {
		t.Errorf("last page next = %d (%v)", resp.NextPage, err)
	}
	if _, _, err := f.client.MergeRequests.GetMergeRequest(pid, 99, nil); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("missing MR: %v", err)
	}
}

func TestMergeRequestNotes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.ID
	mustPush(t, f.sim, PushOptions{Project: f.project.PathWithNamespace, Branch: "b", Commits: commits("n", 1)})
	mr, err := f.sim.CreateMergeRequest(context.Background(), MROptions{Project: f.project.PathWithNamespace, SourceBranch: "b", Title: "T"})
	if err != nil {
		t.Fatal(err)
	}
	iid := int64(mr.IID)
	n, resp, err := f.client.Notes.CreateMergeRequestNote(pid, iid, &gitlab.CreateMergeRequestNoteOptions{Body: gitlab.Ptr("plan: +1")})
	if err != nil || resp.StatusCode != http.StatusCreated || n.Body != "plan: +1" || n.Author.Username != "alice" {
		t.Fatalf("create note = %+v, %v", n, err)
	}
	n2, _, err := f.client.Notes.UpdateMergeRequestNote(pid, iid, n.ID, &gitlab.UpdateMergeRequestNoteOptions{Body: gitlab.Ptr("plan: +2")})
	if err != nil || n2.Body != "plan: +2" || n2.ID != n.ID {
		t.Fatalf("update note = %+v, %v", n2, err)
	}
	g, _, err := f.client.Notes.GetMergeRequestNote(pid, iid, n.ID)
	if err != nil || g.Body != "plan: +2" {
		t.Fatalf("get note = %+v, %v", g, err)
	}
	for i := range 3 {
		if _, _, err := f.client.Notes.CreateMergeRequestNote(pid, iid, &gitlab.CreateMergeRequestNoteOptions{Body: gitlab.Ptr(fmt.Sprint("more ", i))}); err != nil {
			t.Fatal(err)
		}
	}
	list, resp, err := f.client.Notes.ListMergeRequestNotes(pid, iid, &gitlab.ListMergeRequestNotesOptions{ListOptions: gitlab.ListOptions{PerPage: 2}, Sort: gitlab.Ptr("asc")})
	if err != nil || len(list) != 2 || list[0].ID != n.ID || resp.TotalItems != 4 {
		t.Fatalf("list notes = %v (total %d), %v", list, resp.TotalItems, err)
	}
	if notes, err := f.sim.Notes(f.project.PathWithNamespace, mr.IID); err != nil || len(notes) != 4 || notes[0].Body != "plan: +2" {
		t.Errorf("recorded notes = %+v, %v", notes, err)
	}
	if _, err := f.client.Notes.DeleteMergeRequestNote(pid, iid, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.client.Notes.UpdateMergeRequestNote(pid, iid, n.ID, &gitlab.UpdateMergeRequestNoteOptions{Body: gitlab.Ptr("x")}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("update deleted note: %v", err)
	}
}

func TestEnvironmentsAndDeployments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.PathWithNamespace
	env, resp, err := f.client.Environments.CreateEnvironment(pid, &gitlab.CreateEnvironmentOptions{Name: gitlab.Ptr("prod-stack"), ExternalURL: gitlab.Ptr("https://example.com")})
	if err != nil || resp.StatusCode != http.StatusCreated || env.Name != "prod-stack" || env.State != "available" || env.Tier != "production" {
		t.Fatalf("create env = %+v, %v", env, err)
	}
	if _, _, err := f.client.Environments.CreateEnvironment(pid, &gitlab.CreateEnvironmentOptions{Name: gitlab.Ptr("prod-stack")}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("duplicate env: %v", err)
	}
	got, _, err := f.client.Environments.GetEnvironment(pid, env.ID)
	if err != nil || got.ID != env.ID {
		t.Fatalf("get env = %+v, %v", got, err)
	}
	envs, _, err := f.client.Environments.ListEnvironments(pid, &gitlab.ListEnvironmentsOptions{Name: gitlab.Ptr("prod-stack")})
	if err != nil || len(envs) != 1 {
		t.Fatalf("list envs = %v, %v", envs, err)
	}
	head, err := f.sim.ResolveRef(context.Background(), pid, "main")
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := f.client.Deployments.CreateProjectDeployment(pid, &gitlab.CreateProjectDeploymentOptions{
		Environment: gitlab.Ptr("other-stack"), Ref: gitlab.Ptr("main"), SHA: gitlab.Ptr(head), Tag: gitlab.Ptr(false),
		Status: gitlab.Ptr(gitlab.DeploymentStatusRunning)})
	if err != nil || d.Status != "running" || d.Environment.Name != "other-stack" || d.SHA != head {
		t.Fatalf("create deployment = %+v, %v", d, err)
	}
	d2, _, err := f.client.Deployments.UpdateProjectDeployment(pid, d.ID, &gitlab.UpdateProjectDeploymentOptions{Status: gitlab.Ptr(gitlab.DeploymentStatusSuccess)})
	if err != nil || d2.Status != "success" {
		t.Fatalf("update deployment = %+v, %v", d2, err)
	}
	if _, _, err := f.client.Deployments.UpdateProjectDeployment(pid, d.ID, &gitlab.UpdateProjectDeploymentOptions{Status: gitlab.Ptr(gitlab.DeploymentStatusRunning)}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("finished deployment back to running: %v", err)
	}
	g, _, err := f.client.Deployments.GetProjectDeployment(pid, d.ID)
	if err != nil || g.Status != "success" {
		t.Fatalf("get deployment = %+v, %v", g, err)
	}
	if recorded, err := f.sim.Deployments(pid); err != nil || len(recorded) != 1 || recorded[0].Status != "success" {
		t.Errorf("recorded deployments = %+v, %v", recorded, err)
	}
	if envs, err := f.sim.Environments(pid); err != nil || len(envs) != 2 {
		t.Errorf("recorded environments = %+v, %v", envs, err)
	}
	list, _, err := f.client.Deployments.ListProjectDeployments(pid, &gitlab.ListProjectDeploymentsOptions{Environment: gitlab.Ptr("other-stack")})
	if err != nil || len(list) != 1 {
		t.Fatalf("list deployments = %v, %v", list, err)
	}
}

func TestProjectHooksAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.ID
	h, resp, err := f.client.Projects.AddProjectHook(pid, &gitlab.AddProjectHookOptions{URL: gitlab.Ptr("https://hoist.example/webhooks/gitlab/x"),
		Token: gitlab.Ptr("s3cret"), PushEvents: gitlab.Ptr(true), TagPushEvents: gitlab.Ptr(true), MergeRequestsEvents: gitlab.Ptr(true),
		EnableSSLVerification: gitlab.Ptr(true)})
	if err != nil || resp.StatusCode != http.StatusCreated || !h.MergeRequestsEvents || !h.TagPushEvents || !h.EnableSSLVerification {
		t.Fatalf("add hook = %+v, %v", h, err)
	}
	hooks, _, err := f.client.Projects.ListProjectHooks(pid, nil)
	if err != nil || len(hooks) != 1 || hooks[0].URL != "https://hoist.example/webhooks/gitlab/x" {
		t.Fatalf("list hooks = %v, %v", hooks, err)
	}
	if g, _, err := f.client.Projects.GetProjectHook(pid, h.ID); err != nil || g.ID != h.ID {
		t.Fatalf("get hook = %+v, %v", g, err)
	}
	// Hooks need Maintainer: a Developer gets 403.
	_, devToken := addUser(t, f.sim, "dev", Developer, f.project.PathWithNamespace, "api")
	if _, _, err := newClient(t, f.url, devToken).Projects.ListProjectHooks(pid, nil); statusOf(err) != http.StatusForbidden {
		t.Errorf("developer lists hooks: %v", err)
	}
	if _, err := f.client.Projects.DeleteProjectHook(pid, h.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.client.Projects.GetProjectHook(pid, h.ID); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("deleted hook: %v", err)
	}
}
