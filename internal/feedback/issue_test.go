package feedback_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
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
		app := stack.Stack{ID: "app", Name: "App", IntegrationID: integ, Repository: project, DriftIssue: true,
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
		app.DriftIssue, app.DriftIssueLabels = false, nil
		if ws, _ := e.store.ListWrites(e.ctx, e.driftRun(app, 5, true)); len(ws) != 0 {
			t.Fatalf("writes of a stack without drift_issue: %+v", ws)
		}
		wantLanded(t, e.settle(e.driftRun(app, 6, false)))
		if is := e.issues(); len(is) != 1 || is[0].State != "closed" {
			t.Fatalf("after clearing without the setting: %+v", is)
		}

		// A stack with the setting that was never drifted: nothing to close.
		other := stack.Stack{ID: "other", Name: "Other", IntegrationID: integ, Repository: project, DriftIssue: true}
		ws = e.settle(e.driftRun(other, 7, false))
		if len(ws) != 1 || ws[0].Result != "no issue to close" || len(e.issues()) != 1 {
			t.Fatalf("closing an issue never opened: %+v", ws)
		}
	})
}
