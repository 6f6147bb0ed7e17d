package feedback_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// TestRateLimitThenOutage: GitLab answers 429 with Retry-After: 2, then 503
// for a few seconds (a minute, test-sized), then recovers. Every write
// lands, none twice, none backwards, and the writes show their retries.
func TestRateLimitThenOutage(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		var stacks []string
		for i := range 4 {
			id := fmt.Sprintf("svc%d", i)
			e.stacks.add(stack.Stack{ID: id, Branch: "main"})
			stacks = append(stacks, id)
		}
		sha := e.push("feature", "# v2\n")
		mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Change"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.sim.AddFault(gitlabsim.Fault{Path: "/api/v4/projects/**", Status: 429, RetryAfter: 2, Count: 3}); err != nil {
			t.Fatal(err)
		}
		// The outage lasts at least minOutage and until every final write
		// has met it: a slow machine that takes seconds to finish the runs
		// still sees them retried.
		const minOutage = 5 * time.Second
		outageStart := time.Now()
		if _, err := e.sim.AddFault(gitlabsim.Fault{Path: "/api/v4/projects/**", Status: 503}); err != nil {
			t.Fatal(err)
		}
		e.start(e.store, feedback.DispatcherConfig{})
		runs := map[string]*run.Run{}
		for _, id := range stacks {
			r := newRun(id, run.Proposed, sha, "feature", int64(mr.IID))
			runs[id] = r
			e.move(r, "", run.Queued)
		}
		for _, id := range stacks {
			e.move(runs[id], "", run.Preparing, run.Planning)
		}
		for i, id := range stacks {
			runs[id].Delta = run.Delta{Add: i}
			e.move(runs[id], "", run.Finished)
		}
		apptest.Eventually(t, 30*time.Second, "every final write to have met the outage", func() error {
			for _, id := range stacks {
				ws, err := e.store.ListWrites(e.ctx, runs[id].ID)
				if err != nil {
					t.Fatal(err)
				}
				newest := map[string]feedback.Write{}
				for _, w := range ws {
					if n, ok := newest[w.Key]; !ok || w.After(n.Mark()) {
						newest[w.Key] = w
					}
				}
				for _, w := range newest {
					if w.Attempts == 0 || !strings.Contains(w.LastError, "503") {
						return fmt.Errorf("%s: write %d (%s) not yet failed with 503: attempts %d, %q", id, w.ID, w.Describe(), w.Attempts, w.LastError)
					}
				}
			}
			if time.Since(outageStart) < minOutage {
				return fmt.Errorf("outage shorter than %s", minOutage)
			}
			return nil
		})
		e.sim.ClearFaults()
		outageEnd := time.Now()
		retried := 0
		for _, id := range stacks {
			ws := e.settleWithin(runs[id].ID, 30*time.Second)
			wantLanded(t, ws)
			for _, w := range ws {
				if w.Attempts > 1 && (strings.Contains(w.LastError, "429") || strings.Contains(w.LastError, "503")) {
					retried++
				}
			}
		}
		if time.Now().Before(outageEnd) {
			t.Fatal("writes landed during the outage")
		}
		if retried == 0 {
			t.Error("no write shows its retries (attempts > 1 with GitLab's error)")
		}
		sts := e.statuses(sha)
		if len(sts) != len(stacks) {
			t.Errorf("%d statuses, want one per stack, none replaced: %+v", len(sts), sts)
		}
		for i, id := range stacks {
			got := current(t, sts, "hoist/"+id)
			if want := fmt.Sprintf("+%d ~0 -0", i); got.State != "success" || !strings.HasPrefix(got.Description, want) {
				t.Errorf("%s: %+v, want success %s", id, got, want)
			}
		}
		notes, _ := e.sim.Notes(project, mr.IID)
		if len(notes) != len(stacks) {
			t.Errorf("%d notes, want one per stack", len(notes))
		}
	})
}

// TestRestartLosesNothing: the process holding writes dies (its dispatcher
// stops mid-request and its lease is left behind, as after SIGKILL); a new
// process on the same database sends them once the lease has run out.
func TestRestartLosesNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		sha := e.push("feature", "# v2\n")
		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Latency: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		const lease = 700 * time.Millisecond
		d1 := e.start(e.store, feedback.DispatcherConfig{Lease: lease})
		r := newRun("app", run.Proposed, sha, "feature", 0)
		// The dead process leases the write after this instant; the lease
		// runs from then, not from the kill (which a loaded machine may
		// report well after the lease was taken).
		queued := time.Now()
		e.move(r, "", run.Queued)
		apptest.Eventually(t, 10*time.Second, "the first status post in flight", func() bool { return e.sim.Faults()[0].Hits > 0 })
		d1.Stop() // killed mid-request
		e.sim.ClearFaults()

		// The "restarted server": a new store handle and dispatcher on the same
		// database; the run moves on meanwhile.
		store2 := e.openStore()
		e.start(store2, feedback.DispatcherConfig{Lease: lease})
		e.move(r, "", run.Preparing, run.Planning)
		r.Delta = run.Delta{Change: 1}
		e.move(r, "", run.Finished)
		wantLanded(t, e.settle(r.ID))
		if waited := time.Since(queued); waited < lease {
			t.Errorf("writes landed %s after the dead process could lease them, before its lease of %s ran out", waited, lease)
		}
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "success" || got.Description != "+0 ~1 -0 planned" {
			t.Errorf("status %+v", got)
		}
	})
}
