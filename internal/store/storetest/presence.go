package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// testAgentPresence: each server replaces only its own rows, readers see
// the rows seen since a time, a clean stop deletes a server's rows and the
// purge drops those of servers that stopped without saying so.
func testAgentPresence(t *testing.T, h Harness) {
	s := fresh(t, h)
	row := func(server, pool, agent string, seen time.Time) vcsagent.Presence {
		return vcsagent.Presence{ServerID: server, Address: "http://" + server + ":8080", Pool: pool, AgentID: agent,
			AgentName: agent + ".lab", Streams: 4, ConnectedAt: base, SeenAt: seen}
	}
	a1, a2 := row("a", "lab", "x1", base), row("a", "lab", "x2", base)
	b1 := row("b", "lab", "x1", base.Add(20*time.Second)) // one agent's streams spread over two servers
	if err := s.SetAgentPresence(ctx(), "a", []vcsagent.Presence{a1, a2}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAgentPresence(ctx(), "b", []vcsagent.Presence{b1}); err != nil {
		t.Fatal(err)
	}
	list := func(since time.Time) []vcsagent.Presence {
		t.Helper()
		got, err := s.ListAgentPresence(ctx(), since)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := list(base), []vcsagent.Presence{a1, a2, b1}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListAgentPresence = %+v\nwant %+v", got, want)
	}
	if got := list(base.Add(time.Second)); !reflect.DeepEqual(got, []vcsagent.Presence{b1}) {
		t.Errorf("rows seen since base+1s = %+v, want only b's", got)
	}

	// A heartbeat replaces a's rows (one agent left) and touches no other.
	a2.SeenAt = base.Add(10 * time.Second)
	if err := s.SetAgentPresence(ctx(), "a", []vcsagent.Presence{a2}); err != nil {
		t.Fatal(err)
	}
	if got, want := list(base), []vcsagent.Presence{a2, b1}; !reflect.DeepEqual(got, want) {
		t.Errorf("after a's heartbeat = %+v\nwant %+v", got, want)
	}
	if err := s.SetAgentPresence(ctx(), "a", []vcsagent.Presence{b1}); err == nil {
		t.Error("SetAgentPresence took a row of another server")
	}
	if got := list(base); len(got) != 2 {
		t.Errorf("a refused write changed the rows: %+v", got)
	}

	// Purge: a was last seen at base+10s.
	n, err := s.PurgeAgentPresence(ctx(), base.Add(15*time.Second))
	if err != nil || n != 1 {
		t.Errorf("PurgeAgentPresence = %d, %v; want a's one row", n, err)
	}
	if got := list(base); !reflect.DeepEqual(got, []vcsagent.Presence{b1}) {
		t.Errorf("after the purge = %+v, want b's row", got)
	}
	if err := s.DeleteAgentPresence(ctx(), "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAgentPresence(ctx(), "nobody"); err != nil {
		t.Errorf("deleting a server without rows: %v", err)
	}
	if got := list(time.Time{}); len(got) != 0 {
		t.Errorf("after b's clean stop = %+v, want none", got)
	}
}
