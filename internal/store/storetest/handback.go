package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// testRunHandBack: a worker shutting down gives a run back (docs/ops.md):
// the move back releases the lease and the run's state lock, the run is
// leased again from the start, and the events of states it passes again
// say so (Reentered), so that GitLab is not told twice.
func testRunHandBack(t *testing.T, h Harness) {
	s := leasedFixture(t, h)
	moves(t, s, "r1", run.Move{To: run.Initializing, LeaseID: "l1"}, run.Move{To: run.Planning, LeaseID: "l1"})
	lockedBy(t, s, "r1")
	ev, err := s.MoveRun(ctx(), run.Move{RunID: "r1", From: []run.State{run.Planning}, To: run.Ready, At: base,
		LeaseID: "l1", ReleaseLease: true, Note: "handed back"})
	if err != nil || ev.From != run.Planning || ev.To != run.Ready || !ev.Reentered {
		t.Fatalf("hand-back = %+v, %v; want PLANNING → READY, reentered", ev, err)
	}
	if e, _ := s.GetExec(ctx(), "r1"); e.LeaseID != "" || e.LeaseOwner != "" || e.TokenHash != "" || e.LeaseExpiresAt != nil {
		t.Errorf("exec after the hand-back = %+v; want no lease", e)
	}
	if _, err := s.GetStateLock(ctx(), "web"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the handed-back run keeps its state lock: %v", err)
	}
	if ids, _ := s.ExpiredLeases(ctx(), base.Add(time.Hour)); len(ids) != 0 {
		t.Errorf("a handed-back run's lease is listed as expired: %v", ids)
	}
	again := mustLease(t, s, lease("w2", "l2"))
	if again.Run.ID != "r1" || again.Phase != run.PhasePlan || again.Event.From != run.Ready || !again.Event.Reentered {
		t.Errorf("lease after the hand-back = %+v", again)
	}
	moves(t, s, "r1", run.Move{To: run.Initializing, LeaseID: "l2"}, run.Move{To: run.Planning, LeaseID: "l2"})
	yes := true
	ev, err = s.MoveRun(ctx(), run.Move{RunID: "r1", To: run.Unconfirmed, At: base, LeaseID: "l2", ReleaseLease: true,
		Delta: &run.Delta{Add: 1}, HasChanges: &yes, PlanSealed: []byte("plan")})
	if err != nil || ev.Reentered {
		t.Fatalf("plan after the hand-back = %+v, %v; want a first UNCONFIRMED", ev, err)
	}
	want := []run.State{run.Queued, run.Ready, run.Preparing, run.Initializing, run.Planning, run.Ready,
		run.Preparing, run.Initializing, run.Planning, run.Unconfirmed}
	if got := historyStates(t, s, "r1"); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}

	// The apply phase goes back to CONFIRMED until APPLYING.
	moves(t, s, "r1", run.Move{To: run.Confirmed})
	l := lease("w", "l3")
	l.AllowApply = true
	mustLease(t, s, l)
	lockedBy(t, s, "r1")
	moves(t, s, "r1", run.Move{From: []run.State{run.PreparingApply}, To: run.Confirmed, LeaseID: "l3", ReleaseLease: true})
	if _, err := s.GetStateLock(ctx(), "web"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the run handed back from PREPARING_APPLY keeps its state lock: %v", err)
	}
	l.LeaseID = "l4"
	if got := mustLease(t, s, l); got.Phase != run.PhaseApply || got.Run.State != run.PreparingApply || !got.Event.Reentered {
		t.Errorf("apply lease after the hand-back = %+v", got)
	}
	moves(t, s, "r1", run.Move{To: run.Applying, LeaseID: "l4", StartApply: true})
	_, err = s.MoveRun(ctx(), run.Move{RunID: "r1", To: run.Confirmed, At: base, LeaseID: "l4", ReleaseLease: true})
	wantCode(t, err, apperr.Conflict) // never once applying
}

// lockedBy locks the state of stack web for run id.
func lockedBy(t *testing.T, s *sqlstore.Store, id string) {
	t.Helper()
	if _, ok, err := s.LockState(ctx(), state.Lock{StackID: "web", ID: "tf-" + id, Info: []byte(`{}`), RunID: id, CreatedAt: base}); !ok || err != nil {
		t.Fatalf("lock state for %s: %v, %v", id, ok, err)
	}
}
