package feedback_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

const agentPool = "lab"

// agentRoute is a VCS agent registry for pool "lab" behind a real HTTP
// server, the agents a test starts, and clients that reach GitLab only
// through them.
type agentRoute struct {
	e         *env
	serverURL string
	poolToken string
	reg       *tunnel.Registry
	gitlab    *gitlab.Client
}

// throughAgents makes the test integration private by its user-facing host
// alone (SPEC §2.1) and returns the route its writes must take.
func (e *env) throughAgents() *agentRoute {
	e.t.Helper()
	it, err := e.store.GetIntegration(e.ctx, integ)
	if err != nil {
		e.t.Fatal(err)
	}
	it.UserFacingHost, it.UpdatedAt = "private://"+agentPool, time.Now().UTC()
	if err := e.store.UpdateIntegration(e.ctx, it, audit.Entry{At: it.UpdatedAt, Actor: "test", Action: "integration.update",
		ResourceType: "integration", ResourceID: integ}); err != nil {
		e.t.Fatal(err)
	}
	a := &agentRoute{e: e, poolToken: vcsagent.NewToken(agentPool), reg: tunnel.NewRegistry(nil, nil)}
	e.t.Cleanup(a.reg.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !secret.CheckAPIKey(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), secret.HashAPIKey(a.poolToken)) {
			http.Error(w, "invalid VCS agent pool token", http.StatusUnauthorized)
			return
		}
		if err := a.reg.Serve(w, r, tunnel.Conn{Pool: agentPool, TokenHash: secret.HashAPIKey(a.poolToken)}); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	e.t.Cleanup(srv.Close)
	a.serverURL = srv.URL
	// No direct route at all: only the agents' round tripper reaches GitLab.
	a.gitlab = gitlab.New(nil, nil, gitlab.WithAgents(a.reg.RoundTripper))
	return a
}

// startAgent runs an agent forwarding to the simulator, allowing projects
// that match allowed, until the test ends.
func (a *agentRoute) startAgent(allowed string) {
	a.e.t.Helper()
	simURL := a.e.sim.URL()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = agent.Run(ctx, agent.Config{ServerURL: a.serverURL, PoolToken: a.poolToken, TargetBaseEndpoint: simURL,
			Vendor: "gitlab", AllowedProjects: allowed, Parallelism: 1, Name: "test-agent",
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	a.e.t.Cleanup(func() { cancel(); <-done })
	apptest.Eventually(a.e.t, 10*time.Second, "the agent to connect", func() bool { return len(a.reg.Connected(agentPool)) == 1 })
}

// TestAgentRefusalIsFinal: a write the agent refuses (its project is
// outside --allowed-projects) fails at once with the agent's reason; it is
// not retried for a day, since only the agent's operator can change that.
func TestAgentRefusalIsFinal(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	route := e.throughAgents()
	route.startAgent("^other/")
	e.start(e.store, feedback.DispatcherConfig{GitLab: route.gitlab})
	sha := e.push("feature", "# v2\n")
	r := newRun("app", run.Proposed, sha, "feature", 0)
	e.move(r, "", run.Queued)
	ws := e.settle(r.ID)
	if len(ws) != 1 || ws[0].State != feedback.StateFailed || ws[0].Attempts != 1 ||
		!strings.Contains(ws[0].LastError, "vcs agent refused: project acme/infra is outside --allowed-projects ^other/") {
		t.Fatalf("writes %+v, want one failed after one attempt with the agent's refusal", ws)
	}
	if sts := e.statuses(sha); len(sts) != 0 {
		t.Errorf("statuses %+v landed through a refusing agent", sts)
	}
}

// TestWritesLandSoonAfterAnAgentConnects: with no agent connected a write
// keeps failing with "no VCS agent", but retries at the short no-agent cap
// rather than the growing exponential wait (here a minute and more), so it
// lands within moments of an agent connecting.
func TestWritesLandSoonAfterAnAgentConnects(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	route := e.throughAgents()
	e.start(e.store, feedback.DispatcherConfig{GitLab: route.gitlab,
		Backoff: feedback.Backoff{Base: time.Minute, Max: time.Hour, Cap: time.Hour, NoAgent: 100 * time.Millisecond}})
	sha := e.push("feature", "# v2\n")
	r := newRun("app", run.Proposed, sha, "feature", 0)
	e.move(r, "", run.Queued)
	apptest.Eventually(t, 10*time.Second, "a write retried while no agent is connected", func() bool {
		ws, err := e.store.ListWrites(e.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ws) == 1 && ws[0].State == feedback.StateRetrying && ws[0].Attempts >= 2 &&
			strings.Contains(ws[0].LastError, `no VCS agent of pool "lab" is connected`)
	})
	route.startAgent("^acme/")
	connected := time.Now()
	wantLanded(t, e.settleWithin(r.ID, 10*time.Second))
	if got := current(t, e.statuses(sha), "hoist/app"); got.State != "pending" {
		t.Errorf("status %+v, want pending", got)
	}
	t.Logf("landed %s after the agent connected", time.Since(connected).Round(time.Millisecond))
}
