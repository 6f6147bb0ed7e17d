package main

import (
	"strings"
	"testing"
	"time"
)

// TestCLIVCSAgentPool: a pool created and shown through the CLI, the real
// `hoist vcs-agent` command connecting with the token from its environment,
// and a rotation that stops it.
func TestCLIVCSAgentPool(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	var pool struct {
		ID, Token string
	}
	h.jsonOut(&pool, h.adminKey, "vcs-agent-pool", "create", "Lab Net", "--description", "the *lab*")
	if pool.ID != "lab-net" || !strings.HasPrefix(pool.Token, "hoist_pool_lab-net_") {
		t.Fatalf("created pool %+v", pool)
	}
	if out := h.ok(h.adminKey, "vcs-agent-pool", "list"); !strings.Contains(out, "lab-net") || strings.Contains(out, pool.Token) {
		t.Errorf("list:\n%s", out)
	}
	// Flags come from the environment; the token never from argv.
	env := map[string]string{"HOIST_VCS_AGENT_POOL_TOKEN": pool.Token, "HOIST_VCS_AGENT_TARGET_BASE_ENDPOINT": h.simURL,
		"HOIST_VCS_AGENT_VENDOR": "gitlab", "HOIST_VCS_AGENT_PARALLELISM": "2", "HOIST_VCS_AGENT_NAME": "cli-agent"}
	type result struct {
		stderr string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		_, stderr, err := h.run("", env, "vcs-agent")
		done <- result{stderr, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := h.ok(h.adminKey, "vcs-agent-pool", "show", "lab-net")
		if strings.Contains(out, "Connected agents:  1") && strings.Contains(out, "cli-agent") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never showed as connected:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond) // polling the API, bounded above
	}

	out := h.ok(h.adminKey, "vcs-agent-pool", "rotate-token", "lab-net")
	if !strings.Contains(out, "hoist_pool_lab-net_") || strings.Contains(out, pool.Token) {
		t.Errorf("rotate-token output:\n%s", out)
	}
	select {
	case r := <-done:
		if r.err == nil || !strings.Contains(r.err.Error(), "refused the pool token") {
			t.Errorf("vcs-agent after rotation: %v", r.err)
		}
		if !strings.Contains(r.stderr, "connected") || strings.Contains(r.stderr, pool.Token) {
			t.Errorf("agent log:\n%s", r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("vcs-agent kept running with a rotated token")
	}
	h.ok(h.adminKey, "vcs-agent-pool", "delete", "lab-net")
	_, _, err := h.run(h.adminKey, nil, "vcs-agent-pool", "show", "lab-net")
	if err == nil {
		t.Error("deleted pool still shown")
	}
	_, _, err = h.run("", map[string]string{"HOIST_VCS_AGENT_TARGET_BASE_ENDPOINT": h.simURL}, "vcs-agent", "--vendor", "gitlab")
	if err == nil || !strings.Contains(err.Error(), "no pool token") {
		t.Errorf("vcs-agent without a token: %v", err)
	}
}
