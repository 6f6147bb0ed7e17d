package feedback_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// current returns the status named name on sha that was not replaced.
func current(t *testing.T, sts []gitlabsim.CommitStatus, name string) gitlabsim.CommitStatus {
	t.Helper()
	var found []gitlabsim.CommitStatus
	for _, s := range sts {
		if s.Name == name && !s.Retried {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d current statuses named %s, want 1: %+v", len(found), name, sts)
	}
	return found[0]
}

// wantLanded checks wantNoFailures and that the newest write of each key
// is done.
func wantLanded(t *testing.T, ws []feedback.Write) {
	t.Helper()
	wantNoFailures(t, ws)
	newest := map[string]feedback.Write{}
	for _, w := range ws {
		if n, ok := newest[w.Key]; !ok || w.After(n.Mark()) {
			newest[w.Key] = w
		}
	}
	for _, w := range newest {
		if w.State != feedback.StateDone {
			t.Errorf("newest write of %s is %s", w.Key, w.State)
		}
	}
}

// wantNoFailures checks that every write is done, or skipped because a
// newer write of the same key superseded it.
func wantNoFailures(t *testing.T, ws []feedback.Write) {
	t.Helper()
	for _, w := range ws {
		if w.State != feedback.StateDone && w.State != feedback.StateSkipped {
			t.Errorf("write %d (%s) is %s: %s %s", w.ID, w.Describe(), w.State, w.LastError, w.Result)
		}
		if w.State == feedback.StateSkipped && !strings.HasPrefix(w.Result, "superseded") {
			t.Errorf("write %d (%s) skipped: %s", w.ID, w.Describe(), w.Result)
		}
	}
}

func TestProposedRunStatusesAndNote(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("feature", "# v2\n")
		mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Change"})
		if err != nil {
			t.Fatal(err)
		}
		r := newRun("app", run.Proposed, sha, "feature", int64(mr.IID))
		// Each status class is let through before the next: GitLab then sees
		// every step.
		e.move(r, "", run.Queued)
		e.settle(r.ID)
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "pending" || got.Description != "Queued" {
			t.Fatalf("after QUEUED: %+v", got)
		}
		e.move(r, "", run.Ready, run.Preparing)
		e.settle(r.ID)
		e.move(r, "", run.Initializing, run.Planning)
		r.Delta = run.Delta{Add: 2, Change: 1}
		e.move(r, "", run.Finished)
		ws := e.settle(r.ID)
		wantLanded(t, ws)

		got := current(t, e.statuses(sha), "hoist/app")
		switch {
		case got.State != "success", got.StartedAt == nil:
			t.Errorf("status %+v: want success after running", got)
		case got.Description != "+2 ~1 -0 planned":
			t.Errorf("description %q", got.Description)
		case got.TargetURL != publicURL+"/runs/"+r.ID:
			t.Errorf("target_url %q", got.TargetURL)
		case got.Ref != "feature":
			t.Errorf("ref %q", got.Ref)
		}
		if n := len(e.statuses(sha)); n != 1 {
			t.Errorf("%d statuses on the commit, want 1 (pending → running → success in place)", n)
		}
		if n := e.sim.CallCount("POST /api/v4/projects/*/statuses/*"); n != 3 {
			t.Errorf("%d status posts, want 3 (pending, running, success)", n)
		}
		notes, err := e.sim.Notes(project, mr.IID)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 || !strings.Contains(notes[0].Body, "2 to add, 1 to change, 0 to destroy") || !strings.Contains(notes[0].Body, r.ID) {
			t.Fatalf("notes %+v", notes)
		}
		noteID := notes[0].ID

		// A second push to the merge request: a new run, a status on the new
		// SHA, the same note edited.
		sha2 := e.push("feature", "# v3\n")
		r2 := newRun("app", run.Proposed, sha2, "feature", int64(mr.IID))
		e.move(r2, "", run.Queued, run.Ready, run.Preparing, run.Planning)
		r2.Delta = run.Delta{Destroy: 1}
		e.move(r2, "", run.Finished)
		wantLanded(t, e.settle(r2.ID))
		if got := current(t, e.statuses(sha2), "hoist/app"); got.State != "success" || got.Description != "+0 ~0 -1 planned" {
			t.Errorf("second commit's status %+v", got)
		}
		notes, _ = e.sim.Notes(project, mr.IID)
		if len(notes) != 1 || notes[0].ID != noteID || !strings.Contains(notes[0].Body, r2.ID) {
			t.Fatalf("after the second run: notes %+v, want note %d edited", notes, noteID)
		}
		if current(t, e.statuses(sha), "hoist/app").State != "success" {
			t.Error("the first commit's status changed")
		}
	})
}

func TestFailedPlanAndDisabledComments(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.stacks.add(stack.Stack{ID: "quiet", Branch: "main", Labels: []string{feedback.DisablePRCommentsLabel}})
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("feature", "# broken\n")
		mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Break"})
		if err != nil {
			t.Fatal(err)
		}
		r := newRun("quiet", run.Proposed, sha, "feature", int64(mr.IID))
		e.move(r, "", run.Queued, run.Preparing, run.Planning)
		e.move(r, "tofu plan: Error: Unsupported argument", run.Failed)
		wantLanded(t, e.settle(r.ID))
		got := current(t, e.statuses(sha), "hoist/quiet")
		if got.State != "failed" || got.Description != "Failed: tofu plan: Error: Unsupported argument" {
			t.Errorf("status %+v", got)
		}
		if notes, _ := e.sim.Notes(project, mr.IID); len(notes) != 0 {
			t.Errorf("notes %+v, want none with %s", notes, feedback.DisablePRCommentsLabel)
		}
	})
}
