package agent_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

func TestForwardsAllowListedCalls(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.startAgent(t, "a1", "^infra/")
	e.waitAgents(t, 1, 4)
	c := e.gitlab(t)
	ctx := context.Background()

	user, _, err := c.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil || user.Username != "hoist-bot" {
		t.Fatalf("GET /user through the agent = %+v, %v", user, err)
	}
	if _, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx)); err != nil {
		t.Fatalf("GET /personal_access_tokens/self: %v", err)
	}
	p, _, err := c.Projects.GetProject("infra/net", nil, gl.WithContext(ctx))
	if err != nil || p.PathWithNamespace != "infra/net" {
		t.Fatalf("GET project by path = %+v, %v", p, err)
	}
	// A numeric id is resolved to its path before the project check.
	byID, _, err := c.Projects.GetProject(p.ID, nil, gl.WithContext(ctx))
	if err != nil || byID.ID != p.ID {
		t.Fatalf("GET project by id = %+v, %v", byID, err)
	}
	if _, _, err := c.Branches.GetBranch(p.ID, "main", gl.WithContext(ctx)); err != nil {
		t.Fatalf("GET branch: %v", err)
	}
	if _, _, err := c.ProjectMembers.GetInheritedProjectMember(p.ID, user.ID, gl.WithContext(ctx)); err != nil {
		t.Fatalf("GET member: %v", err)
	}
	// The archive comes back byte for byte as GitLab serves it.
	viaAgent, _, err := c.Repositories.Archive("infra/net", &gl.ArchiveOptions{Format: gl.Ptr("tar.gz"), SHA: gl.Ptr("main")}, gl.WithContext(ctx))
	if err != nil {
		t.Fatalf("archive through the agent: %v", err)
	}
	direct := e.directGet(t, "/api/v4/projects/infra%2Fnet/repository/archive.tar.gz?sha=main")
	if len(viaAgent) == 0 || string(viaAgent) != string(direct) {
		t.Errorf("archive through the agent: %d bytes, direct: %d bytes", len(viaAgent), len(direct))
	}
	// A write: the commit status lands in GitLab.
	br, _, err := c.Branches.GetBranch(p.ID, "main")
	if err != nil {
		t.Fatal(err)
	}
	sha := br.Commit.ID
	if _, _, err := c.Commits.SetCommitStatus(p.ID, sha, &gl.SetCommitStatusOptions{State: gl.Pending, Name: gl.Ptr("hoist/stack")}, gl.WithContext(ctx)); err != nil {
		t.Fatalf("POST status: %v", err)
	}
	if got, err := e.sim.CommitStatuses("infra/net", sha); err != nil || len(got) != 1 {
		t.Errorf("statuses in GitLab = %+v, %v", got, err)
	}

	logs := e.logs.String()
	for _, want := range []string{"msg=forwarded", "method=GET", "path=/api/v4/user", "status=200", "duration=", "path=/api/v4/projects/infra%2Fnet/repository/archive.tar.gz"} {
		if !strings.Contains(logs, want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{e.glToken, e.token(), "sha=main"} {
		if strings.Contains(logs, secret) {
			t.Errorf("agent log contains %q", secret)
		}
	}
	if infos := e.reg.Connected(pool); len(infos) != 1 || infos[0].Name != "a1" || infos[0].Busy != 0 {
		t.Errorf("registry after the calls = %+v", infos)
	}
}

// directGet reads a GitLab path without the agent (the test may; Hoist may
// not).
func (e *env) directGet(t *testing.T, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.simURL+path, nil)
	req.Header.Set("PRIVATE-TOKEN", e.glToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("direct GET %s: %d, %v", path, resp.StatusCode, err)
	}
	return b
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.startAgent(t, "a1", "^infra/")
	e.waitAgents(t, 1, 4)
	c := e.gitlab(t)
	ctx := context.Background()
	other, err := e.sim.Project("other/app")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = c.Projects.GetProject("other/app", nil, gl.WithContext(ctx))
	wantRefused(t, err, "vcs agent refused: project other/app is outside --allowed-projects ^infra/")
	// The numeric id of the same project is resolved and refused too.
	_, _, err = c.Commits.SetCommitStatus(other.ID, "abc", &gl.SetCommitStatusOptions{State: gl.Success}, gl.WithContext(ctx))
	wantRefused(t, err, "project other/app is outside --allowed-projects")
	// Paths and methods outside the allow-list.
	_, _, err = c.ProjectVariables.ListVariables("infra/net", nil, gl.WithContext(ctx))
	wantRefused(t, err, "/api/v4/projects/infra%2Fnet/variables is not on the agent's allow-list")
	_, err = c.Projects.DeleteProject("infra/net", nil, gl.WithContext(ctx))
	wantRefused(t, err, "DELETE /api/v4/projects/infra%2Fnet is not on the agent's allow-list")
	_, _, err = c.Users.ListUsers(nil, gl.WithContext(ctx))
	wantRefused(t, err, "not on the agent's allow-list")
	// A drift issue is looked for, opened and edited through the agent;
	// reading one issue is not what Hoist does.
	is, _, err := c.Issues.CreateIssue("infra/net", &gl.CreateIssueOptions{Title: gl.Ptr("Drift: stack net")}, gl.WithContext(ctx))
	if err != nil {
		t.Fatalf("drift issue through the agent: %v", err)
	}
	if _, _, err := c.Issues.UpdateIssue("infra/net", is.IID, &gl.UpdateIssueOptions{StateEvent: gl.Ptr("close")}, gl.WithContext(ctx)); err != nil {
		t.Fatalf("closing the drift issue through the agent: %v", err)
	}
	if list, _, err := c.Issues.ListProjectIssues("infra/net", &gl.ListProjectIssuesOptions{State: gl.Ptr("opened"),
		Search: gl.Ptr("net")}, gl.WithContext(ctx)); err != nil || len(list) != 0 {
		t.Fatalf("looking for an open drift issue through the agent: %v, %d issues (want none: it was closed)", err, len(list))
	}
	_, _, err = c.Issues.GetIssue("infra/net", is.IID, nil, gl.WithContext(ctx))
	wantRefused(t, err, "is not on the agent's allow-list")

	// A path that climbs out of the API is refused before any call.
	resp, err := (&http.Client{Transport: e.reg.RoundTripper(pool)}).Get("http://private.lab/api/v4/projects/infra%2Fnet/repository/branches/..%2F..%2Fadmin")
	if err == nil {
		resp.Body.Close()
	}
	wantRefused(t, err, "not on the agent's allow-list")
	if n := e.sim.CallCount("/api/v4/projects/other*/**"); n != 0 {
		t.Errorf("the simulator saw %d calls for the refused project", n)
	}
	if !strings.Contains(e.logs.String(), "msg=refused") {
		t.Error("refusals are not logged")
	}
	// The stream stays usable after refusals.
	if _, _, err := c.Users.CurrentUser(gl.WithContext(ctx)); err != nil {
		t.Errorf("call after refusals: %v", err)
	}
}

func TestNoAgentFailsFast(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, _, err := e.gitlab(t).Users.CurrentUser()
	if !errors.Is(err, vcsagent.ErrNoAgent) || !strings.Contains(err.Error(), `no VCS agent of pool "lab" is connected`) {
		t.Fatalf("err = %v, want no agent", err)
	}
}

func TestWrongTokenCannotConnect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.startAgentWith(t, agent.Config{Name: "bad", PoolToken: vcsagent.NewToken(pool)})
	if err := wait(t, a); !errors.Is(err, tunnel.ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized", err)
	}
	if n := len(e.reg.Connected(pool)); n != 0 {
		t.Errorf("%d agents connected with a wrong token", n)
	}
}

// TestRecheckClosesRotatedStreams: a token rotated on another server is
// found at this server's next re-check; the stream leaves the pool before
// it closes, so the pool is empty once the agent's reconnection with the
// old token is refused.
func TestRecheckClosesRotatedStreams(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.mu.Lock()
	e.pingEvery = 50 * time.Millisecond
	e.mu.Unlock()
	old := e.startAgent(t, "old", "")
	e.waitAgents(t, 1, 4)
	e.rotateElsewhere()
	if err := wait(t, old); !errors.Is(err, tunnel.ErrUnauthorized) {
		t.Fatalf("agent with the old token: Run = %v, want ErrUnauthorized after reconnecting", err)
	}
	if n := len(e.reg.Connected(pool)); n != 0 {
		t.Errorf("%d agents connected after the old token was refused", n)
	}
}

func TestRotationDisconnectsOldToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	old := e.startAgent(t, "old", "")
	e.waitAgents(t, 1, 4)
	e.rotate()
	// Out of the pool at once, not when the closed streams' handlers
	// have unwound (CI once saw one still listed after the agent's
	// refused reconnection).
	if n := len(e.reg.Connected(pool)); n != 0 {
		t.Errorf("%d agents still connected with the rotated token", n)
	}
	if err := wait(t, old); !errors.Is(err, tunnel.ErrUnauthorized) {
		t.Fatalf("agent with the old token: Run = %v, want ErrUnauthorized after reconnecting", err)
	}
	if n := len(e.reg.Connected(pool)); n != 0 {
		t.Errorf("%d agents connected after the old token was refused", n)
	}
	e.startAgent(t, "new", "")
	e.waitAgents(t, 1, 4)
	if _, _, err := e.gitlab(t).Users.CurrentUser(); err != nil {
		t.Errorf("call through the agent with the new token: %v", err)
	}
}
