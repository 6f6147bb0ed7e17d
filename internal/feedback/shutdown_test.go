package feedback_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
)

// TestHandBackTellsGitLabNothing: a run handed back by a worker that shuts
// down (PLANNING → READY) and leased again (its events Reentered) writes
// nothing: GitLab sees pending, running, then the verdict, each once, and
// refuses nothing — neither running → pending nor running twice. (Merge
// request notes follow the status: TestProposedRunStatusesAndNote.)
func TestHandBackTellsGitLabNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("main", "# v2\n")
		r := newRun("app", run.Tracked, sha, "main", 0)
		seen := map[run.State]bool{}
		step := func(states ...run.State) []feedback.Write {
			t.Helper()
			for _, to := range states {
				ev := run.Event{Run: *r, From: r.State, To: to, Reentered: seen[to]}
				ev.Run.State = to
				if err := e.svc.OnRunEvents(e.ctx, []run.Event{ev}); err != nil {
					t.Fatal(err)
				}
				seen[to], r.State = true, to
			}
			return e.settle(r.ID)
		}
		step(run.Queued)
		before := len(step(run.Ready, run.Preparing, run.Initializing, run.Planning))
		if after := len(step(run.Ready, run.Preparing, run.Initializing, run.Planning)); after != before {
			t.Errorf("the hand-back and the new lease wrote %d times to GitLab, want none", after-before)
		}
		ws := step(run.Finished) // no changes
		wantLanded(t, ws)
		var states []string
		for _, w := range ws {
			if w.Kind != feedback.KindStatus {
				continue
			}
			if strings.HasPrefix(w.Result, "already") {
				t.Errorf("GitLab refused %s: %s", w.Describe(), w.Result)
			}
			states = append(states, w.Payload.State)
		}
		if want := []string{"pending", "running", "success"}; !slices.Equal(states, want) {
			t.Errorf("status writes %v, want %v", states, want)
		}
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "success" {
			t.Errorf("status %+v", got)
		}
	})
}

// TestShutdownFinishesWritesInFlight: Shutdown claims nothing new, lets a
// write in flight finish within its time, and gives the key of one that
// does not back at once, so that the next server sends it without waiting
// for the lease to run out.
func TestShutdownFinishesWritesInFlight(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		const lease = time.Minute // longer than the test: only a given-back key explains a prompt write
		sha := e.push("feature", "# v2\n")
		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Latency: 300 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		d := e.start(e.store, feedback.DispatcherConfig{Lease: lease})
		r := newRun("app", run.Proposed, sha, "feature", 0)
		e.move(r, "", run.Queued)
		apptest.Eventually(t, 10*time.Second, "the first status post in flight", func() bool { return e.sim.Faults()[0].Hits > 0 })
		d.Shutdown(e.ctx)
		if ws, _ := e.store.ListWrites(e.ctx, r.ID); len(ws) != 1 || ws[0].State != feedback.StateDone {
			t.Fatalf("after Shutdown: %+v; want the write in flight done", ws)
		}
		e.move(r, "", run.Ready, run.Preparing) // enqueued after the shutdown: left to the next server

		// The next write hangs past the grace of the next dispatcher's
		// shutdown.
		e.sim.ClearFaults()
		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Latency: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
		second := e.start(e.openStore(), feedback.DispatcherConfig{Lease: lease})
		apptest.Eventually(t, 10*time.Second, "the running status post in flight", func() bool { return e.sim.Faults()[0].Hits > 0 })
		ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
		defer cancel()
		second.Shutdown(ctx)
		e.sim.ClearFaults()
		e.start(e.openStore(), feedback.DispatcherConfig{Lease: lease})
		wantLanded(t, e.settle(r.ID))
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "running" {
			t.Errorf("status %+v", got)
		}
	})
}
