package run_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// countingExec counts the scheduler's passes.
type countingExec struct {
	*sqlstore.Store
	passes atomic.Int64
}

func (c *countingExec) PromoteQueued(ctx context.Context, at time.Time) (run.Promotion, error) {
	c.passes.Add(1)
	return c.Store.PromoteQueued(ctx, at)
}

// TestSchedulerCoalescesWakeUps: a wake-up per processed delivery does not
// cost a pass each; passes come at most every PassGap, and the runs
// queued by the burst are promoted all the same.
func TestSchedulerCoalescesWakeUps(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, "sqlite")
	exec := &countingExec{Store: s}
	svc := run.NewService(run.Config{Runs: s, Exec: exec, Stacks: s, PollInterval: time.Hour})
	svc.Start(t.Context())
	t.Cleanup(svc.Stop)

	const wakes = 200
	var ids []string
	start := time.Now()
	for i := range wakes {
		if i%20 == 0 {
			ids = append(ids, create(t, s, "st", run.Proposed, "sha"+string(rune('a'+i/20)), t0))
		}
		svc.Notify()
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			r, err := s.GetRun(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if r.State == run.Ready {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s is %s; want the burst's runs promoted", id, r.State)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	passes := exec.passes.Load()
	// One pass at start, then at most one per PassGap of the burst, and
	// one more for the last wake-up.
	if most := int64(elapsed/run.PassGap) + 3; passes > most || passes >= wakes {
		t.Errorf("%d wake-ups over %v cost %d passes; want at most %d", wakes, elapsed.Round(time.Millisecond), passes, most)
	}
}
