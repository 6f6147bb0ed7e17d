package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
)

const poolHookSecret = "pool-hook-secret-0123456789abcdef"

// poolTarget subscribes a webhook target in the root space to the agent
// pool events, at the receiver.
func poolTarget(t *testing.T, h *harness, rcv *hookReceiver) {
	t.Helper()
	h.Must(http.StatusCreated, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Pool hook", "space": "root",
		"kind": "webhook", "url": rcv.URL + "/hook", "secret": poolHookSecret, "events": []string{"agent_pool_empty", "agent_pool_recovered"}})
}

// poolEvents waits until the receiver got n notifications, and checks
// that no more come for settle (every server had several checks).
func poolEvents(t *testing.T, rcv *hookReceiver, n int, settle time.Duration) []map[string]any {
	t.Helper()
	apptest.Eventually(t, 20*time.Second, fmt.Sprintf("%d agent pool notifications", n), func() error {
		if got := len(rcv.received(t, poolHookSecret)); got < n {
			return fmt.Errorf("%d so far", got)
		}
		return nil
	})
	time.Sleep(settle)
	got := rcv.received(t, poolHookSecret)
	if len(got) != n {
		t.Fatalf("got %d notifications, want exactly %d: %v", len(got), n, got)
	}
	return got
}

func poolField(t *testing.T, n map[string]any, path ...string) any {
	t.Helper()
	var v any = n
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v has no %s", n, strings.Join(path, "."))
		}
		v = m[p]
	}
	return v
}

// TestAgentPoolEmptyNotifications: a pool's real agent disconnects and,
// after the grace, the target gets one signed agent_pool_empty naming the
// pool and its last agent; another agent connects and it gets
// agent_pool_recovered. The server's allow-list (127.0.0.1, the
// receiver) refuses a target at localhost with a 400 on url.
func TestAgentPoolEmptyNotifications(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	const grace = 500 * time.Millisecond
	h, token := privateSetup(t, false, func(c *app.Config) {
		c.AgentPoolCheck, c.AgentPoolGrace = 50*time.Millisecond, grace
		c.NotifyAllowHosts = []string{"127.0.0.1"}
	})
	r := h.Must(http.StatusBadRequest, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Local", "space": "root",
		"kind": "webhook", "url": strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1), "secret": poolHookSecret, "events": []string{"agent_pool_empty"}})
	if _, msg, field := r.APIError(t); field != "url" || !strings.Contains(msg, "host localhost is not in the server's allow-list") ||
		!strings.Contains(msg, "--notify-allow-hosts 127.0.0.1") {
		t.Errorf("a target outside the allow-list: %s", r.Body)
	}
	poolTarget(t, h, rcv)

	stop := h.startAgent("agent-a", token, "^acme/")
	h.waitAgents(1)
	time.Sleep(2 * grace) // connected: nothing to say
	if got := rcv.received(t, poolHookSecret); len(got) != 0 {
		t.Fatalf("notified while the agent is connected: %v", got)
	}
	stop()
	got := poolEvents(t, rcv, 1, 2*grace)
	n := got[0]
	if n["event"] != "agent_pool_empty" || n["space"] != "root" || poolField(t, n, "agent_pool", "id") != "lab" ||
		poolField(t, n, "agent_pool", "name") != "Lab" || poolField(t, n, "agent_pool", "agents") != 0.0 ||
		poolField(t, n, "agent_pool", "last_agent", "name") != "agent-a" || poolField(t, n, "agent_pool", "last_agent", "seen_at") == nil ||
		!strings.HasSuffix(n["url"].(string), "/source-control/vcs-agent-pools") {
		t.Errorf("agent_pool_empty: %v", n)
	}

	h.startAgent("agent-b", token, "^acme/")
	got = poolEvents(t, rcv, 2, 2*grace)
	n = got[1]
	if n["event"] != "agent_pool_recovered" || poolField(t, n, "agent_pool", "agents") != 1.0 ||
		poolField(t, n, "agent_pool", "agent", "name") != "agent-b" || poolField(t, n, "agent_pool", "empty_since") != got[0]["created_at"] {
		t.Errorf("agent_pool_recovered: %v (after %v)", n, got[0])
	}
}

// TestReplicasAgentPoolEmptyOnce: three servers on one PostgreSQL
// database. A shuts down gracefully while B still holds an agent of the
// pool: nothing is sent. B's agent leaves: B and C both see it, and the
// target gets one agent_pool_empty; an agent connects to C: one
// agent_pool_recovered.
func TestReplicasAgentPoolEmptyOnce(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	const grace = time.Second
	tweak := func(c *app.Config) { c.AgentPoolCheck, c.AgentPoolGrace = 50*time.Millisecond, grace }
	servers := replicas(t, tweak, tweak, tweak)
	a, b, c := servers[0], servers[1], servers[2]
	var pool struct{ ID, Token string }
	a.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", a.AdminKey, map[string]any{"name": "Lab"}).Decode(t, &pool)
	poolTarget(t, a, rcv)
	stopA := a.startAgent("agent-on-a", pool.Token, "^acme/")
	stopB := b.startAgent("agent-on-b", pool.Token, "^acme/")
	c.waitAgents(2)

	if err := a.App.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopA() // its server is gone; it would only retry
	c.waitAgents(1)
	time.Sleep(3 * grace)
	if got := rcv.received(t, poolHookSecret); len(got) != 0 {
		t.Fatalf("notified while B holds an agent: %v", got)
	}

	stopB()
	got := poolEvents(t, rcv, 1, 3*grace)
	if got[0]["event"] != "agent_pool_empty" || poolField(t, got[0], "agent_pool", "last_agent", "name") != "agent-on-b" {
		t.Errorf("agent_pool_empty: %v", got[0])
	}

	c.startAgent("agent-on-c", pool.Token, "^acme/")
	got = poolEvents(t, rcv, 2, 3*grace)
	if got[1]["event"] != "agent_pool_recovered" || poolField(t, got[1], "agent_pool", "agent", "name") != "agent-on-c" {
		t.Errorf("agent_pool_recovered: %v", got[1])
	}
}
