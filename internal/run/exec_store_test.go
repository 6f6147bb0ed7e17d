package run_test

import (
	"context"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// The scheduler's store operations on every database: FIFO stack lock with
// blocked_by, leases, expiry, and the apply-once rule.

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func forEachDB(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Open(t, d))
		})
	}
}

func create(t *testing.T, s *sqlstore.Store, stack string, typ run.Type, sha string, at time.Time) string {
	t.Helper()
	r := run.Run{ID: run.NewID(at), StackID: stack, Type: typ, State: run.Queued, CommitSHA: sha, CreatedAt: at, UpdatedAt: at}
	if _, err := s.ApplyRunChanges(context.Background(), run.Changes{At: at, Actor: "test", Create: []run.Run{r}}); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func state(t *testing.T, s *sqlstore.Store, id string) run.State {
	t.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

func TestStackLockIsFIFOAndNamesTheBlocker(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a := create(t, s, "web", run.Tracked, "a", t0)
		b := create(t, s, "web", run.Tracked, "b", t0.Add(time.Millisecond))
		p := create(t, s, "web", run.Proposed, "p", t0.Add(2*time.Millisecond))
		other := create(t, s, "api", run.Tracked, "o", t0.Add(3*time.Millisecond))
		pr, err := s.PromoteQueued(ctx, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(pr.Ready) != 3 || pr.Blocked[b] != a {
			t.Fatalf("promotion = %+v; want a, p and %s ready, b blocked by a", pr, other)
		}
		if state(t, s, a) != run.Ready || state(t, s, b) != run.Queued || state(t, s, p) != run.Ready || state(t, s, other) != run.Ready {
			t.Fatal("wrong states after the first pass")
		}
		if e, _ := s.GetExec(ctx, b); e.BlockedBy != a {
			t.Fatalf("blocked_by = %q", e.BlockedBy)
		}
		// a ends: b goes next.
		if _, err := s.MoveRun(ctx, run.Move{RunID: a, From: []run.State{run.Ready}, To: run.Discarded, At: t0.Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PromoteQueued(ctx, t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if state(t, s, b) != run.Ready {
			t.Fatalf("b = %s after a ended", state(t, s, b))
		}
	})
}

// leaseOne creates a tracked run of the stack web, makes it READY and
// leases it to the worker w1 under lease-1.
func leaseOne(t *testing.T, s *sqlstore.Store) (string, run.Leased) {
	t.Helper()
	ctx := context.Background()
	id := create(t, s, "web", run.Tracked, "a", t0)
	if _, err := s.PromoteQueued(ctx, t0); err != nil {
		t.Fatal(err)
	}
	l := run.Lease{Pool: run.EmbeddedPool, Owner: "w1", LeaseID: "lease-1", TokenHash: "h", At: t0, TTL: time.Minute}
	got, ok, err := s.LeaseRun(ctx, l)
	if err != nil || !ok {
		t.Fatalf("lease = %+v, %v, %v", got, ok, err)
	}
	return id, got
}

func TestLeaseExpiryAndApplyOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		id, got := leaseOne(t, s)
		if got.Run.ID != id || got.Phase != run.PhasePlan || got.Run.State != run.Preparing || !got.TokenWrite {
			t.Fatalf("lease = %+v", got)
		}
		if _, ok, _ := s.LeaseRun(ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w2", LeaseID: "lease-2", At: t0, TTL: time.Minute}); ok {
			t.Fatal("a leased run was leased again")
		}
		for _, to := range []run.State{run.Initializing, run.Planning} {
			if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: to, At: t0, LeaseID: "lease-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Applying, At: t0, LeaseID: "wrong"}); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("move under another lease = %v", err)
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Applying, At: t0, LeaseID: "lease-1", StartApply: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RenewLease(ctx, id, "lease-1", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.ExpiredLeases(ctx, t0.Add(time.Minute)); len(ids) != 0 {
			t.Fatalf("renewed lease listed as expired: %v", ids)
		}
		ids, err := s.ExpiredLeases(ctx, t0.Add(3*time.Minute))
		if err != nil || len(ids) != 1 || ids[0] != id {
			t.Fatalf("expired = %v, %v", ids, err)
		}
		lost := run.Move{RunID: id, To: run.Failed, At: t0.Add(3 * time.Minute), LeaseID: "lease-1", LeaseExpired: true, Note: "worker lost"}
		if _, err := s.MoveRun(ctx, lost); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RenewLease(ctx, id, "lease-1", t0.Add(4*time.Minute)); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("heartbeat of a failed run = %v", err)
		}
		e, _ := s.GetExec(ctx, id)
		if e.LeaseID != "" || e.TokenHash != "" || e.ApplyStartedAt == nil {
			t.Fatalf("exec after failure = %+v", e)
		}
	})
}

func TestConfirmedRunAppliesOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		id := create(t, s, "web", run.Tracked, "a", t0)
		if _, err := s.PromoteQueued(ctx, t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.LeaseRun(ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: "l1", At: t0, TTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		yes := true
		for _, m := range []run.Move{
			{To: run.Initializing, LeaseID: "l1"}, {To: run.Planning, LeaseID: "l1"},
			{To: run.Unconfirmed, LeaseID: "l1", ReleaseLease: true, PlanSealed: []byte("sealed"), HasChanges: &yes},
			{To: run.Confirmed},
		} {
			m.RunID, m.At = id, t0
			if _, err := s.MoveRun(ctx, m); err != nil {
				t.Fatalf("move to %s: %v", m.To, err)
			}
		}
		got, ok, err := s.LeaseRun(ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: "l2", At: t0, TTL: time.Minute, AllowApply: true})
		if err != nil || !ok || got.Phase != run.PhaseApply || got.Run.State != run.PreparingApply {
			t.Fatalf("apply lease = %+v, %v, %v", got, ok, err)
		}
		if plan, err := s.RunPlan(ctx, id); err != nil || string(plan) != "sealed" {
			t.Fatalf("plan = %q, %v", plan, err)
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Applying, At: t0, LeaseID: "l2", StartApply: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Failed, At: t0, LeaseID: "l2", Note: "worker lost"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunPlan(ctx, id); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("the plan of an ended run is kept: %v", err)
		}
		if _, ok, _ := s.LeaseRun(ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: "l3", At: t0, TTL: time.Minute, AllowApply: true}); ok {
			t.Fatal("a failed run was leased again")
		}
	})
}

// TestMoveRecordsTheBinary: the tool a worker reports with a move is kept
// on the run's execution, and a later move without one leaves it.
func TestMoveRecordsTheBinary(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		id, _ := leaseOne(t, s)
		if e, _ := s.GetExec(ctx, id); e.Binary != (run.Binary{}) {
			t.Fatalf("binary before any report = %+v", e.Binary)
		}
		b := run.Binary{Tool: "opentofu", Version: "1.10.6"}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Initializing, At: t0, LeaseID: "lease-1", Binary: &b}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: run.Planning, At: t0, LeaseID: "lease-1"}); err != nil {
			t.Fatal(err)
		}
		if e, err := s.GetExec(ctx, id); err != nil || e.Binary != b {
			t.Fatalf("binary = %+v, %v; want %+v", e.Binary, err, b)
		}
	})
}

// TestPlannedAndErrorDetail: a run has a plan once one is reported (a
// Delta), never before; a failure keeps OpenTofu's error.
func TestPlannedAndErrorDetail(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		planned := create(t, s, "web", run.Proposed, "a", t0)
		failed := create(t, s, "web", run.Proposed, "b", t0.Add(time.Millisecond))
		for _, id := range []string{planned, failed} {
			for _, to := range []run.State{run.Ready, run.Preparing, run.Initializing, run.Planning} {
				if _, err := s.MoveRun(ctx, run.Move{RunID: id, To: to, At: t0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ev, err := s.MoveRun(ctx, run.Move{RunID: planned, To: run.Finished, At: t0, Delta: &run.Delta{}})
		r := ev.Run
		if err != nil || !r.Planned || r.ErrorDetail != "" {
			t.Fatalf("after a plan with no changes: %+v, %v; want planned", r, err)
		}
		detail := "Error: Resource precondition failed\n\n  on main.tf line 6:\n\nneeds 2 replicas."
		ev, err = s.MoveRun(ctx, run.Move{RunID: failed, To: run.Failed, At: t0, Error: "plan failed: tofu plan: exit status 1",
			ErrorDetail: detail})
		r = ev.Run
		if err != nil || r.Planned || r.ErrorDetail != detail {
			t.Fatalf("after a failed plan: %+v, %v; want no plan and the detail", r, err)
		}
		runs, _, err := s.ListRuns(ctx, run.Filter{StackID: "web"}, "", 10)
		if err != nil || len(runs) != 2 || runs[0].ErrorDetail != detail || !runs[1].Planned {
			t.Fatalf("listed: %+v, %v", runs, err)
		}
	})
}
