package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// newRun is a QUEUED run of stackID; ids sort like the ulids of real runs,
// so tests pick them in creation order ("r01" before "r02").
func newRun(id, stackID string, typ run.Type, sha string) run.Run {
	return run.Run{ID: id, StackID: stackID, Type: typ, State: run.Queued, CommitSHA: sha, CreatedAt: base, UpdatedAt: base}
}

// mustRuns creates rs in one ApplyRunChanges.
func mustRuns(t *testing.T, s *sqlstore.Store, rs ...run.Run) run.Applied {
	t.Helper()
	a, err := s.ApplyRunChanges(ctx(), run.Changes{At: base, Actor: "test", Create: rs})
	if err != nil {
		t.Fatalf("create runs: %v", err)
	}
	return a
}

func mustGetRun(t *testing.T, s *sqlstore.Store, id string) run.Run {
	t.Helper()
	r, err := s.GetRun(ctx(), id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

// historyStates is a run's history as its states, oldest first.
func historyStates(t *testing.T, s *sqlstore.Store, id string) []run.State {
	t.Helper()
	h, err := s.RunHistory(ctx(), id)
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	out := []run.State{}
	for _, tr := range h {
		out = append(out, tr.State)
	}
	return out
}

// testRuns: ApplyRunChanges creates, cancels, links and moves in one
// transaction; GetRun and RunHistory read it back. The steps share one
// database, in order.
func testRuns(t *testing.T, h Harness) {
	s := fresh(t, h)
	t.Run("create", func(t *testing.T) { testRunCreate(t, s) })
	t.Run("refused creations write nothing", func(t *testing.T) { testRunCreateRefused(t, s) })
	t.Run("cancel only from the given states", func(t *testing.T) { testRunCancel(t, s) })
	t.Run("attach a merge request once", func(t *testing.T) { testRunAttach(t, s) })
	t.Run("move tracked commits", func(t *testing.T) { testMoveTrackedCommit(t, s) })
}

// testRunCreate: a run is created QUEUED with its first history row and
// read back whole.
func testRunCreate(t *testing.T, s *sqlstore.Store) {
	r := newRun("r01", "web", run.Tracked, "a1")
	r.Branch, r.MergeRequestIID, r.MergeRequestURL = "main", 7, "https://gitlab.example.com/acme/infra/-/merge_requests/7"
	r.CommitTitle = "Add the web stack ✓"
	r.Trigger, r.TriggeredBy, r.Reason, r.DeliveryID = "push", "gitlab/push:ana", "push to main", "d1"
	r.Delta, r.Planned, r.ErrorDetail = run.Delta{Add: 1, Change: 2, Destroy: 3, Import: 4}, true, "Error: x"
	a := mustRuns(t, s, r)
	if !reflect.DeepEqual(a.Created, []string{"r01"}) || len(a.Events) != 1 {
		t.Fatalf("applied = %+v", a)
	}
	if ev := a.Events[0]; ev.From != "" || ev.To != run.Queued || ev.Note != r.Reason || !reflect.DeepEqual(ev.Run, r) {
		t.Errorf("creation event = %+v\nwant the new run, → QUEUED", ev)
	}
	if got := mustGetRun(t, s, "r01"); !reflect.DeepEqual(got, r) {
		t.Errorf("GetRun = %+v\nwant %+v", got, r)
	}
	h, err := s.RunHistory(ctx(), "r01")
	want := []run.Transition{{RunID: "r01", State: run.Queued, At: base, Actor: "test", Note: r.Reason}}
	if err != nil || !reflect.DeepEqual(h, want) {
		t.Errorf("RunHistory = %+v, %v; want %+v", h, err, want)
	}
	// The event is the run as stored, also when the caller's times carry
	// nanoseconds and a zone the database does not keep.
	odd := newRun("r01b", "web", run.Proposed, "a1b")
	odd.CreatedAt = base.Add(789 * time.Nanosecond).In(time.FixedZone("UTC+1", 3600))
	odd.UpdatedAt, odd.TaskCommand = odd.CreatedAt, []string{}
	if a := mustRuns(t, s, odd); len(a.Events) != 1 || !reflect.DeepEqual(a.Events[0].Run, mustGetRun(t, s, "r01b")) {
		t.Errorf("creation event's run = %+v\nstored %+v", a.Events, mustGetRun(t, s, "r01b"))
	}
	_, err = s.GetRun(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	if h, err := s.RunHistory(ctx(), "nope"); err != nil || len(h) != 0 {
		t.Errorf("history of an unknown run = %+v, %v", h, err)
	}
}

// testRunCreateRefused: event-made runs are unique per stack, SHA and
// type; a duplicate is a Conflict and rolls back the whole Changes.
func testRunCreateRefused(t *testing.T, s *sqlstore.Store) {
	ok := newRun("r02", "web", run.Proposed, "a2")
	dup := newRun("r03", "web", run.Tracked, "a1")
	dup.DeliveryID = "d2"
	_, err := s.ApplyRunChanges(ctx(), run.Changes{At: base, Actor: "test", Create: []run.Run{ok, dup}})
	wantCode(t, err, apperr.Conflict)
	notQueued := newRun("r04", "web", run.Proposed, "a4")
	notQueued.State = run.Ready
	if _, err := s.ApplyRunChanges(ctx(), run.Changes{At: base, Create: []run.Run{notQueued}}); err == nil {
		t.Error("a run created in READY was accepted")
	}
	for _, id := range []string{"r02", "r03", "r04"} {
		_, err := s.GetRun(ctx(), id)
		wantCode(t, err, apperr.NotFound)
	}
	// Runs made otherwise (the API) may repeat a SHA.
	again := newRun("r05", "web", run.Tracked, "a1")
	mustRuns(t, s, again)
}

// testRunCancel: a run is canceled only while in one of the given states.
func testRunCancel(t *testing.T, s *sqlstore.Store) {
	mustRuns(t, s, newRun("r10", "web", run.Proposed, "c1"), newRun("r11", "web", run.Proposed, "c2"), newRun("r12", "web", run.Proposed, "c3"))
	move(t, s, "r11", run.Ready)
	a, err := s.ApplyRunChanges(ctx(), run.Changes{At: base.Add(time.Minute), Actor: "gitlab/push:ana", Cancel: []run.Cancel{
		{RunID: "r10", States: []run.State{run.Queued}, Note: "superseded"},
		{RunID: "r11", States: []run.State{run.Queued}},
		{RunID: "r12"}, // no states: nothing to cancel from
		{RunID: "nope", States: []run.State{run.Queued}},
	}})
	if err != nil || !reflect.DeepEqual(a.Canceled, []string{"r10"}) || len(a.Events) != 1 {
		t.Fatalf("applied = %+v, %v; want r10 canceled", a, err)
	}
	created := mustGetRun(t, s, "r12").CreatedAt // as r10's
	if ev := a.Events[0]; ev.From != run.Queued || !ev.Since.Equal(created) || ev.To != run.Canceled || ev.Note != "superseded" ||
		ev.Reentered || !reflect.DeepEqual(ev.Run, mustGetRun(t, s, "r10")) {
		t.Errorf("cancel event = %+v; want r10 as stored, from QUEUED since %s", ev, created)
	}
	for id, want := range map[string]run.State{"r10": run.Canceled, "r11": run.Ready, "r12": run.Queued} {
		if got := mustGetRun(t, s, id); got.State != want {
			t.Errorf("%s is %s, want %s", id, got.State, want)
		}
	}
	h, _ := s.RunHistory(ctx(), "r10")
	if len(h) != 2 || h[1].State != run.Canceled || h[1].Actor != "gitlab/push:ana" || h[1].Note != "superseded" || !h[1].At.Equal(base.Add(time.Minute)) {
		t.Errorf("history of the canceled run = %+v", h)
	}
}

// testRunAttach: a run is linked to a merge request only when it has none.
func testRunAttach(t *testing.T, s *sqlstore.Store) {
	mustRuns(t, s, newRun("r20", "web", run.Proposed, "m1"))
	attach := func(iid int64) run.Applied {
		t.Helper()
		a, err := s.ApplyRunChanges(ctx(), run.Changes{At: base.Add(time.Hour), Attach: []run.AttachMergeRequest{{RunID: "r20", IID: iid, URL: "u"}}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := attach(12); len(a.Events) != 1 || !a.Events[0].Attached || a.Events[0].Run.MergeRequestIID != 12 {
		t.Errorf("first attach = %+v", a)
	}
	if a := attach(13); len(a.Events) != 0 {
		t.Errorf("second attach = %+v; want no change", a)
	}
	if r := mustGetRun(t, s, "r20"); r.MergeRequestIID != 12 || r.MergeRequestURL != "u" || !r.UpdatedAt.Equal(base.Add(time.Hour)) {
		t.Errorf("attached run = %+v", r)
	}
}

// testMoveTrackedCommit: a Move of Changes moves the stack's tracked
// commit on its branch only, and a stack deleted meanwhile is no error.
func testMoveTrackedCommit(t *testing.T, s *sqlstore.Store) {
	if err := s.CreateIntegration(ctx(), testIntegration("gl", space.RootID, true), entry("integration.create", "gl")); err != nil {
		t.Fatal(err)
	}
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	at := base.Add(2 * time.Hour)
	_, err := s.ApplyRunChanges(ctx(), run.Changes{At: at, Move: []run.TrackedCommit{
		{StackID: "web", SHA: "b1", Branch: "main"},
		{StackID: "gone", SHA: "b1", Branch: "main"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplyRunChanges(ctx(), run.Changes{At: at, Move: []run.TrackedCommit{{StackID: "web", SHA: "b2", Branch: "feature"}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.GetStack(ctx(), "web")
	want := &stack.TrackedCommit{SHA: "b1", Branch: "main", MovedAt: at}
	if err != nil || !reflect.DeepEqual(st.TrackedCommit, want) {
		t.Errorf("tracked commit = %+v, %v; want %+v (a push to another branch moves nothing)", st.TrackedCommit, err, want)
	}
}

// testListRuns: newest first, filtered, paged with a cursor.
func testListRuns(t *testing.T, h Harness) {
	s := fresh(t, h)
	for i, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		r := newRun(id, []string{"web", "api"}[i%2], run.Proposed, id)
		if i < 2 {
			r.DeliveryID = "d1"
		}
		mustRuns(t, s, r)
	}
	move(t, s, "r2", run.Ready)
	for _, tc := range []struct {
		name string
		f    run.Filter
		want []string
	}{
		{"all", run.Filter{}, []string{"r5", "r4", "r3", "r2", "r1"}},
		{"stack", run.Filter{StackID: "web"}, []string{"r5", "r3", "r1"}},
		{"delivery", run.Filter{DeliveryID: "d1"}, []string{"r2", "r1"}},
		{"states", run.Filter{States: []run.State{run.Ready, run.Canceled}}, []string{"r2"}},
		{"everything", run.Filter{StackID: "api", DeliveryID: "d1", States: []run.State{run.Ready}}, []string{"r2"}},
		{"nothing", run.Filter{StackID: "none"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allPages(t, 2, func(cursor string) ([]run.Run, string, error) {
				return s.ListRuns(ctx(), tc.f, cursor, 2)
			}, func(r run.Run) string { return r.ID })
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
	_, _, err := s.ListRuns(ctx(), run.Filter{}, "not a cursor!", 2)
	wantField(t, err, "cursor")
}

// testRunsForEvent: the runs an event's planning looks at — every run at
// the SHA, and the active PROPOSED runs of the branch or merge request —
// among the given stacks only.
func testRunsForEvent(t *testing.T, h Harness) {
	s := fresh(t, h)
	mk := func(id, stackID string, typ run.Type, sha, branch string, mr int64) run.Run {
		r := newRun(id, stackID, typ, sha)
		r.Branch, r.MergeRequestIID = branch, mr
		return r
	}
	mustRuns(t, s,
		mk("r1", "web", run.Tracked, "s1", "main", 0),
		mk("r2", "web", run.Proposed, "s2", "feature", 4),
		mk("r3", "web", run.Proposed, "s3", "feature", 0),
		mk("r4", "api", run.Proposed, "s1", "feature", 4),
		mk("r5", "web", run.Tracked, "s4", "feature", 0), // tracked: not matched by branch
		mk("r6", "web", run.Proposed, "s5", "other", 4),
	)
	move(t, s, "r3", run.Canceled)
	t.Run("fields", func(t *testing.T) {
		rs, err := s.RunsForEvent(ctx(), []string{"web"}, "s2", "", 0, nil)
		full := mustGetRun(t, s, "r2")
		want := run.EventRun{ID: full.ID, StackID: full.StackID, Type: full.Type, State: full.State, CommitSHA: full.CommitSHA,
			Branch: full.Branch, MergeRequestIID: full.MergeRequestIID, DeliveryID: full.DeliveryID, CreatedAt: full.CreatedAt}
		if err != nil || len(rs) != 1 || !reflect.DeepEqual(rs[0], want) {
			t.Errorf("RunsForEvent = %+v, %v\nwant %+v", rs, err, want)
		}
	})
	active := []run.State{run.Queued, run.Ready}
	// More stacks than a statement names (filtered after it instead).
	many := []string{"web"}
	for i := range 40 {
		many = append(many, fmt.Sprintf("other-%d", i))
	}
	for _, tc := range []struct {
		name   string
		stacks []string
		sha    string
		branch string
		mr     int64
		active []run.State
		want   []string
	}{
		{"sha", []string{"web", "api"}, "s1", "", 0, active, []string{"r1", "r4"}},
		{"sha of chosen stacks", []string{"web"}, "s1", "", 0, active, []string{"r1"}},
		{"branch", []string{"web"}, "", "feature", 0, active, []string{"r2"}},
		{"branch and ended", []string{"web"}, "", "feature", 0, []run.State{run.Queued, run.Canceled}, []string{"r2", "r3"}},
		{"merge request", []string{"web", "api"}, "", "", 4, active, []string{"r2", "r4", "r6"}},
		{"no states: sha only", []string{"web"}, "s2", "feature", 4, nil, []string{"r2"}},
		{"all at once, each once", []string{"web", "api"}, "s2", "feature", 4, active, []string{"r2", "r4", "r6"}},
		{"no stacks", nil, "s1", "feature", 4, active, []string{}},
		{"many stacks", many, "s1", "feature", 4, active, []string{"r1", "r2", "r6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := s.RunsForEvent(ctx(), tc.stacks, tc.sha, tc.branch, tc.mr, tc.active)
			got := []string{}
			for _, r := range rs {
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("RunsForEvent = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// move moves a run to state to with no other condition, as the run
// service does for a user's action.
func move(t *testing.T, s *sqlstore.Store, id string, to run.State) run.Event {
	t.Helper()
	ev, err := s.MoveRun(ctx(), run.Move{RunID: id, To: to, At: base, Actor: "test"})
	if err != nil {
		t.Fatalf("move %s to %s: %v", id, to, err)
	}
	return ev
}

// testRunVariables: a stack's variables, upserted by name and deleted with
// the stack.
func testRunVariables(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	plain := run.Variable{StackID: "web", Name: "REGION", Value: "eu-west-1", UpdatedAt: base}
	sealed := run.Variable{StackID: "web", Name: "API_KEY", Secret: true, Sealed: []byte{9, 8, 7}, UpdatedAt: base}
	for _, v := range []run.Variable{plain, sealed} {
		if err := s.PutStackVariable(ctx(), v); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.PutStackVariable(ctx(), run.Variable{StackID: "nope", Name: "X", UpdatedAt: base}), apperr.NotFound)
	vs, err := s.ListStackVariables(ctx(), "web")
	if err != nil || !reflect.DeepEqual(vs, []run.Variable{sealed, plain}) {
		t.Errorf("ListStackVariables = %+v, %v; want by name", vs, err)
	}
	// A put replaces the variable, also from secret to plain.
	replaced := run.Variable{StackID: "web", Name: "API_KEY", Value: "public", UpdatedAt: base.Add(time.Hour)}
	if err := s.PutStackVariable(ctx(), replaced); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.ListStackVariables(ctx(), "web"); len(vs) != 2 || !reflect.DeepEqual(vs[0], replaced) {
		t.Errorf("after replacing: %+v", vs)
	}
	if err := s.DeleteStackVariable(ctx(), "web", "REGION"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteStackVariable(ctx(), "web", "REGION"), apperr.NotFound)
	if err := s.DeleteStack(ctx(), "web", stackEntry("stack.delete", "web")); err != nil {
		t.Fatal(err)
	}
	if vs, err := s.ListStackVariables(ctx(), "web"); err != nil || len(vs) != 0 {
		t.Errorf("variables of a deleted stack = %+v, %v", vs, err)
	}
}

// testWorkerPools: pools by unique name, found by their token's hash.
func testWorkerPools(t *testing.T, h Harness) {
	s := fresh(t, h)
	b := run.Pool{ID: "b", Name: "B", TokenHash: "hash-b", CreatedAt: base, CreatedBy: "user:admin"}
	a := run.Pool{ID: "a", Name: "A", TokenHash: "hash-a", CreatedAt: base.Add(time.Hour)}
	for _, p := range []run.Pool{b, a} {
		if err := s.CreateWorkerPool(ctx(), p); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.CreateWorkerPool(ctx(), run.Pool{ID: "c", Name: "A", TokenHash: "h", CreatedAt: base}), apperr.Conflict)
	ps, err := s.ListWorkerPools(ctx())
	if err != nil || !reflect.DeepEqual(ps, []run.Pool{a, b}) {
		t.Errorf("ListWorkerPools = %+v, %v; want by id", ps, err)
	}
	if p, err := s.WorkerPoolByTokenHash(ctx(), "hash-b"); err != nil || !reflect.DeepEqual(p, b) {
		t.Errorf("WorkerPoolByTokenHash = %+v, %v", p, err)
	}
	_, err = s.WorkerPoolByTokenHash(ctx(), "hash-x")
	wantCode(t, err, apperr.NotFound)
	if err := s.DeleteWorkerPool(ctx(), "b"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteWorkerPool(ctx(), "b"), apperr.NotFound)
	_, err = s.WorkerPoolByTokenHash(ctx(), "hash-b")
	wantCode(t, err, apperr.NotFound)
	if ps, _ := s.ListWorkerPools(ctx()); len(ps) != 1 || ps[0].ID != "a" {
		t.Errorf("after delete: %+v", ps)
	}
}
