package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// TestReplicasShareVCSAgents is issue 16's "a VCS agent connected to
// replica A carries GitLab calls that replica B needs": neither server may
// dial the simulator, the agent is connected to A only, and B's token
// check and stack checks go through it by the relay. Without any agent
// both say so; once the agent connects to B instead, A goes through B.
func TestReplicasShareVCSAgents(t *testing.T) {
	t.Parallel()
	block, blockSim := simBlocker(t)
	servers := replicas(t, block, block)
	a, b := servers[0], servers[1]
	blockSim(a.SimURL)
	var err error
	ctx := t.Context()
	if a.SimUser, err = a.Sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
		t.Fatal(err)
	}
	b.SimUser = a.SimUser
	for _, p := range []string{"acme/app", "secret/vault"} {
		if _, err := a.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: p, Files: map[string]string{"main.tf": "# x\n"}}); err != nil {
			t.Fatal(err)
		}
		if err := a.Sim.AddMember(ctx, gitlabsim.MemberOptions{Project: p, UserID: a.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
			t.Fatal(err)
		}
	}
	var pool struct{ ID, Token string }
	a.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", a.AdminKey, map[string]any{"name": "Lab"}).Decode(t, &pool)

	// The agent on A; B lists it, and B's GitLab calls go through it.
	stopA := a.startAgent("agent-on-a", pool.Token, "^acme/")
	b.waitAgents(1)
	var it struct {
		TokenUser string `json:"token_user"`
		Warnings  []string
	}
	b.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", b.AdminKey, map[string]any{"name": "Lab GitLab", "is_default": true,
		"api_host": "private://lab", "token": b.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})}).Decode(t, &it)
	if it.TokenUser != "hoist-bot" || len(it.Warnings) != 0 {
		t.Fatalf("integration created on B with the agent on A: %+v (the token check must be relayed)", it)
	}
	testOK := func(h *harness) {
		t.Helper()
		var tr struct {
			OK        bool   `json:"ok"`
			TokenUser string `json:"token_user"`
		}
		h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/lab-gitlab/test", h.AdminKey, nil).Decode(t, &tr)
		if !tr.OK || tr.TokenUser != "hoist-bot" {
			t.Errorf("test on %s: %+v", h.URL, tr)
		}
	}
	testOK(b)
	b.Must(http.StatusCreated, "POST", "/api/v1/stacks", b.AdminKey, map[string]any{"name": "app", "space": "root",
		"repository": "acme/app", "branch": "main"})
	r := b.Must(http.StatusBadRequest, "POST", "/api/v1/stacks", b.AdminKey, map[string]any{"name": "vault", "space": "root",
		"repository": "secret/vault", "branch": "main"})
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "vcs agent refused: project secret/vault is outside --allowed-projects ^acme/") {
		t.Errorf("a refusal relayed from A's agent: %s", r.Body)
	}

	// The relay endpoint takes nothing without the relay key.
	before := a.Sim.CallCount("/api/v4/user")
	for _, key := range []string{"", "wrong", tunnel.RelayKey([]byte("another installation's key"))} {
		req, err := http.NewRequestWithContext(ctx, "GET", a.URL+tunnel.RelayPath+"lab/api/v4/user", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Private-Token", "anything")
		if key != "" {
			req.Header.Set(tunnel.HeaderRelayKey, key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get(tunnel.HeaderRelayResult) != "" {
			t.Errorf("relay with key %q: %d %v, want 401 and no relay result", key, resp.StatusCode, resp.Header)
		}
	}
	if n := a.Sim.CallCount("/api/v4/user"); n != before {
		t.Errorf("a relay request without the key reached GitLab (%d calls, %d before)", n, before)
	}

	// No agent anywhere: both servers say so.
	stopA()
	b.waitAgents(0)
	for _, h := range []*harness{a, b} {
		r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab/lab-gitlab/test", h.AdminKey, nil)
		if _, msg, _ := r.APIError(t); !strings.Contains(msg, `no VCS agent of pool "lab" is connected`) {
			t.Errorf("test on %s without agent: %s", h.URL, r.Body)
		}
	}

	// The agent comes back on B: A goes through it.
	b.startAgent("agent-on-b", pool.Token, "^acme/")
	a.waitAgents(1)
	testOK(a)
	testOK(b)
	if !strings.Contains(a.Logs.String(), "vcs agent connected") || !strings.Contains(b.Logs.String(), "vcs agent connected") {
		t.Error("each server should have held the agent once")
	}

	// B stops cleanly: A forgets its agent at once, not after the presence
	// lifetime (30 s).
	if err := b.App.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, "A to forget the agent of B, which shut down", func() error {
		var p struct {
			ConnectedAgents int `json:"connected_agents"`
		}
		a.Must(http.StatusOK, "GET", "/api/v1/vcs-agent-pools/lab", a.AdminKey, nil).Decode(t, &p)
		if p.ConnectedAgents != 0 {
			return fmt.Errorf("it shows %d", p.ConnectedAgents)
		}
		return nil
	})
}
