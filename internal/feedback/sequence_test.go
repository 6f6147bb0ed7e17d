package feedback

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/run"
)

// gitlabAccepts is GitLab's commit status rule (docs in
// ../shared/reference/gitlab-api.md, modelled by gitlabsim): an
// in-progress status only moves forward (pending → running → finished),
// and a finished one is replaced by whatever comes next.
func gitlabAccepts(current, requested string) bool {
	switch current {
	case "pending":
		return requested != "pending"
	case "running":
		return !inProgress(requested)
	}
	return true
}

// TestEveryPathPostsWhatGitLabAccepts walks every path of the run state
// machine, as each run type and with autodeploy on and off, and with a
// hand-back (a worker shutting down) wherever one can happen, and checks
// that the commit status writes it causes are all accepted by GitLab, only
// move forward in rank, and show each state a person waits on.
func TestEveryPathPostsWhatGitLabAccepts(t *testing.T) {
	t.Parallel()
	paths, handedBack := 0, 0
	var walk func(typ run.Type, path []run.State)
	walk = func(typ run.Type, path []run.State) {
		last := path[len(path)-1]
		if next := run.Next(typ, last); len(next) > 0 {
			for _, n := range next {
				walk(typ, append(path[:len(path):len(path)], n))
			}
			return
		}
		paths++
		checkPath(t, typ, path)
		// The run handed back at path[i] goes through the states from the
		// one it returns to once more.
		for i, s := range path {
			if to, ok := run.HandBackTarget(typ, s); ok {
				k := slices.Index(path, to)
				checkPath(t, typ, append(slices.Clone(path[:i+1]), path[k:]...))
				handedBack++
			}
		}
	}
	for _, typ := range []run.Type{run.Tracked, run.Proposed} {
		walk(typ, []run.State{run.Queued})
	}
	if paths < 20 || handedBack < 40 {
		t.Fatalf("walked only %d paths, %d with a hand-back", paths, handedBack)
	}
}

// checkPath checks the commit statuses of one path of a run, with and
// without autodeploy, as OnRunEvents writes them.
func checkPath(t *testing.T, typ run.Type, path []run.State) {
	t.Helper()
	// shown: the run states whose own description must be what GitLab
	// shows while the run is in them.
	shown := map[run.State]bool{run.Queued: true, run.Planning: true, run.Unconfirmed: true, run.Confirmed: true,
		run.Applying: true, run.Finished: true, run.Failed: true, run.Discarded: true, run.Stopped: true,
		run.Canceled: true, run.Skipped: true}
	for _, autodeploy := range []bool{false, true} {
		if !autodeploy && slices.Contains(path, run.Applying) && !slices.Contains(path, run.Confirmed) {
			continue // PLANNING → APPLYING is autodeploy's path only
		}
		r := run.Run{Type: typ, Delta: run.Delta{Add: 1}}
		gitlab, rank, from, desc := "", 0, run.State(""), ""
		var posted []string
		for i, to := range path {
			reentered := slices.Contains(path[:i], to) // Event.Reentered
			if !reentered && statusMoves(from, to) {
				st := statusState(to)
				if !gitlabAccepts(gitlab, st) {
					t.Errorf("%s %v: GitLab refuses %s → %s at %s", typ, path, gitlab, st, to)
				}
				if steps[to].rank <= rank {
					t.Errorf("%s %v: rank %d after %d at %s", typ, path, steps[to].rank, rank, to)
				}
				gitlab, rank, desc = st, steps[to].rank, description(r, to, "", autodeploy)
				posted = append(posted, st)
			}
			if shown[to] && !reentered && desc != description(r, to, "", autodeploy) && !(autodeploy && to == run.Applying) {
				t.Errorf("%s %v (autodeploy %v): at %s GitLab shows %q", typ, path, autodeploy, to, desc)
			}
			from = to
		}
		if slices.Contains(path, run.Planning) && !slices.Contains(posted, "running") {
			t.Errorf("%s %v (autodeploy %v): posted %v, never running", typ, path, autodeploy, posted)
		}
	}
}

func TestDescriptions(t *testing.T) {
	t.Parallel()
	tracked := run.Run{Type: run.Tracked, Delta: run.Delta{Add: 1}}
	tests := []struct {
		r          run.Run
		to         run.State
		autodeploy bool
		want       string
	}{
		{tracked, run.Queued, false, "Queued"},
		{tracked, run.Planning, false, "Planning"},
		{tracked, run.Preparing, true, "Planning, then applying any changes (autodeploy)"},
		{tracked, run.Unconfirmed, false, "Planned +1 ~0 -0, waiting for confirmation"},
		{tracked, run.Confirmed, false, "Confirmed: +1 ~0 -0 queued to apply"},
		{tracked, run.Applying, false, "Applying +1 ~0 -0"},
		{tracked, run.Finished, false, "+1 ~0 -0 applied"},
		{tracked, run.Discarded, false, "Discarded: the planned +1 ~0 -0 was not applied"},
		{run.Run{Type: run.Proposed, Delta: run.Delta{Change: 2}}, run.Finished, false, "+0 ~2 -0 planned"},
		{run.Run{Type: run.Proposed}, run.Planning, true, "Planning"},
	}
	for _, tt := range tests {
		if got := description(tt.r, tt.to, "", tt.autodeploy); got != tt.want {
			t.Errorf("description(%s %s, autodeploy %v) = %q, want %q", tt.r.Type, tt.to, tt.autodeploy, got, tt.want)
		}
	}
}
