package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// lease asks for a run of the embedded pool under leaseID at base.
func lease(owner, leaseID string) run.Lease {
	return run.Lease{Pool: run.EmbeddedPool, Owner: owner, LeaseID: leaseID, TokenHash: "hash-" + leaseID, At: base, TTL: time.Minute}
}

func mustLease(t *testing.T, s *sqlstore.Store, l run.Lease) run.Leased {
	t.Helper()
	got, ok, err := s.LeaseRun(ctx(), l)
	if err != nil || !ok {
		t.Fatalf("lease %s: %+v, %v, %v", l.LeaseID, got, ok, err)
	}
	return got
}

func mustPromote(t *testing.T, s *sqlstore.Store) run.Promotion {
	t.Helper()
	p, err := s.PromoteQueued(ctx(), base)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// moves performs ms on run id in order, each at base.
func moves(t *testing.T, s *sqlstore.Store, id string, ms ...run.Move) {
	t.Helper()
	for _, m := range ms {
		m.RunID = id
		if m.At.IsZero() {
			m.At = base
		}
		if _, err := s.MoveRun(ctx(), m); err != nil {
			t.Fatalf("move %s to %s: %v", id, m.To, err)
		}
	}
}

// testRunScheduling: PromoteQueued readies PROPOSED runs at once and one
// TRACKED run or task per stack at a time, oldest first, naming who blocks
// the others; runs take their stack's worker pool.
func testRunScheduling(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	remote := testStack("remote", space.RootID, "gl")
	remote.WorkerPool = "private"
	mustStack(t, s, remote)
	mustRuns(t, s, newRun("r1", "web", run.Tracked, "a"), newRun("r2", "web", run.Tracked, "b"),
		newRun("r3", "web", run.Proposed, "c"), newRun("r4", "web", run.Task, ""),
		newRun("r5", "api", run.Tracked, "e"), // no such stack: the embedded pool
		newRun("r6", "remote", run.Tracked, "f"))
	p := mustPromote(t, s)
	if want := []string{"r1", "r3", "r5", "r6"}; !slices.Equal(p.Ready, want) {
		t.Errorf("ready = %v, want %v", p.Ready, want)
	}
	if want := map[string]string{"r2": "r1", "r4": "r1"}; !reflect.DeepEqual(p.Blocked, want) {
		t.Errorf("blocked = %v, want %v", p.Blocked, want)
	}
	for i, ev := range p.Events {
		// The event is the run as stored, left QUEUED, where it was since
		// its creation.
		want := run.Event{Run: mustGetRun(t, s, p.Ready[i]), From: run.Queued, To: run.Ready, Since: base}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("event %d = %+v\nwant %+v", i, ev, want)
		}
	}
	if h, _ := s.RunHistory(ctx(), "r1"); len(h) != 2 || h[1].Actor != "scheduler" {
		t.Errorf("history = %+v", h)
	}
	for id, want := range map[string]run.Exec{
		"r2": {RunID: "r2", WorkerPool: run.EmbeddedPool, BlockedBy: "r1", Resources: []run.Resource{}},
		"r5": {RunID: "r5", WorkerPool: run.EmbeddedPool, Resources: []run.Resource{}},
		"r6": {RunID: "r6", WorkerPool: "private", Resources: []run.Resource{}},
		"r0": {RunID: "r0"}, // unknown to the scheduler
	} {
		if e, err := s.GetExec(ctx(), id); err != nil || !reflect.DeepEqual(e, want) {
			t.Errorf("GetExec(%s) = %+v, %v\nwant %+v", id, e, err, want)
		}
	}
	// A pass that changes nothing reports the same blockers and no events.
	if p := mustPromote(t, s); len(p.Ready) != 0 || len(p.Events) != 0 || len(p.Blocked) != 2 {
		t.Errorf("second pass = %+v", p)
	}
	move(t, s, "r1", run.Discarded)
	p = mustPromote(t, s)
	if !slices.Equal(p.Ready, []string{"r2"}) || !reflect.DeepEqual(p.Blocked, map[string]string{"r4": "r2"}) {
		t.Errorf("after r1 ended: %+v; want r2 ready and the task behind it", p)
	}
	if e, _ := s.GetExec(ctx(), "r2"); e.BlockedBy != "" {
		t.Errorf("a promoted run is still blocked by %q", e.BlockedBy)
	}
	// Each pool leases its own runs.
	if got := mustLease(t, s, run.Lease{Pool: "private", Owner: "w", LeaseID: "lp", At: base, TTL: time.Minute}); got.Run.ID != "r6" {
		t.Errorf("the private pool leased %s", got.Run.ID)
	}
}

// testRunLeases: LeaseRun hands out the oldest runnable run once, in the
// phase its type and state call for.
func testRunLeases(t *testing.T, h Harness) {
	s := fresh(t, h)
	if _, ok, err := s.LeaseRun(ctx(), lease("w", "l0")); err != nil || ok {
		t.Fatalf("lease from an empty database = %v, %v", ok, err)
	}
	mustRuns(t, s, newRun("r1", "web", run.Proposed, "a"), newRun("r2", "api", run.Tracked, "b"), newRun("r3", "ops", run.Task, ""))
	mustPromote(t, s)
	if _, ok, _ := s.LeaseRun(ctx(), run.Lease{Pool: "private", Owner: "w", LeaseID: "lx", At: base, TTL: time.Minute}); ok {
		t.Error("another pool leased an embedded run")
	}
	if _, ok, _ := s.LeaseRun(ctx(), run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: "lx", At: base, TTL: time.Minute, StackIDs: []string{"none"}}); ok {
		t.Error("a lease for other stacks took a run")
	}
	for _, want := range []struct {
		id    string
		phase run.Phase
		write bool
	}{{"r1", run.PhasePlan, false}, {"r2", run.PhasePlan, true}, {"r3", run.PhaseTask, true}} {
		got := mustLease(t, s, lease("w1", "l-"+want.id))
		if got.Run.ID != want.id || got.Phase != want.phase || got.TokenWrite != want.write || got.Run.State != run.Preparing {
			t.Errorf("lease = %s %s write=%v %s; want %+v", got.Run.ID, got.Phase, got.TokenWrite, got.Run.State, want)
		}
		if ev := got.Event; ev.From != run.Ready || ev.To != run.Preparing || ev.Run.ID != want.id {
			t.Errorf("lease event = %+v", ev)
		}
	}
	if _, ok, _ := s.LeaseRun(ctx(), lease("w2", "l4")); ok {
		t.Error("a leased run was leased again")
	}
	if h, _ := s.RunHistory(ctx(), "r1"); len(h) != 3 || h[2].Actor != "worker:w1" || h[2].State != run.Preparing {
		t.Errorf("history = %+v", h)
	}
	e, err := s.GetExec(ctx(), "r1")
	expires := base.Add(time.Minute)
	want := run.Exec{RunID: "r1", WorkerPool: run.EmbeddedPool, LeaseID: "l-r1", LeaseOwner: "w1", LeaseExpiresAt: &expires,
		TokenHash: "hash-l-r1", Resources: []run.Resource{}}
	if err != nil || !reflect.DeepEqual(e, want) {
		t.Errorf("GetExec = %+v, %v\nwant %+v", e, err, want)
	}
}

// leasedFixture is a store with the TRACKED run r1 of stack web, leased
// by worker w under l1 at base for a minute.
func leasedFixture(t *testing.T, h Harness) *sqlstore.Store {
	t.Helper()
	s := fresh(t, h)
	mustRuns(t, s, newRun("r1", "web", run.Tracked, "a"))
	mustPromote(t, s)
	mustLease(t, s, lease("w", "l1"))
	return s
}

// testRunLeaseExpiry: a lease lasts until renewed or lost; the reaper sees
// it only once it ran out, and only while it still holds the run.
func testRunLeaseExpiry(t *testing.T, h Harness) {
	s := leasedFixture(t, h)
	renewed := base.Add(2 * time.Minute)
	if r, err := s.RenewLease(ctx(), "r1", "l1", renewed); err != nil || r.State != run.Preparing {
		t.Fatalf("RenewLease = %+v, %v", r, err)
	}
	_, err := s.RenewLease(ctx(), "r1", "l2", renewed)
	wantCode(t, err, apperr.Conflict)
	for _, tc := range []struct {
		at   time.Time
		want []string
	}{{base.Add(time.Minute), []string{}}, {renewed, []string{}}, {renewed.Add(time.Microsecond), []string{"r1"}}} {
		if ids, err := s.ExpiredLeases(ctx(), tc.at); err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("ExpiredLeases(%v) = %v, %v; want %v", tc.at, ids, err, tc.want)
		}
	}
	// The reaper's move loses to a renewal made after it looked.
	_, err = s.MoveRun(ctx(), run.Move{RunID: "r1", To: run.Failed, At: base.Add(time.Minute), LeaseID: "l1", LeaseExpired: true})
	wantCode(t, err, apperr.Conflict)
	moves(t, s, "r1", run.Move{To: run.Failed, At: renewed.Add(time.Second), LeaseID: "l1", LeaseExpired: true, Note: "worker lost"})
	r, err := s.RenewLease(ctx(), "r1", "l1", renewed.Add(time.Hour))
	wantCode(t, err, apperr.Conflict)
	if r.State != run.Failed {
		t.Errorf("RenewLease of an ended run returned %+v; want the run as it is", r)
	}
	if ids, _ := s.ExpiredLeases(ctx(), renewed.Add(time.Hour)); len(ids) != 0 {
		t.Errorf("an ended run's lease is listed: %v", ids)
	}
	_, err = s.RenewLease(ctx(), "nope", "l1", renewed)
	wantCode(t, err, apperr.NotFound)
}

// testMoveRun: a move is a compare-and-set checked against the state
// machine, the caller's expected states and lease; a refused move changes
// nothing.
func testMoveRun(t *testing.T, h Harness) {
	s := leasedFixture(t, h)
	moves(t, s, "r1", run.Move{To: run.Initializing, LeaseID: "l1"}, run.Move{To: run.Planning, LeaseID: "l1"})
	for _, tc := range []struct {
		name string
		m    run.Move
		code apperr.Code
	}{
		{"not in From", run.Move{RunID: "r1", From: []run.State{run.Ready, run.Queued}, To: run.Failed}, apperr.Conflict},
		{"not an edge", run.Move{RunID: "r1", To: run.Performing}, apperr.Conflict},
		{"another lease", run.Move{RunID: "r1", To: run.Finished, LeaseID: "l0"}, apperr.Conflict},
		{"lease still live", run.Move{RunID: "r1", To: run.Failed, LeaseID: "l1", LeaseExpired: true}, apperr.Conflict},
		{"unknown run", run.Move{RunID: "nope", To: run.Failed}, apperr.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.At = base.Add(time.Second)
			_, err := s.MoveRun(ctx(), tc.m)
			wantCode(t, err, tc.code)
			if got := historyStates(t, s, "r1"); len(got) != 5 || mustGetRun(t, s, "r1").State != run.Planning {
				t.Errorf("after a refused move: history %v", got)
			}
		})
	}
}

// testRunMoveRace: movers of one run on two servers at once — exactly one
// wins, the others get a Conflict, and the history has one row more.
func testRunMoveRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const rounds, movers = 10, 8
	targets := []run.State{run.Ready, run.Canceled, run.Discarded, run.Failed}
	for round := range rounds {
		id := fmt.Sprint("r", round)
		mustRuns(t, s1, newRun(id, id, run.Tracked, "a"))
		start := make(chan struct{})
		errs := make(chan error, movers)
		for i := range movers {
			go func() {
				<-start
				m := run.Move{RunID: id, From: []run.State{run.Queued}, To: targets[i%len(targets)], At: base}
				_, err := []*sqlstore.Store{s1, s2}[i%2].MoveRun(ctx(), m)
				errs <- err
			}()
		}
		close(start)
		won := 0
		for range movers {
			if err := <-errs; err == nil {
				won++
			} else {
				wantCode(t, err, apperr.Conflict)
			}
		}
		if got := historyStates(t, s1, id); won != 1 || len(got) != 2 {
			t.Fatalf("round %d: %d concurrent moves won; history %v", round, won, got)
		}
	}
}

// testRunExecEffects: what moves record along a run's life — tool, plan,
// resources, the single apply — and what its end clears: lease, token,
// saved plan and the state lock.
func testRunExecEffects(t *testing.T, h Harness) {
	s := leasedFixture(t, h)
	bin := run.Binary{Tool: "opentofu", Version: "1.10.6"}
	yes := true
	res := []run.Resource{{Address: "aws_s3_bucket.b", Action: "create"}}
	moves(t, s, "r1", run.Move{To: run.Initializing, LeaseID: "l1", Binary: &bin}, run.Move{To: run.Planning, LeaseID: "l1"})
	if _, err := s.RunPlan(ctx(), "r1"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("plan before one was saved: %v", err)
	}
	ev, err := s.MoveRun(ctx(), run.Move{RunID: "r1", To: run.Unconfirmed, At: base, LeaseID: "l1", ReleaseLease: true,
		Delta: &run.Delta{Add: 1}, Resources: res, HasChanges: &yes, PlanSealed: []byte("sealed plan")})
	if err != nil || !ev.Run.Planned || ev.Run.Delta.Add != 1 || ev.From != run.Planning || ev.To != run.Unconfirmed {
		t.Fatalf("planned move = %+v, %v", ev, err)
	}
	e, _ := s.GetExec(ctx(), "r1")
	if e.Binary != bin || !reflect.DeepEqual(e.Resources, res) || !e.HasChanges || !e.HasPlan || e.LeaseID != "" || e.TokenHash != "" || e.LeaseExpiresAt != nil {
		t.Errorf("exec after the plan = %+v", e)
	}
	if plan, err := s.RunPlan(ctx(), "r1"); err != nil || string(plan) != "sealed plan" {
		t.Errorf("RunPlan = %q, %v", plan, err)
	}
	if got, err := s.RunResources(ctx(), "r1"); err != nil || !reflect.DeepEqual(got, res) {
		t.Errorf("RunResources = %+v, %v", got, err)
	}
	if got, err := s.RunResources(ctx(), "nope"); err != nil || got != nil {
		t.Errorf("RunResources of an unknown run = %+v, %v", got, err)
	}
	moves(t, s, "r1", run.Move{To: run.Confirmed, From: []run.State{run.Unconfirmed}})
	if _, ok, _ := s.LeaseRun(ctx(), lease("w", "l2")); ok {
		t.Error("a lease without AllowApply took a CONFIRMED run")
	}
	l := lease("w", "l2")
	l.AllowApply = true
	if got := mustLease(t, s, l); got.Phase != run.PhaseApply || got.Run.State != run.PreparingApply || !got.TokenWrite {
		t.Errorf("apply lease = %+v", got)
	}
	applied := base.Add(time.Minute)
	moves(t, s, "r1", run.Move{To: run.Applying, LeaseID: "l2", StartApply: true, At: applied})
	if _, ok, err := s.LockState(ctx(), state.Lock{StackID: "web", ID: "tf-lock", Info: []byte(`{}`), RunID: "r1", CreatedAt: base}); !ok || err != nil {
		t.Fatalf("lock state: %v, %v", ok, err)
	}
	moves(t, s, "r1", run.Move{To: run.Failed, LeaseID: "l2", Error: "apply failed", ErrorDetail: "Error: denied"})
	e, _ = s.GetExec(ctx(), "r1")
	if e.ApplyStartedAt == nil || !e.ApplyStartedAt.Equal(applied) || e.Error != "apply failed" || e.HasPlan || e.LeaseID != "" || e.TokenHash != "" {
		t.Errorf("exec after the end = %+v", e)
	}
	if r := mustGetRun(t, s, "r1"); r.ErrorDetail != "Error: denied" || !r.Planned {
		t.Errorf("ended run = %+v", r)
	}
	if _, err := s.RunPlan(ctx(), "r1"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("an ended run keeps its plan: %v", err)
	}
	if _, err := s.GetStateLock(ctx(), "web"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("an ended run keeps its state lock: %v", err)
	}
	testRunResourcesInTx(t, s, res)
}

// testRunResourcesInTx: resources recorded inside InTx are read back in
// it, before the commit (the outbox renders them in the same transaction).
func testRunResourcesInTx(t *testing.T, s *sqlstore.Store, res []run.Resource) {
	mustRuns(t, s, newRun("r2", "api", run.Proposed, "b"))
	err := s.InTx(ctx(), func(ctx context.Context) error {
		if _, err := s.MoveRun(ctx, run.Move{RunID: "r2", To: run.Ready, At: base, Resources: res}); err != nil {
			return err
		}
		got, err := s.RunResources(ctx, "r2")
		if !reflect.DeepEqual(got, res) {
			t.Errorf("RunResources in the transaction = %+v, %v", got, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testRunLeaseRace: two servers leasing from one pool at once never hand
// out a run twice.
func testRunLeaseRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const runs = 8
	var rs []run.Run
	for i := range runs {
		rs = append(rs, newRun(fmt.Sprint("r", i), fmt.Sprint("stack", i), run.Tracked, "x"))
	}
	mustRuns(t, s1, rs...)
	mustPromote(t, s1)
	var n atomic.Int64
	claimRace(t, s1, s2, 6, runs, func(s *sqlstore.Store, leaser int) ([]string, error) {
		got, ok, err := s.LeaseRun(ctx(), lease(fmt.Sprint("w", leaser), fmt.Sprint("l", n.Add(1))))
		if !ok {
			return nil, err
		}
		return []string{got.Run.ID}, err
	})
}

// testRunLogs: chunks come back in order, after a position, bounded.
func testRunLogs(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustRuns(t, s, newRun("r1", "web", run.Proposed, "a"), newRun("r2", "web", run.Proposed, "b"))
	var want []run.LogChunk
	for i, c := range []run.LogChunk{
		{RunID: "r1", Phase: "plan", Body: "Initializing...\n"},
		{RunID: "r2", Phase: "plan", Body: "other run\n"},
		{RunID: "r1", Phase: "plan", Body: "Plan: 1 to add\n"},
		{RunID: "r1", Phase: "apply", Body: "Apply complete!\n"},
	} {
		c.At = base.Add(time.Duration(i) * time.Second)
		id, err := s.AppendRunLog(ctx(), c)
		if err != nil {
			t.Fatal(err)
		}
		c.ID = id
		if c.RunID == "r1" {
			want = append(want, c)
		}
	}
	got, err := s.RunLogs(ctx(), "r1", 0, 2)
	if err != nil || !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("first chunks = %+v, %v\nwant %+v", got, err, want[:2])
	}
	got, err = s.RunLogs(ctx(), "r1", want[1].ID, 0)
	if err != nil || !reflect.DeepEqual(got, want[2:]) {
		t.Errorf("chunks after %d = %+v, %v", want[1].ID, got, err)
	}
	if got, err := s.RunLogs(ctx(), "nope", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("logs of an unknown run = %+v, %v", got, err)
	}
}
