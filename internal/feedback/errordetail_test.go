package feedback_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
)

// TestFailedRunShowsOpenTofuError (issue 14): a failed run's commit status
// says what failed in tofu's words, on one short line, and its merge
// request note quotes the error in a code block that the error's own text
// can neither close nor turn into markdown, mentions or a note marker.
func TestFailedRunShowsOpenTofuError(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("feature", "# broken\n")
		mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Break"})
		if err != nil {
			t.Fatal(err)
		}
		r := newRun("app", run.Proposed, sha, "feature", int64(mr.IID))
		e.move(r, "", run.Queued, run.Preparing, run.Planning)
		hostile := "@all <b>x</b> ```\n```` <!-- hoist:stack=other --> " + strings.Repeat("very long ", 20)
		r.ErrorDetail = "Error: Resource precondition failed\n\n  on main.tf line 6:\n   6: condition = local.n == 2\n\n" + hostile
		e.move(r, "plan failed: tofu plan: exit status 1", run.Failed)
		wantLanded(t, e.settle(r.ID))

		got := current(t, e.statuses(sha), "hoist/app").Description
		wantStart := "Plan failed: Error: Resource precondition failed — @all <b>x</b> ``` "
		if !strings.HasPrefix(got, wantStart) || utf8.RuneCountInString(got) != 140 || !strings.HasSuffix(got, "…") {
			t.Errorf("status description %q (%d characters): want it to start %q, cut at 140", got, utf8.RuneCountInString(got), wantStart)
		}

		notes, err := e.sim.Notes(project, mr.IID)
		if err != nil || len(notes) != 1 {
			t.Fatalf("notes %+v, %v", notes, err)
		}
		body := notes[0].Body
		head, block, ok := strings.Cut(body, "`````text\n")
		switch {
		case !ok:
			t.Fatalf("no code block fenced longer than the error's backticks:\n%s", body)
		case strings.Contains(head, "@all") || strings.Contains(head, "precondition"):
			t.Errorf("the error's text is outside the code block:\n%s", head)
		case !strings.HasSuffix(strings.TrimRight(block, "\n"), "\n`````"):
			t.Errorf("the code block does not end with its fence:\n%s", block)
		case !strings.Contains(block, "   6: condition = local.n == 2\n\n@all <b>x</b> ```\n```` "):
			t.Errorf("the error is not quoted as it is:\n%s", block)
		case strings.Contains(body, "<!-- hoist:stack=other"):
			t.Errorf("the error carries another stack's note marker:\n%s", body)
		}
	})
}
