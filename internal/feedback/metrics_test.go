package feedback_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
)

// recorder keeps what a Dispatcher reports, as "kind outcome retry=…".
type recorder struct {
	mu       sync.Mutex
	attempts []string
}

func (r *recorder) GitLabWrite(kind feedback.Kind, outcome feedback.WriteState, retry bool, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(kind) + " " + string(outcome)
	if retry {
		s += " retry"
	}
	if took <= 0 {
		s += " (GitLab not timed)"
	}
	r.attempts = append(r.attempts, s)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// TestAttemptsAreCounted: a status GitLab refuses once with a 503 is
// reported as an attempt to retry, then as a done retry, each timed.
func TestAttemptsAreCounted(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	sha := e.push("feature", "# v2\n")
	if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.start(e.store, feedback.DispatcherConfig{Metrics: rec})
	r := newRun("app", run.Proposed, sha, "feature", 0)
	e.move(r, "", run.Queued)
	wantLanded(t, e.settle(r.ID))
	if got, want := rec.got(), []string{"status retrying", "status done retry"}; !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
}
