package notify_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// agentView is the agents every server sees, as the cluster lists them
// (the internal/app tests connect real agents to real replicas).
type agentView struct {
	mu     sync.Mutex
	agents map[string][]vcsagent.AgentInfo
}

func (v *agentView) set(pool string, agents ...vcsagent.AgentInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.agents = map[string][]vcsagent.AgentInfo{}
	if len(agents) > 0 {
		v.agents[pool] = agents
	}
}

func (v *agentView) AgentsByPool(context.Context) (map[string][]vcsagent.AgentInfo, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.agents, nil
}

// TestAgentPoolEmptyOnce: two servers on one database watch a pool in
// space a; when its last agent is gone for the grace, agent_pool_empty is
// enqueued once, for the target in a (not the one in b), whichever server
// checks, and agent_pool_recovered once when an agent is back. A server
// that just started waits the grace before it judges.
func TestAgentPoolEmptyOnce(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := setup(t, dialect)
			ctx := context.Background()
			if err := e.store.CreateAgentPool(ctx, vcsagent.Pool{ID: "lab", Name: "Lab", SpaceID: "a", TokenHash: "h", CreatedAt: start,
				RotatedAt: start, CreatedBy: admin}, audit.Entry{At: start, Actor: admin, Action: "vcs_agent_pool.create",
				ResourceType: "vcs_agent_pool", ResourceID: "lab"}); err != nil {
				t.Fatal(err)
			}
			inA := e.target(t, "In A", "a", "https://a.example.com", "agent_pool_empty", "agent_pool_recovered")
			inB := e.target(t, "In B", "b", "https://b.example.com", "agent_pool_empty", "agent_pool_recovered")
			other := e.target(t, "Runs", "root", "https://root.example.com", "run_failed")
			view := &agentView{}
			const interval, grace = time.Second, 5 * time.Second
			second := notify.NewService(e.cfg)
			servers := []*notify.PoolWatcher{e.svc.WatchPools(e.store, view, interval, grace), second.WatchPools(e.store, view, interval, grace)}
			checkAll := func() {
				t.Helper()
				var wg sync.WaitGroup
				for _, w := range servers {
					wg.Go(func() {
						if err := w.Check(ctx); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			}
			events := func(id string) []notify.Notification {
				t.Helper()
				var out []notify.Notification
				for _, d := range e.deliveries(t, id) {
					var n notify.Notification
					if err := json.Unmarshal(d.Payload, &n); err != nil {
						t.Fatal(err)
					}
					out = append(out, n)
				}
				return out
			}

			checkAll() // no agent ever: nothing
			view.set("lab", vcsagent.AgentInfo{ID: "x1", Name: "runner-1"})
			e.clock.Add(interval)
			seen := e.clock.Now()
			checkAll()
			view.set("lab")
			e.clock.Add(grace - time.Millisecond)
			checkAll()
			if n := events(inA.ID); len(n) != 0 {
				t.Fatalf("notified within the grace: %+v", n)
			}
			e.clock.Add(time.Millisecond)
			emptyAt := e.clock.Now()
			checkAll()
			checkAll()
			got := events(inA.ID)
			if len(got) != 1 || got[0].Event != notify.AgentPoolEmpty || got[0].Space != "a" || got[0].Pool == nil {
				t.Fatalf("after the grace: %+v, want one agent_pool_empty", got)
			}
			p := got[0].Pool
			if p.ID != "lab" || p.Name != "Lab" || p.Agents != 0 || p.LastAgent == nil || p.LastAgent.Name != "runner-1" ||
				p.LastAgent.ID != "x1" || p.LastAgent.SeenAt == nil || !p.LastAgent.SeenAt.Equal(seen) || !got[0].CreatedAt.Equal(emptyAt) ||
				got[0].URL != "https://hoist.example.com/source-control/vcs-agent-pools" {
				t.Errorf("agent_pool_empty body: %+v, pool %+v", got[0], p)
			}

			e.clock.Add(time.Minute)
			view.set("lab", vcsagent.AgentInfo{ID: "x2", Name: "runner-2"}, vcsagent.AgentInfo{ID: "x3", Name: "runner-3"})
			checkAll()
			checkAll()
			got = events(inA.ID)
			if len(got) != 2 || got[1].Event != notify.AgentPoolRecovered || got[1].Pool.Agents != 2 || got[1].Pool.Agent.ID != "x2" ||
				got[1].Pool.EmptySince == nil || !got[1].Pool.EmptySince.Equal(emptyAt) {
				t.Errorf("after an agent came back: %+v", got)
			}
			if n := events(inB.ID); len(n) != 0 {
				t.Errorf("a target in another space got %+v", n)
			}
			if n := events(other.ID); len(n) != 0 {
				t.Errorf("a target without the events got %+v", n)
			}

			// A server starting while the pool has no agent (say, all
			// servers restarted and the agents reconnect) waits the grace.
			view.set("lab")
			e.clock.Add(10 * grace)
			fresh := notify.NewService(e.cfg).WatchPools(e.store, view, interval, grace)
			if err := fresh.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(events(inA.ID)); n != 2 {
				t.Errorf("a server that just started notified: %d deliveries", n)
			}
			e.clock.Add(grace)
			if err := fresh.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if got := events(inA.ID); len(got) != 3 || got[2].Event != notify.AgentPoolEmpty || got[2].Pool.LastAgent.Name != "runner-2" {
				t.Errorf("after its grace: %+v", got)
			}
		})
	}
}
