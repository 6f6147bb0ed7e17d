package feedback_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// refusingStore fails EnqueueWrites after inserting the writes, as a crash
// right after them would.
type refusingStore struct {
	*sqlstore.Store
	calls int
}

func (s *refusingStore) EnqueueWrites(ctx context.Context, ws []feedback.Write) error {
	s.calls++
	if err := s.Store.EnqueueWrites(ctx, ws); err != nil {
		return err
	}
	return errors.New("enqueue refused")
}

// TestTransitionCommitsWithItsWrites: the run service records a run's
// transition and its GitLab writes in one transaction. When the enqueue
// fails, the transition is rolled back with the writes; otherwise both are
// there.
func TestTransitionCommitsWithItsWrites(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		for _, refuse := range []bool{false, true} {
			var store feedback.Store = e.store
			refusing := &refusingStore{Store: e.store}
			if refuse {
				store = refusing
			}
			at := time.Now().UTC().Truncate(time.Second)
			clock := at
			svc := run.NewService(run.Config{Runs: e.store, Exec: e.store, Clock: func() time.Time { return clock },
				Outbox: feedback.NewService(feedback.Config{Store: store, Stacks: e.stacks, PublicURL: publicURL})})
			r := newRun("app", run.Proposed, e.main, "feature", 0)
			r.State, r.CreatedAt, r.UpdatedAt = run.Queued, at, at
			if _, err := e.store.ApplyRunChanges(e.ctx, run.Changes{At: at, Actor: "test", Create: []run.Run{*r}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.PromoteQueued(e.ctx, at); err != nil {
				t.Fatal(err)
			}
			// A lost worker's run is taken over twice (back to READY, no
			// GitLab write); the third loss fails it, with its status.
			for loss := 1; loss <= 3; loss++ {
				if _, ok, err := e.store.LeaseRun(e.ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: fmt.Sprintf("lease-%d-%s", loss, r.ID),
					At: clock, TTL: time.Second, StackIDs: []string{"app"}}); !ok || err != nil {
					t.Fatalf("lease %d: %v, %v", loss, ok, err)
				}
				clock = clock.Add(time.Hour) // the lease runs out
				svc.Schedule(e.ctx)
			}

			got, err := e.store.GetRun(e.ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := e.store.ListWrites(e.ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case refuse && (refusing.calls == 0 || got.State != run.Preparing || len(ws) != 0):
				t.Errorf("enqueue refused (%d calls): run %s with %d writes; want PREPARING and none", refusing.calls, got.State, len(ws))
			case !refuse && (got.State != run.Failed || len(ws) != 1 || ws[0].Payload.State != "failed"):
				t.Errorf("run %s with writes %+v; want FAILED and its failed status", got.State, ws)
			}
		}
	})
}
