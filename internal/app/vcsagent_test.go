package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
)

// privateSetup is a server that cannot dial the simulator directly (the
// test's dial hook refuses its address), with a VCS agent pool "lab";
// tweaks change the config further.
func privateSetup(t *testing.T, withTofu bool, tweaks ...func(*app.Config)) (*harness, string) {
	t.Helper()
	block, blockSim := simBlocker(t)
	tweak := func(c *app.Config) {
		block(c)
		for _, tw := range tweaks {
			tw(c)
		}
	}
	if withTofu {
		tweak = inproc.Runs(t, tweak)
	}
	h := setup(t, tweak)
	blockSim(h.SimURL)
	var pool struct{ ID, Token string }
	h.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", h.AdminKey, map[string]any{"name": "Lab", "description": "the *lab* network"}).Decode(t, &pool)
	if pool.ID != "lab" || !strings.HasPrefix(pool.Token, "hoist_pool_lab_") {
		t.Fatalf("pool = %+v", pool)
	}
	return h, pool.Token
}

// simBlocker is a config tweak whose dial hook refuses the simulator's
// address, from when blockSim is given the simulator's URL on (servers
// start before the test knows it).
func simBlocker(t testing.TB) (tweak func(*app.Config), blockSim func(simURL string)) {
	var simAddr atomic.Pointer[string]
	tweak = func(c *app.Config) {
		c.GitLabDialControl = func(_, address string, _ syscall.RawConn) error {
			if p := simAddr.Load(); p != nil && address == *p {
				return errors.New("direct route to the private GitLab blocked by the test")
			}
			return nil
		}
	}
	return tweak, func(simURL string) {
		t.Helper()
		u, err := url.Parse(simURL)
		if err != nil {
			t.Fatal(err)
		}
		simAddr.Store(&u.Host)
	}
}

// startAgent runs `hoist vcs-agent` in-process against the server and the
// simulator; stop kills it.
func (h *harness) startAgent(name, token, allowed string) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = agent.Run(ctx, agent.Config{ServerURL: h.URL, PoolToken: token, TargetBaseEndpoint: h.SimURL, Vendor: "gitlab",
			AllowedProjects: allowed, Parallelism: 2, Name: name, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(h.Logs, nil)).With("agent", name)})
	}()
	stop = func() {
		cancel()
		<-done
	}
	h.t.Cleanup(stop)
	return stop
}

// waitAgents waits until the pool shows n connected agents.
func (h *harness) waitAgents(n int) {
	h.t.Helper()
	apptest.Eventually(h.t, 10*time.Second, fmt.Sprintf("pool lab to show %d connected agents", n), func() error {
		var p struct {
			ConnectedAgents int `json:"connected_agents"`
		}
		h.Must(http.StatusOK, "GET", "/api/v1/vcs-agent-pools/lab", h.AdminKey, nil).Decode(h.t, &p)
		if p.ConnectedAgents != n {
			return fmt.Errorf("it shows %d", p.ConnectedAgents)
		}
		return nil
	})
}

// TestPrivateGitLabThroughAgents is issue 7's acceptance flow: the
// simulator is reachable only through two agents, and the integration is
// private by its user-facing host alone (SPEC §2.1: either host). The
// integration's token check, the stack's project and branch checks, the
// changed files of a new branch, the source archive of a proposed run and
// its commit statuses all go through them; killing one loses nothing, and
// with none a run and its statuses wait and finish when an agent reconnects.
func TestPrivateGitLabThroughAgents(t *testing.T) {
	t.Parallel()
	h, token := privateSetup(t, true)
	ctx := t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello"), "README.md": "# infra\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	glToken := h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})

	// Direct: refused by the test's dial hook, so Hoist cannot cheat.
	r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab", h.AdminKey, h.integrationBody("Direct", "", glToken))
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "cannot reach") {
		t.Fatalf("direct integration: %s", r.Body)
	}

	stopA := h.startAgent("agent-a", token, "^acme/")
	stopB := h.startAgent("agent-b", token, "^acme/")
	h.waitAgents(2)

	var it api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		map[string]any{"name": "GitLab", "is_default": true, "api_host": h.SimURL, "user_facing_host": "private://lab", "token": glToken}).Decode(t, &it)
	if it.TokenUser != "hoist-bot" || !it.Private || len(it.Warnings) != 0 {
		t.Fatalf("private integration: %+v (the token check must go through the agent)", it)
	}
	if _, err := h.Sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	h.space("Platform", "root")
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "web", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "infra"})

	// A new branch: changed files come from compare, the run's source from
	// the archive, its statuses go back — all through the agents.
	res, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: runsProject, Branch: "feature", StartBranch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "infra/main.tf", Content: infraTF("hi")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	run := h.waitState(h.waitRunAt("web", res.After, "PROPOSED").ID, "FINISHED")
	waitGitLab(t, "the proposed run's success status", func() bool { return statusOf(t, h.Sim, res.After, "hoist/web").State == "success" })
	logs := h.Logs.String()
	for _, path := range []string{"/api/v4/personal_access_tokens/self", "/api/v4/user", "/api/v4/projects/acme%2Finfra",
		"/repository/branches/main", "/repository/compare", "/repository/archive", "/statuses/" + res.After} {
		if !strings.Contains(logs, path) {
			t.Errorf("no agent forwarded %s", path)
		}
	}

	// One agent dies; the next run still gets everything through the other.
	stopA()
	h.waitAgents(1)
	sha := h.push("feature", map[string]string{"infra/main.tf": infraTF("again")})
	h.waitState(h.waitRunAt("web", sha, "PROPOSED").ID, "FINISHED")
	waitGitLab(t, "the status after one agent died", func() bool { return statusOf(t, h.Sim, sha, "hoist/web").State == "success" })

	// No agent at all: the run waits for one (heartbeating past its lease,
	// saying so in its log) and its first status waits in the write-back
	// queue (failing fast with "no VCS agent"); both go on once one connects.
	stopB()
	h.waitAgents(0)
	sha = h.push("feature", map[string]string{"infra/main.tf": infraTF("offline")})
	queued := h.waitRunAt("web", sha, "PROPOSED")
	apptest.Eventually(t, 30*time.Second, "run "+queued.ID+" to show a failed write and a log line waiting for an agent", func() error {
		if log := h.logPage(queued.ID); !h.writeFailedWith(queued.ID, "no VCS agent of pool") || !strings.Contains(log, "waiting for a VCS agent of pool") {
			return errors.New(log)
		}
		return nil
	})
	if st := statusOf(t, h.Sim, sha, "hoist/web"); st.State != "" {
		t.Fatalf("a status landed with no agent connected: %+v", st)
	}
	// Longer than the lease (5 s here): the worker keeps heartbeating.
	for until := time.Now().Add(6 * time.Second); time.Now().Before(until); {
		if r := h.getRun(queued.ID); r.State != "INITIALIZING" {
			t.Fatalf("run waiting for an agent is %s (%s), want INITIALIZING", r.State, r.Error)
		}
		time.Sleep(100 * time.Millisecond) // watching the run for a bounded time
	}
	h.startAgent("agent-c", token, "^acme/")
	h.waitAgents(1)
	h.waitState(queued.ID, "FINISHED")
	waitGitLab(t, "the queued status after an agent reconnected", func() bool {
		return statusOf(t, h.Sim, sha, "hoist/web").State == "success"
	})
	_ = run
}

// logPage is the run's stored log so far (JSON).
func (h *harness) logPage(runID string) string {
	h.t.Helper()
	return string(h.Must(http.StatusOK, "GET", "/api/v1/runs/"+runID+"/logs", h.AdminKey, nil).Body)
}

// writeFailedWith reports whether one of the run's GitLab writes failed
// with a message containing msg.
func (h *harness) writeFailedWith(runID, msg string) bool {
	h.t.Helper()
	var w struct {
		GitLabWrites []struct {
			LastError string `json:"last_error"`
		} `json:"gitlab_writes"`
	}
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+runID, h.AdminKey, nil).Decode(h.t, &w)
	for _, g := range w.GitLabWrites {
		if strings.Contains(g.LastError, msg) {
			return true
		}
	}
	return false
}

// TestPrivateIntegrationWithoutAgent: with no agent connected the token is
// stored unchecked with a warning; `test` says which pool has no agent and
// passes once one connects; refusals by the agent are reported clearly.
func TestPrivateIntegrationWithoutAgent(t *testing.T) {
	t.Parallel()
	h, token := privateSetup(t, false)
	ctx := t.Context()
	for _, p := range []string{"acme/app", "secret/vault"} {
		if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: p, Files: map[string]string{"main.tf": "# x\n"}}); err != nil {
			t.Fatal(err)
		}
		if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Project: p, UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
			t.Fatal(err)
		}
	}
	var it struct {
		TokenUser string `json:"token_user"`
		Warnings  []string
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey, map[string]any{"name": "Lab GitLab", "is_default": true,
		"api_host": "private://lab", "token": h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})}).Decode(t, &it)
	if it.TokenUser != "" || len(it.Warnings) != 1 || !strings.Contains(it.Warnings[0], "no agent of it is connected") {
		t.Fatalf("integration without agent: %+v", it)
	}
	r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab/lab-gitlab/test", h.AdminKey, nil)
	if _, msg, field := r.APIError(t); field != "api_host" || !strings.Contains(msg, `no VCS agent of pool "lab" is connected`) {
		t.Errorf("test without agent: %s", r.Body)
	}

	h.startAgent("only", token, "^acme/")
	h.waitAgents(1)
	var tr struct {
		OK        bool   `json:"ok"`
		TokenUser string `json:"token_user"`
	}
	h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/lab-gitlab/test", h.AdminKey, nil).Decode(t, &tr)
	if !tr.OK || tr.TokenUser != "hoist-bot" {
		t.Errorf("test through the agent: %+v", tr)
	}
	h.space("Platform", "root")
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "app", "space": "platform",
		"repository": "acme/app", "branch": "main"})
	r = h.Must(http.StatusBadRequest, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "vault", "space": "platform",
		"repository": "secret/vault", "branch": "main"})
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "vcs agent refused: project secret/vault is outside --allowed-projects ^acme/") {
		t.Errorf("stack outside --allowed-projects: %s", r.Body)
	}
	if h.Sim.CallCount("/api/v4/projects/secret*/**") != 0 {
		t.Error("the agent let a request for secret/vault through")
	}
}

// TestAgentPoolTokens: pools are for root admins; a wrong token cannot
// connect; rotating disconnects agents on the old token at once.
func TestAgentPoolTokens(t *testing.T) {
	t.Parallel()
	h, token := privateSetup(t, false)
	reader := h.apiKey("reader", "root:read")
	h.Must(http.StatusForbidden, "POST", "/api/v1/vcs-agent-pools", reader, map[string]any{"name": "Mine"})
	h.Must(http.StatusForbidden, "POST", "/api/v1/vcs-agent-pools/lab/rotate-token", reader, nil)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	h.Must(http.StatusOK, "GET", "/api/v1/vcs-agent-pools", reader, nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0]["id"] != "lab" || list.Items[0]["token"] != nil {
		t.Errorf("pools as a reader: %+v", list.Items)
	}

	wrong := h.startAgent("wrong", "hoist_pool_lab_"+strings.Repeat("0", 64), "")
	old := h.startAgent("old", token, "")
	h.waitAgents(1)
	wrong()

	var rotated struct{ Token string }
	h.Must(http.StatusOK, "POST", "/api/v1/vcs-agent-pools/lab/rotate-token", h.AdminKey, nil).Decode(t, &rotated)
	if rotated.Token == "" || rotated.Token == token {
		t.Fatalf("rotated token %q", rotated.Token)
	}
	h.waitAgents(0)
	old()
	h.startAgent("new", rotated.Token, "")
	h.waitAgents(1)

	h.Must(http.StatusNoContent, "DELETE", "/api/v1/vcs-agent-pools/lab", h.AdminKey, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/vcs-agent-pools/lab", h.AdminKey, nil)
	if logs := h.Logs.String(); strings.Contains(logs, token) || strings.Contains(logs, rotated.Token) {
		t.Error("a pool token is in the logs")
	}
}
