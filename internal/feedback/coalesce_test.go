package feedback_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
)

// TestFinishedStatusIsNotSuperseded: a plan's success ("waiting for
// confirmation") still unsent when the confirmed run starts applying goes
// to GitLab first. Sending only the newest write (running) would have
// found GitLab still running from the plan, and been refused.
func TestFinishedStatusIsNotSuperseded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		sha := e.push("main", "# v2\n")
		r := newRun("app", run.Tracked, sha, "main", 0)
		d := e.start(e.store, feedback.DispatcherConfig{})
		e.move(r, "", run.Queued, run.Ready, run.Preparing, run.Initializing, run.Planning)
		e.settle(r.ID)
		d.Shutdown(e.ctx) // GitLab shows running; what follows waits
		r.Delta = run.Delta{Add: 1}
		e.move(r, "", run.Unconfirmed, run.Confirmed, run.PreparingApply, run.Applying)
		e.start(e.openStore(), feedback.DispatcherConfig{})
		ws := e.settle(r.ID)
		wantNoFailures(t, ws)
		var sent []string
		for _, w := range ws {
			if w.Kind != feedback.KindStatus || w.State != feedback.StateDone {
				continue
			}
			if strings.HasPrefix(w.Result, "already") {
				t.Errorf("GitLab refused %s: %s", w.Describe(), w.Result)
			}
			sent = append(sent, w.Payload.State)
		}
		if got := strings.Join(sent, " "); got != "running success running" && got != "pending running success running" {
			t.Errorf("GitLab got %q, want the plan's success between the runnings", got)
		}
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "running" || got.Description != "Applying +1 ~0 -0" {
			t.Errorf("status %+v", got)
		}
	})
}
