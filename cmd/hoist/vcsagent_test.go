package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
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
	apptest.Eventually(t, 10*time.Second, "the agent to show as connected", func() error {
		out := h.ok(h.adminKey, "vcs-agent-pool", "show", "lab-net")
		if !strings.Contains(out, "Connected agents:  1") || !strings.Contains(out, "cli-agent") {
			return errors.New(out)
		}
		return nil
	})

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

// TestCLIVCSAgentPoolSpaces: a pool created in a space with --space, the
// space shown by list and show, a reader of the space who sees the pool but
// no agents, a key without roles that sees nothing, and a move to root.
func TestCLIVCSAgentPoolSpaces(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	h.ok(admin, "space", "create", "--name", "Team A")
	out := h.ok(admin, "vcs-agent-pool", "create", "Team Net", "--space", "team-a")
	if !strings.Contains(out, "team-net (space team-a) created") || !strings.Contains(out, "integrations in space team-a or below") {
		t.Errorf("create output:\n%s", out)
	}
	var reader, nobody struct{ Secret string }
	h.jsonOut(&reader, admin, "api-key", "create", "--name", "reader", "--role", "team-a:read")
	h.jsonOut(&nobody, admin, "api-key", "create", "--name", "nobody")

	if out := h.ok(admin, "vcs-agent-pool", "list"); !strings.Contains(out, "SPACE") || !strings.Contains(out, "team-a") {
		t.Errorf("list:\n%s", out)
	}
	if out := h.ok(reader.Secret, "vcs-agent-pool", "show", "team-net"); !strings.Contains(out, "Space:") || !strings.Contains(out, "team-a") {
		t.Errorf("show as a reader:\n%s", out)
	}
	var shown map[string]any
	h.jsonOut(&shown, reader.Secret, "vcs-agent-pool", "show", "team-net")
	if _, ok := shown["agents"]; ok || shown["token"] != nil {
		t.Errorf("a reader's pool carries agents or a token: %v", shown)
	}
	var none []map[string]any
	h.jsonOut(&none, nobody.Secret, "vcs-agent-pool", "list")
	if len(none) != 0 {
		t.Errorf("a key without roles lists %v", none)
	}
	h.fails(apperr.NotFound, nobody.Secret, "vcs-agent-pool", "show", "team-net")
	h.fails(apperr.Forbidden, reader.Secret, "vcs-agent-pool", "update", "team-net", "--description", "mine")

	if out := h.ok(admin, "vcs-agent-pool", "update", "team-net", "--space", "root"); !strings.Contains(out, "Space:") || !strings.Contains(out, "root") {
		t.Errorf("update --space root:\n%s", out)
	}
	if _, _, err := h.run(admin, nil, "vcs-agent-pool", "update", "team-net"); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("update without flags: %v", err)
	}
}
