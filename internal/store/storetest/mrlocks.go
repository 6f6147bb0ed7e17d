package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// testMRLocks: a stack is locked for one merge request at a time. The same
// merge request locks it again (a new apply run); another is refused and
// told who holds it; releasing frees only the merge request's own locks;
// a lock goes with its stack; a lock rolled back with its transaction was
// never taken; of merge requests locking at once, exactly one wins.
func testMRLocks(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	for _, id := range []string{"s1", "s2", "s3"} {
		mustStack(t, s, testStack(id, space.RootID, "gl"))
	}
	lock := func(ctx context.Context, stackID string, iid int64, run string, at time.Time) (stack.MRLock, stack.MRLock, bool) {
		t.Helper()
		l := stack.MRLock{StackID: stackID, MergeRequestIID: iid, MergeRequestURL: fmt.Sprintf("https://gitlab.example/acme/infra/-/merge_requests/%d", iid),
			LockedBy: fmt.Sprintf("user%d", iid), RunID: run, LockedAt: at, HeadSHA: strings.Repeat(run+"0", 40)[:40],
			MRStacks: []string{stackID, "s3"}}
		holder, locked, err := s.LockStackForMR(ctx, l)
		if err != nil {
			t.Fatalf("LockStackForMR(%s, !%d) = %v", stackID, iid, err)
		}
		return l, holder, locked
	}
	read := func(stackID string) *stack.MRLock {
		t.Helper()
		l, err := s.StackMRLock(ctx(), stackID)
		if err != nil {
			t.Fatalf("StackMRLock(%s) = %v", stackID, err)
		}
		return l
	}

	if l := read("s1"); l != nil {
		t.Fatalf("a new stack is locked: %+v", l)
	}
	first, holder, locked := lock(ctx(), "s1", 7, "", base)
	if !locked || !reflect.DeepEqual(holder, first) {
		t.Fatalf("first lock = %+v, %v", holder, locked)
	}
	if l := read("s1"); l == nil || !reflect.DeepEqual(*l, first) {
		t.Fatalf("StackMRLock = %+v, want %+v", l, first)
	}
	again, holder, locked := lock(ctx(), "s1", 7, "r2", base.Add(time.Minute))
	if !locked || !reflect.DeepEqual(holder, again) {
		t.Fatalf("the same merge request's relock = %+v, %v", holder, locked)
	}
	if l := read("s1"); l == nil || !reflect.DeepEqual(*l, again) {
		t.Fatalf("after a relock StackMRLock = %+v, want %+v", l, again)
	}
	if _, holder, locked := lock(ctx(), "s1", 8, "r3", base.Add(2*time.Minute)); locked || !reflect.DeepEqual(holder, again) {
		t.Fatalf("another merge request's lock = %+v, %v; want refused, held by %+v", holder, locked, again)
	}
	if l := read("s1"); l == nil || !reflect.DeepEqual(*l, again) {
		t.Fatalf("a refused lock changed it: %+v", l)
	}
	other, _, _ := lock(ctx(), "s2", 8, "r4", base)
	_, _, err := s.LockStackForMR(ctx(), stack.MRLock{StackID: "ghost", MergeRequestIID: 1, LockedBy: "u", LockedAt: base})
	wantCode(t, err, apperr.NotFound)

	locks, err := s.StackMRLocks(ctx(), amongMany("s2", "s1", "s3", "ghost"))
	if want := map[string]stack.MRLock{"s1": again, "s2": other}; err != nil || !reflect.DeepEqual(locks, want) {
		t.Errorf("StackMRLocks = %+v, %v\nwant %+v", locks, err, want)
	}
	if locks, err := s.StackMRLocks(ctx(), nil); err != nil || len(locks) != 0 {
		t.Errorf("StackMRLocks(nil) = %+v, %v", locks, err)
	}

	rollback := errors.New("roll back")
	err = s.InTx(ctx(), func(ctx context.Context) error {
		if _, _, locked := lock(ctx, "s3", 9, "r5", base); !locked {
			t.Error("lock in a transaction refused")
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	if l := read("s3"); l != nil {
		t.Errorf("a rolled-back lock survived: %+v", l)
	}

	// Release: only merge request 7's own lock, of the stacks named.
	if got, err := s.ReleaseMRLocks(ctx(), []string{"s2", "s3"}, 7); err != nil || len(got) != 0 {
		t.Errorf("ReleaseMRLocks of stacks !7 does not hold = %v, %v", got, err)
	}
	if got, err := s.ReleaseMRLocks(ctx(), []string{"s1", "s2", "s3"}, 7); err != nil || !slices.Equal(got, []string{"s1"}) {
		t.Errorf("ReleaseMRLocks(!7) = %v, %v; want [s1]", got, err)
	}
	if l := read("s1"); l != nil {
		t.Errorf("released lock still there: %+v", l)
	}
	if l := read("s2"); l == nil || !reflect.DeepEqual(*l, other) {
		t.Errorf("another merge request's lock was released: %+v", l)
	}
	if _, holder, locked := lock(ctx(), "s1", 8, "r6", base); !locked || holder.MergeRequestIID != 8 {
		t.Errorf("lock after a release = %+v, %v", holder, locked)
	}
	if got, err := s.ReleaseMRLocks(ctx(), amongMany("s2", "s1"), 8); err != nil || !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("ReleaseMRLocks(!8) = %v, %v; want [s1 s2], sorted", got, err)
	}
	if got, err := s.ReleaseMRLocks(ctx(), nil, 8); err != nil || len(got) != 0 {
		t.Errorf("ReleaseMRLocks(nil) = %v, %v", got, err)
	}

	// A lock goes with its stack.
	lock(ctx(), "s3", 9, "", base)
	if err := s.DeleteStack(ctx(), "s3", stackEntry("stack.delete", "s3")); err != nil {
		t.Fatalf("delete a locked stack: %v", err)
	}
	if l := read("s3"); l != nil {
		t.Errorf("the lock of a deleted stack survived: %+v", l)
	}

}

// testMRLockRace: merge requests locking one stack at once, on two stores
// (two servers on one database): exactly one wins, and every other is
// told that one holds the stack.
func testMRLockRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	it := testIntegration("gl", space.RootID, true)
	if err := s1.CreateIntegration(ctx(), it, entry("integration.create", it.ID)); err != nil {
		t.Fatal(err)
	}
	mustStack(t, s1, testStack("infra", space.RootID, "gl"))
	const n = 8
	type result struct {
		iid    int64
		holder stack.MRLock
		locked bool
		err    error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			iid := int64(i + 1)
			holder, locked, err := []*sqlstore.Store{s1, s2}[i%2].LockStackForMR(ctx(),
				stack.MRLock{StackID: "infra", MergeRequestIID: iid, LockedBy: "u", LockedAt: base})
			results <- result{iid, holder, locked, err}
		})
	}
	wg.Wait()
	close(results)
	var winners []int64
	var all []result
	for r := range results {
		if r.err != nil {
			t.Fatalf("LockStackForMR(!%d) = %v", r.iid, r.err)
		}
		if r.locked {
			winners = append(winners, r.iid)
		}
		all = append(all, r)
	}
	if len(winners) != 1 {
		t.Fatalf("%d merge requests locked the stack (%v), want 1", len(winners), winners)
	}
	for _, r := range all {
		if r.holder.MergeRequestIID != winners[0] {
			t.Errorf("!%d was told !%d holds the stack; !%d does", r.iid, r.holder.MergeRequestIID, winners[0])
		}
	}
	if l, err := s2.StackMRLock(ctx(), "infra"); err != nil || l == nil || l.MergeRequestIID != winners[0] {
		t.Errorf("StackMRLock = %+v, %v; want !%d", l, err, winners[0])
	}
}

// testMRLockScheduling: while a merge request holds a stack locked, the
// scheduler keeps the stack's other tracked runs QUEUED (blocked by the
// run that took the lock) and promotes the merge request's own; proposed
// runs are not held. Released, the others go on.
func testMRLockScheduling(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	own := newRun("r2", "web", run.Tracked, "b")
	own.MergeRequestIID = 7
	mustRuns(t, s, newRun("r1", "web", run.Tracked, "a"), own, newRun("r3", "web", run.Proposed, "c"))
	if _, locked, err := s.LockStackForMR(ctx(), stack.MRLock{StackID: "web", MergeRequestIID: 7, LockedBy: "mia",
		RunID: "r0", LockedAt: base}); err != nil || !locked {
		t.Fatalf("lock: %v, %v", locked, err)
	}
	p := mustPromote(t, s)
	if want := []string{"r2", "r3"}; !slices.Equal(p.Ready, want) {
		t.Errorf("ready = %v, want %v (the merge request's run and the proposed one)", p.Ready, want)
	}
	if want := map[string]string{"r1": "r0"}; !reflect.DeepEqual(p.Blocked, want) {
		t.Errorf("blocked = %v, want %v", p.Blocked, want)
	}
	if _, err := s.ReleaseMRLocks(ctx(), []string{"web"}, 7); err != nil {
		t.Fatal(err)
	}
	move(t, s, "r2", run.Discarded)
	if p := mustPromote(t, s); !slices.Equal(p.Ready, []string{"r1"}) {
		t.Errorf("after the release: ready = %v, want [r1]", p.Ready)
	}
}

// testMRMerges: a merge request merged after applying stacks is found by
// its merge commit or, for a fast-forward merge, its head; a redelivered
// merge event updates the one row; other stacks and commits find nothing;
// the rows go with their stack.
func testMRMerges(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	for _, id := range []string{"s1", "s2"} {
		mustStack(t, s, testStack(id, space.RootID, "gl"))
	}
	head, merge, other := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	m := stack.MRMerge{StackID: "s1", MergeRequestIID: 7, MergeRequestURL: "https://gitlab.example/acme/infra/-/merge_requests/7",
		HeadSHA: head, MergeCommitSHA: merge, MergedAt: base}
	ff := stack.MRMerge{StackID: "s2", MergeRequestIID: 8, HeadSHA: other, MergedAt: base}
	if err := s.RecordMRMerges(ctx(), []stack.MRMerge{m, ff}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stack, sha string
		want       *stack.MRMerge
	}{
		{"s1", merge, &m}, {"s1", head, &m}, {"s1", other, nil}, {"s2", other, &ff}, {"s2", merge, nil}, {"ghost", merge, nil},
	} {
		got, err := s.MRMergeAt(ctx(), tc.stack, tc.sha)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MRMergeAt(%s, %.8s) = %+v, %v; want %+v", tc.stack, tc.sha, got, err, tc.want)
		}
	}
	again := m
	again.MergedAt = base.Add(time.Minute)
	if err := s.RecordMRMerges(ctx(), []stack.MRMerge{again}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.MRMergeAt(ctx(), "s1", merge); err != nil || got == nil || !got.MergedAt.Equal(again.MergedAt) {
		t.Errorf("after a redelivery: %+v, %v", got, err)
	}
	if err := s.RecordMRMerges(ctx(), nil); err != nil {
		t.Errorf("RecordMRMerges(nil) = %v", err)
	}
	if err := s.RecordMRMerges(ctx(), []stack.MRMerge{{StackID: "ghost", MergeRequestIID: 1, HeadSHA: head, MergedAt: base}}); err == nil {
		t.Error("a merge of a missing stack was recorded")
	}
	if err := s.DeleteStack(ctx(), "s1", stackEntry("stack.delete", "s1")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.MRMergeAt(ctx(), "s1", merge); err != nil || got != nil {
		t.Errorf("after the stack's deletion: %+v, %v", got, err)
	}
}

// testMRAutomerge: a merge request is ready to merge when the finishing
// apply run completes it — every stack it changed locked by it at the same
// head, with its apply run finished and mr_automerge on — and not before,
// nor for an older head, nor when a stack has automerge off.
func testMRAutomerge(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	for _, id := range []string{"s1", "s2", "s3"} {
		st := testStack(id, space.RootID, "gl")
		st.MRApply, st.MRAutomerge = true, id != "s3"
		mustStack(t, s, st)
	}
	head, old := strings.Repeat("a", 40), strings.Repeat("b", 40)
	mustRuns(t, s, newRun("r1", "s1", run.Tracked, head), newRun("r2", "s2", run.Tracked, head), newRun("r3", "s3", run.Tracked, head))
	lock := func(stackID, runID, sha string, stacks ...string) {
		t.Helper()
		if _, locked, err := s.LockStackForMR(ctx(), stack.MRLock{StackID: stackID, MergeRequestIID: 7, LockedBy: "mia", RunID: runID,
			LockedAt: base, HeadSHA: sha, MRStacks: stacks}); err != nil || !locked {
			t.Fatalf("lock %s: %v, %v", stackID, locked, err)
		}
	}
	ready := func(stackID, runID string) bool {
		t.Helper()
		ok, l, err := s.MRAutomergeReady(ctx(), stackID, runID)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (l.MergeRequestIID != 7 || l.HeadSHA != head) {
			t.Errorf("ready with lock %+v", l)
		}
		return ok
	}
	finish := func(id string) {
		t.Helper()
		for _, to := range []run.State{run.Ready, run.Preparing, run.Initializing, run.Planning, run.Applying, run.Finished} {
			move(t, s, id, to)
		}
	}

	if ready("s1", "r1") {
		t.Error("ready without a lock")
	}
	lock("s1", "r1", head, "s1", "s2")
	if ready("s1", "r1") {
		t.Error("ready while s2, which the merge request changes, has not applied")
	}
	lock("s2", "r2", old, "s1", "s2")
	if ready("s1", "r1") {
		t.Error("ready with s2 applied at an older head")
	}
	lock("s2", "r2", head, "s1", "s2")
	if ready("s1", "r1") {
		t.Error("ready while s2's apply run has not finished")
	}
	finish("r2")
	if !ready("s1", "r1") {
		t.Error("not ready once s2 finished and s1's run finishes")
	}
	if ready("s1", "r9") {
		t.Error("ready for a run that does not hold s1's lock")
	}
	finish("r1")
	lock("s3", "r3", head, "s1", "s2", "s3")
	if !ready("s2", "r2") {
		t.Error("s1 and s2 finished: not ready for s2's run")
	}
	if ready("s3", "r3") {
		t.Error("ready although s3 has automerge off")
	}
}
