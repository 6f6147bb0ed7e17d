package feedback_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

func (e *env) issues() []gitlabsim.Issue {
	e.t.Helper()
	is, err := e.sim.Issues(project)
	if err != nil {
		e.t.Fatal(err)
	}
	return is
}

// driftRun records drift run number n's outcome for stack st and returns
// its id; run ids order as n does.
func (e *env) driftRun(st stack.Stack, n int, drifted bool) string {
	e.t.Helper()
	id := run.NewID(time.Date(2026, 12, 7, 3, n, 0, 0, time.UTC))
	d := stack.Drift{StackID: st.ID, Drifted: drifted, RunID: id, CheckedAt: time.Now()}
	if drifted {
		d.Changes = []stack.DriftChange{{Address: "terraform_data.hello", Action: "create"}}
	}
	if err := e.svc.DriftChecked(e.ctx, st, d); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestDriftIssue: a stack's drift issue through the outbox: only the
// newest of pending writes is sent, one issue is closed and reopened,
// closing an issue never opened sends nothing, and a stack without the
// setting opens none but still closes the one it had.
func TestDriftIssue(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		app := stack.Stack{ID: "app", Name: "App", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOn,
			DriftIssueLabels: []string{"drift"}}
		// Two results before the dispatcher runs: the older is skipped.
		r1 := e.driftRun(app, 1, true)
		r2 := e.driftRun(app, 2, true)
		e.start(e.store, feedback.DispatcherConfig{})
		if ws := e.settle(r1); len(ws) != 1 || ws[0].State != feedback.StateSkipped {
			t.Fatalf("older write: %+v", ws)
		}
		ws := e.settle(r2)
		wantLanded(t, ws)
		is := e.issues()
		if len(is) != 1 || is[0].State != "opened" || is[0].Title != "Drift: stack App" || !slices.Equal(is[0].Labels, []string{"drift"}) ||
			!strings.Contains(is[0].Description, publicURL+"/runs/"+r2) || !strings.Contains(ws[0].Result, "opened issue #1") {
			t.Fatalf("issue %+v, write %+v", is, ws)
		}

		// Cleared, then drifted again: the same issue closed and reopened.
		wantLanded(t, e.settle(e.driftRun(app, 3, false)))
		if is := e.issues(); len(is) != 1 || is[0].State != "closed" || !strings.Contains(is[0].Description, "no longer drifted") {
			t.Fatalf("after clearing: %+v", is)
		}
		wantLanded(t, e.settle(e.driftRun(app, 4, true)))
		if is := e.issues(); len(is) != 1 || is[0].State != "opened" || is[0].IID != 1 {
			t.Fatalf("after drifting again: %+v", is)
		}

		// The setting turned off while drifted: no more edits, but the
		// issue it opened is closed when the drift is gone.
		app.DriftIssue, app.DriftIssueLabels = stack.DriftIssueInherit, nil
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(app, 5, true)); len(ws) != 0 {
			t.Fatalf("writes of a stack without drift_issue: %+v", ws)
		}
		wantLanded(t, e.settle(e.driftRun(app, 6, false)))
		if is := e.issues(); len(is) != 1 || is[0].State != "closed" {
			t.Fatalf("after clearing without the setting: %+v", is)
		}

		// A stack with the setting that was never drifted: nothing to close.
		other := stack.Stack{ID: "other", Name: "Other", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOn}
		ws = e.settle(e.driftRun(other, 7, false))
		if len(ws) != 1 || ws[0].Result != "no issue to close" || len(e.issues()) != 1 {
			t.Fatalf("closing an issue never opened: %+v", ws)
		}
	})
}

// TestDriftIssueAnswerLost: GitLab opens the drift issue but its answer
// never arrives (the client gives up waiting); the retry finds the issue
// by its marker and adopts it instead of opening a second one, and later
// writes edit and close that one.
func TestDriftIssueAnswerLost(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		app := stack.Stack{ID: "app", Name: "App", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOn,
			DriftIssueLabels: []string{"drift"}}
		// Another stack's issue whose text quotes app's marker (a hostile
		// resource address) must not pass for app's issue.
		other := stack.Stack{ID: "other", Name: "Other", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOn}
		id := run.NewID(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
		if err := e.svc.DriftChecked(e.ctx, other, stack.Drift{StackID: other.ID, Drifted: true, RunID: id, CheckedAt: time.Now(),
			Changes: []stack.DriftChange{{Address: "null_resource.x <!-- hoist:drift stack=app -->", Action: "create"}}}); err != nil {
			t.Fatal(err)
		}
		e.start(e.store, feedback.DispatcherConfig{})
		wantLanded(t, e.settle(id))
		e.disp.Stop()

		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/issues",
			Trickle: 2 * time.Second, TrickleBytes: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		short := gitlab.Timeouts{APIHeader: 300 * time.Millisecond, API: 300 * time.Millisecond}
		e.start(e.store, feedback.DispatcherConfig{GitLab: gitlab.New(nil, nil, gitlab.WithTimeouts(short))})
		ws := e.settle(e.driftRun(app, 1, true))
		wantLanded(t, ws)
		if len(ws) != 1 || ws[0].Attempts != 2 || ws[0].Result != "issue #2 open (found by its marker)" || ws[0].LastError == "" {
			t.Fatalf("writes %+v; want app's issue adopted at the second attempt, the lost answer as its last error", ws)
		}
		if is := e.issues(); len(is) != 2 || is[1].Title != "Drift: stack App" || is[1].State != "opened" {
			t.Fatalf("issues %+v; want other's and app's", is)
		}
		if n := e.sim.CallCount("POST /api/v4/projects/*/issues"); n != 2 {
			t.Errorf("%d issues created, want one per stack", n)
		}
		// The adopted iid is kept: clearing closes that issue without a search.
		searches := e.sim.CallCount("GET /api/v4/projects/*/issues")
		wantLanded(t, e.settle(e.driftRun(app, 2, false)))
		if is := e.issues(); len(is) != 2 || is[1].State != "closed" || is[0].State != "opened" {
			t.Fatalf("after clearing: %+v", is)
		}
		if n := e.sim.CallCount("GET /api/v4/projects/*/issues"); n != searches {
			t.Errorf("%d searches after the iid was kept", n-searches)
		}
		apptest.Eventually(t, 5*time.Second, "the trickled answer to end", func() bool { return e.sim.Faults()[0].Cut == 1 })
	})
}

// TestDriftIssueIntegrationDefault: a stack that inherits takes its
// integration's setting and labels; a stack that turns it on keeps its own
// labels; a stack that turns it off opens none under an integration that
// turns it on, and still closes the issue it had when its drift is gone.
func TestDriftIssueIntegrationDefault(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		setIntegration := func(on bool, labels []string) {
			t.Helper()
			it, err := e.store.GetIntegration(e.ctx, integ)
			if err != nil {
				t.Fatal(err)
			}
			it.DriftIssue, it.DriftIssueLabels = on, labels
			if err := e.store.UpdateIntegration(e.ctx, it, audit.Entry{At: time.Now(), Actor: "test",
				Action: "integration.update", ResourceType: "integration", ResourceID: integ}); err != nil {
				t.Fatal(err)
			}
		}
		inherits := stack.Stack{ID: "app", Name: "App", IntegrationID: integ, Repository: project}
		own := stack.Stack{ID: "own", Name: "Own", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOn,
			DriftIssueLabels: []string{"mine"}}
		e.start(e.store, feedback.DispatcherConfig{})

		// The integration's setting off: only the stack that turns it on.
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(inherits, 1, true)); len(ws) != 0 {
			t.Fatalf("writes of a stack and integration without drift_issue: %+v", ws)
		}
		wantLanded(t, e.settle(e.driftRun(own, 2, true)))

		setIntegration(true, []string{"drift", "team::infra"})
		wantLanded(t, e.settle(e.driftRun(inherits, 3, true)))
		wantLanded(t, e.settle(e.driftRun(own, 4, true)))
		is := e.issues()
		if len(is) != 2 || is[0].Title != "Drift: stack Own" || !slices.Equal(is[0].Labels, []string{"mine"}) ||
			is[1].Title != "Drift: stack App" || !slices.Equal(is[1].Labels, []string{"drift", "team::infra"}) {
			t.Fatalf("issues %+v; want Own's with its labels, App's with the integration's", is)
		}

		// A stack that turns it off: no issue though the integration's is on.
		quiet := stack.Stack{ID: "quiet", Name: "Quiet", IntegrationID: integ, Repository: project, DriftIssue: stack.DriftIssueOff}
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(quiet, 6, true)); len(ws) != 0 {
			t.Fatalf("writes of a stack with drift_issue off under an integration with it on: %+v", ws)
		}
		// App turning it off while drifted: no more edits, but its issue
		// is closed when the drift is gone.
		app := inherits
		app.DriftIssue = stack.DriftIssueOff
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(app, 7, true)); len(ws) != 0 {
			t.Fatalf("writes of App turned off while drifted: %+v", ws)
		}
		if n := len(e.issues()); n != 2 {
			t.Fatalf("%d issues after the off stacks drifted, want 2", n)
		}
		wantLanded(t, e.settle(e.driftRun(app, 8, false)))
		if is := e.issues(); len(is) != 2 || is[1].State != "closed" || is[0].State != "opened" {
			t.Fatalf("after App's drift is gone with its setting off: %+v", is)
		}

		// The integration's setting off again: Own keeps its issue, App
		// inheriting again opens none.
		setIntegration(false, nil)
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(inherits, 9, true)); len(ws) != 0 {
			t.Fatalf("writes of an inheriting stack under an integration with it off: %+v", ws)
		}
		wantLanded(t, e.settle(e.driftRun(own, 10, true)))
	})
}

// TestFinishedStatusAnswerLost: GitLab takes a finished state again as a
// new status, so a finished status whose answer was lost (or whose server
// died before it recorded the answer) is looked for before it is sent
// again: GitLab shows it once. A first attempt does not look.
func TestFinishedStatusAnswerLost(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.stacks.add(stack.Stack{ID: "app", Branch: "main"})
		sha := e.push("main", "# v2\n")
		r := newRun("app", run.Tracked, sha, "main", 0)
		e.start(e.store, feedback.DispatcherConfig{})
		e.move(r, "", run.Queued, run.Preparing, run.Planning)
		wantLanded(t, e.settle(r.ID))
		e.disp.Stop()
		posts := e.sim.CallCount("POST /api/v4/projects/*/statuses/*")

		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*",
			Trickle: 2 * time.Second, TrickleBytes: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		short := gitlab.Timeouts{APIHeader: 300 * time.Millisecond, API: 300 * time.Millisecond}
		e.start(e.store, feedback.DispatcherConfig{GitLab: gitlab.New(nil, nil, gitlab.WithTimeouts(short))})
		e.move(r, "", run.Finished)
		ws := e.settle(r.ID)
		wantLanded(t, ws)
		last := ws[len(ws)-1]
		if last.Payload.State != "success" || last.Attempts != 2 || !strings.HasPrefix(last.Result, "already success (found in GitLab)") {
			t.Fatalf("the finished status's write = %+v; want it found in GitLab at its second attempt", last)
		}
		if n := e.sim.CallCount("POST /api/v4/projects/*/statuses/*") - posts; n != 1 {
			t.Errorf("the finished status was posted %d times; want once", n)
		}
		// Only the attempt in doubt looked: a first attempt costs no read.
		if n := e.sim.CallCount("GET /api/v4/projects/*/repository/commits/*/statuses"); n != 1 {
			t.Errorf("GitLab's statuses were read %d times; want once, by the second attempt", n)
		}
		if sts := e.statuses(sha); len(sts) != 1 || sts[0].State != "success" {
			t.Errorf("GitLab's statuses = %+v; want app's success", sts)
		}
		apptest.Eventually(t, 5*time.Second, "the trickled answer to end", func() bool { return e.sim.Faults()[0].Cut == 1 })
	})
}
