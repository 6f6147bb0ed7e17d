package feedback_test

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// accepted is what GitLab holds for name on sha, oldest first: each
// status's state and description (replaced ones included).
func accepted(sts []gitlabsim.CommitStatus, name string) []string {
	var out []string
	for _, s := range sts {
		if s.Name == name {
			out = append(out, s.State+" "+s.Description)
		}
	}
	return out
}

// TestTrackedRunStatusSequence is issue 14's second acceptance against the
// simulator's commit status rules: after each step of a tracked run GitLab
// shows where it is, waiting for confirmation included, and after a
// discard, that it was discarded; no write is refused.
func TestTrackedRunStatusSequence(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		step := func(r *run.Run, wantState, wantDesc string, states ...run.State) {
			t.Helper()
			e.move(r, "", states...)
			wantLanded(t, e.settle(r.ID))
			got := current(t, e.statuses(r.CommitSHA), "hoist/app")
			if got.State != wantState || got.Description != wantDesc {
				t.Fatalf("at %s GitLab shows %s %q, want %s %q", r.State, got.State, got.Description, wantState, wantDesc)
			}
		}
		sha := e.push("main", "# v2\n")
		r := newRun("app", run.Tracked, sha, "main", 0)
		step(r, "pending", "Queued", run.Queued)
		step(r, "running", "Planning", run.Ready, run.Preparing, run.Initializing, run.Planning)
		r.Delta = run.Delta{Add: 1}
		step(r, "success", "Planned +1 ~0 -0, waiting for confirmation", run.Unconfirmed)
		step(r, "pending", "Confirmed: +1 ~0 -0 queued to apply", run.Confirmed, run.PreparingApply)
		step(r, "running", "Applying +1 ~0 -0", run.Applying)
		step(r, "success", "+1 ~0 -0 applied", run.Finished)
		want := []string{"success Planned +1 ~0 -0, waiting for confirmation", "success +1 ~0 -0 applied"}
		if got := accepted(e.statuses(sha), "hoist/app"); !slices.Equal(got, want) {
			t.Errorf("statuses on the commit: %q, want %q", got, want)
		}

		sha2 := e.push("main", "# v3\n")
		d := newRun("app", run.Tracked, sha2, "main", 0)
		step(d, "running", "Planning", run.Queued, run.Ready, run.Preparing, run.Planning)
		d.Delta = run.Delta{Destroy: 2}
		step(d, "success", "Planned +0 ~0 -2, waiting for confirmation", run.Unconfirmed)
		step(d, "canceled", "Discarded: the planned +0 ~0 -2 was not applied", run.Discarded)
	})
}

// TestAggregatedStatusWhileWaiting: three tracked runs on one commit with
// aggregated statuses; two finish and the third waits for confirmation.
// GitLab must not stay at an in-progress description with stale counts.
func TestAggregatedStatusWhileWaiting(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.aggregate()
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("main", "# v2\n")
		var runs []*run.Run
		for _, id := range []string{"a", "b", "c"} {
			e.stacks.add(stack.Stack{ID: id, Branch: "main"})
			r := newRun(id, run.Tracked, sha, "main", 0)
			e.move(r, "", run.Queued)
			runs = append(runs, r)
		}
		settleAll := func() {
			for _, r := range runs {
				wantNoFailures(t, e.settle(r.ID))
			}
		}
		settleAll()
		shows := func(state, desc string) {
			t.Helper()
			if got := current(t, e.statuses(sha), feedback.AggregateTracked); got.State != state || got.Description != desc {
				t.Fatalf("hoist/tracked shows %s %q, want %s %q", got.State, got.Description, state, desc)
			}
		}
		shows("pending", "Runs queued")
		e.move(runs[0], "", run.Preparing, run.Planning)
		settleAll()
		shows("running", "Runs in progress")
		e.move(runs[0], "", run.Finished)
		e.move(runs[1], "", run.Preparing, run.Planning, run.Finished)
		e.move(runs[2], "", run.Preparing, run.Planning)
		runs[2].Delta = run.Delta{Add: 1}
		e.move(runs[2], "", run.Unconfirmed)
		settleAll()
		shows("success", "3 runs: 1 waiting for confirmation, 2 succeeded")
		e.move(runs[2], "", run.Confirmed)
		settleAll()
		shows("running", "Runs in progress")
		e.move(runs[2], "", run.PreparingApply, run.Applying, run.Finished)
		settleAll()
		shows("success", "3 runs: 3 succeeded")
	})
}
