package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// testAgentPoolWatch covers the record behind agent_pool_empty (issue 21):
// a pool's first agent, refreshes, the compare-and-sets from up to empty
// and back (each won by one of several concurrent callers), and a deleted
// pool.
func testAgentPoolWatch(t *testing.T, h Harness) {
	s := fresh(t, h)
	for _, id := range []string{"lab", "quiet"} {
		p := vcsagent.Pool{ID: id, Name: id, SpaceID: space.RootID, TokenHash: "h-" + id, CreatedAt: base, CreatedBy: "apikey:admin", RotatedAt: base}
		if err := s.CreateAgentPool(ctx(), p, poolEntry("vcs_agent_pool.create", id)); err != nil {
			t.Fatal(err)
		}
	}
	watch := func(id string) notify.PoolWatch {
		t.Helper()
		ws, err := s.AgentPoolWatches(ctx())
		if err != nil || len(ws) != 2 || ws[0].PoolID != "lab" || ws[1].PoolID != "quiet" {
			t.Fatalf("AgentPoolWatches = %+v, %v", ws, err)
		}
		for _, w := range ws {
			if w.PoolID == id {
				return w
			}
		}
		return notify.PoolWatch{}
	}
	if w := watch("quiet"); w.State != "" || w.Name != "quiet" || w.SpaceID != space.RootID || !w.LastSeenAt.IsZero() {
		t.Errorf("a pool that never had an agent: %+v", w)
	}
	t1 := base.Add(time.Minute)
	if rec, _, err := s.SeeAgentPool(ctx(), "lab", "a1", "host-1", t1); err != nil || rec {
		t.Fatalf("first agent: recovered %v, %v", rec, err)
	}
	if w := watch("lab"); w.State != notify.PoolUp || !w.ChangedAt.Equal(t1) || w.LastAgentName != "host-1" || !w.LastSeenAt.Equal(t1) {
		t.Errorf("after the first agent: %+v", w)
	}
	t2 := t1.Add(10 * time.Second)
	if _, _, err := s.SeeAgentPool(ctx(), "lab", "a2", "host-2", t2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SeeAgentPool(ctx(), "lab", "a1", "host-1", t1); err != nil { // a late writer does not go backwards
		t.Fatal(err)
	}
	if w := watch("lab"); w.LastAgentID != "a2" || !w.LastSeenAt.Equal(t2) || !w.ChangedAt.Equal(t1) {
		t.Errorf("after refreshes: %+v", w)
	}
	if ok, err := s.EmptyAgentPool(ctx(), "lab", t2.Add(-time.Millisecond), t2.Add(time.Minute)); err != nil || ok {
		t.Errorf("empty while an agent was seen after seenBefore: %v, %v", ok, err)
	}
	if ok, err := s.EmptyAgentPool(ctx(), "quiet", t2, t2); err != nil || ok {
		t.Errorf("empty a pool that never had an agent: %v, %v", ok, err)
	}

	// Eight servers notice at once: one wins each change.
	race := func(fn func() (bool, error)) int32 {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := fn()
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		return wins.Load()
	}
	t3 := t2.Add(2 * time.Minute)
	if n := race(func() (bool, error) { return s.EmptyAgentPool(ctx(), "lab", t3.Add(-time.Minute), t3) }); n != 1 {
		t.Errorf("%d servers marked the pool empty, want 1", n)
	}
	if w := watch("lab"); w.State != notify.PoolEmpty || !w.ChangedAt.Equal(t3) || !w.LastSeenAt.Equal(t2) || w.LastAgentName != "host-2" {
		t.Errorf("after emptying: %+v", w)
	}
	t4 := t3.Add(time.Minute)
	var since atomic.Pointer[time.Time]
	if n := race(func() (bool, error) {
		rec, at, err := s.SeeAgentPool(ctx(), "lab", "a3", "host-3", t4)
		if rec {
			since.Store(&at)
		}
		return rec, err
	}); n != 1 {
		t.Errorf("%d servers saw the pool recover, want 1", n)
	}
	if p := since.Load(); p == nil || !p.Equal(t3) {
		t.Errorf("empty since %v, want %v", p, t3)
	}
	if w := watch("lab"); w.State != notify.PoolUp || !w.ChangedAt.Equal(t4) || w.LastAgentName != "host-3" {
		t.Errorf("after recovering: %+v", w)
	}

	// A deleted pool takes its row along, and is not recorded again.
	if err := s.DeleteAgentPool(ctx(), "lab", poolEntry("vcs_agent_pool.delete", "lab")); err != nil {
		t.Fatal(err)
	}
	if rec, _, err := s.SeeAgentPool(ctx(), "lab", "a3", "host-3", t4.Add(time.Minute)); err != nil || rec {
		t.Errorf("a deleted pool's agent: %v, %v", rec, err)
	}
	ws, err := s.AgentPoolWatches(ctx())
	if err != nil || len(ws) != 1 || ws[0].PoolID != "quiet" {
		t.Errorf("after deleting lab: %+v, %v", ws, err)
	}
	var rows int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM vcs_agent_pool_watch").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("watch rows left: %d, %v", rows, err)
	}
}
