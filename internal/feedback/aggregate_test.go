package feedback_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// aggregate turns the integration's aggregate_statuses setting on.
func (e *env) aggregate() {
	e.t.Helper()
	it, err := e.store.GetIntegration(e.ctx, integ)
	if err != nil {
		e.t.Fatal(err)
	}
	it.AggregateStatuses = true
	if err := e.store.UpdateIntegration(e.ctx, it, audit.Entry{At: it.UpdatedAt, Actor: "test",
		Action: "integration.update", ResourceType: "integration", ResourceID: integ}); err != nil {
		e.t.Fatal(err)
	}
}

// twentyStacks runs one push to main through twenty stacks of one
// repository: 17 track main (TRACKED runs), 3 track prod (PROPOSED runs);
// one stack's run fails; a module version is tagged on the same commit.
func twentyStacks(t *testing.T, e *env, aggregate bool) string {
	t.Helper()
	if aggregate {
		e.aggregate()
	}
	e.start(e.store, feedback.DispatcherConfig{})
	sha := e.push("main", "# v2\n")
	var runs []*run.Run
	for i := range 20 {
		id, branch, typ := fmt.Sprintf("s%02d", i), "main", run.Tracked
		if i >= 17 {
			branch, typ = "prod", run.Proposed
		}
		e.stacks.add(stack.Stack{ID: id, Branch: branch})
		runs = append(runs, newRun(id, typ, sha, "main", 0))
	}
	for _, r := range runs {
		e.move(r, "", run.Queued)
	}
	for i, r := range runs {
		e.move(r, "", run.Preparing, run.Planning)
		if i == 3 {
			e.move(r, "plan failed", run.Failed)
		} else {
			e.move(r, "", run.Finished)
		}
	}
	if err := e.svc.OnModuleStatus(e.ctx, feedback.ModuleStatus{IntegrationID: integ, Project: project, SHA: sha,
		Tag: "v1.0.0", ModuleID: "network", State: "success", Description: "v1.0.0 published"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		// Aggregated: one run's writes may be superseded by another's.
		wantNoFailures(t, e.settle(r.ID))
	}
	apptest.Eventually(t, 10*time.Second, "the module status", func() bool { return len(e.statuses(sha)) >= 1 && hasStatus(e.statuses(sha), "network") })
	return sha
}

func hasStatus(sts []gitlabsim.CommitStatus, suffix string) bool {
	return slices.ContainsFunc(sts, func(s gitlabsim.CommitStatus) bool {
		return s.Name == "hoist/module/"+suffix || s.Name == feedback.AggregateModules
	})
}

func TestTwentyStacksOnePush(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) { testTwentyStacks(t, e) })
}

func testTwentyStacks(t *testing.T, e *env) {
	sha := twentyStacks(t, e, false)
	sts := e.statuses(sha)
	if len(sts) != 21 {
		t.Fatalf("%d statuses, want 20 stacks + 1 module", len(sts))
	}
	if got := current(t, sts, "hoist/s03"); got.State != "failed" {
		t.Errorf("s03: %+v", got)
	}
	if got := current(t, sts, "hoist/module/network"); got.State != "success" || got.Ref != "v1.0.0" {
		t.Errorf("module: %+v", got)
	}
}

func TestTwentyStacksAggregated(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) { testTwentyStacksAggregated(t, e) })
}

func testTwentyStacksAggregated(t *testing.T, e *env) {
	sha := twentyStacks(t, e, true)
	var names []string
	for _, s := range e.statuses(sha) {
		if !s.Retried {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"hoist/modules", "hoist/proposed", "hoist/tracked"}; !slices.Equal(names, want) {
		t.Fatalf("statuses %v, want %v", names, want)
	}
	sts := e.statuses(sha)
	if got := current(t, sts, "hoist/tracked"); got.State != "failed" || got.Description != "17 runs: 1 failed, 16 succeeded" {
		t.Errorf("tracked: %+v", got)
	}
	if got := current(t, sts, "hoist/proposed"); got.State != "success" || got.Description != "3 runs: 3 succeeded" {
		t.Errorf("proposed: %+v", got)
	}
}

// TestNoteFoundOrRecreated: a note whose id Hoist lost (a crash after
// GitLab created it) is found by its marker and edited; a note someone
// deleted is created again.
func TestNoteFoundOrRecreated(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("feature", "# v2\n")
		mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Change"})
		if err != nil {
			t.Fatal(err)
		}
		proposed := func() {
			r := newRun("app", run.Proposed, sha, "feature", int64(mr.IID))
			e.move(r, "", run.Queued, run.Preparing, run.Finished)
			wantLanded(t, e.settle(r.ID))
		}
		proposed()
		notes, _ := e.sim.Notes(project, mr.IID)
		if len(notes) != 1 {
			t.Fatalf("notes %+v", notes)
		}
		first := notes[0].ID
		if _, err := e.store.DB().ExecContext(e.ctx, "DELETE FROM gitlab_refs"); err != nil {
			t.Fatal(err)
		}
		proposed()
		if notes, _ = e.sim.Notes(project, mr.IID); len(notes) != 1 || notes[0].ID != first {
			t.Fatalf("after losing the note id: %+v, want note %d edited", notes, first)
		}
		client, err := gl.NewClient(e.sim.AdminToken(), gl.WithBaseURL(e.sim.URL()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Notes.DeleteMergeRequestNote(project, int64(mr.IID), int64(first)); err != nil {
			t.Fatal(err)
		}
		proposed()
		if notes, _ = e.sim.Notes(project, mr.IID); len(notes) != 1 || notes[0].ID == first {
			t.Fatalf("after the note was deleted: %+v, want a new one", notes)
		}
	})
}

// TestOlderRunNeverOverwritesNewer: two runs on one commit; the older
// one's late writes do not replace the newer one's status.
func TestOlderRunNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		sha := e.push("feature", "# v2\n")
		older := newRun("app", run.Proposed, sha, "feature", 0)
		newer := newRun("app", run.Proposed, sha, "feature", 0)
		// Run ids are ulids: created a second apart, they sort by age.
		newer.ID = run.NewID(time.Now().Add(time.Second))
		// Both enqueued before any is sent: the newer run's FINISHED wins, the
		// older run's late FAILED is skipped.
		e.move(older, "", run.Queued, run.Preparing)
		e.move(newer, "", run.Queued, run.Preparing, run.Finished)
		e.move(older, "late", run.Failed)
		e.start(e.store, feedback.DispatcherConfig{})
		e.settle(older.ID)
		wantLanded(t, e.settle(newer.ID))
		got := current(t, e.statuses(sha), "hoist/app")
		if got.State != "success" || got.TargetURL != publicURL+"/runs/"+newer.ID {
			t.Errorf("status %+v, want the newer run's success", got)
		}
		// And after the newer run's status is in GitLab, an older write is
		// skipped rather than sent.
		e.move(older, "", run.Queued) // a write for the older run, however it came about
		ws := e.settle(older.ID)
		if last := ws[len(ws)-1]; last.State != feedback.StateSkipped {
			t.Errorf("older run's late write: %s (%s)", last.State, last.Result)
		}
		if n := len(e.statuses(sha)); n != 1 {
			t.Errorf("%d statuses, want 1", n)
		}
	})
}
