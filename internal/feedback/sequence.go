package feedback

import (
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/run"
)

// GitLab's commit status API only moves a status forward: created →
// pending → running → a finished state (success, failed, canceled,
// skipped). Posting the state a status is already in is refused ("Cannot
// transition status via :run from :running"), and so is any step back, so
// an in-progress status cannot change its description; only a finished
// status is replaced by whatever is posted next. A tracked run has two
// waits a person looking at the commit must see (the plan, then the
// apply), so its status goes through the cycle twice: the plan cycle ends
// at UNCONFIRMED with success "planned +1 ~0 -0, waiting for
// confirmation" (GitLab has no waiting state an API may set; the plan did
// succeed), and confirming starts the apply cycle (pending, running, then
// the verdict). docs/gitlab.md shows the sequence.

// step is where a run in some state stands in its commit status's
// sequence: the GitLab state shown and its rank. Ranks only grow along
// every path of the run state machine, so the outbox's rule that a key's
// writes only move forward ((Ord, Rank, ID)) keeps them in order.
type step struct {
	state string // GitLab's commit status state
	rank  int
}

// Member states of an aggregated status (CommitRun.State) besides GitLab's:
// a run waiting for confirmation rests, like a finished one.
const memberWaiting = "waiting"

// steps maps every run state to its step. Tasks never post statuses.
var steps = map[run.State]step{
	run.Queued:         {"pending", 1},
	run.Ready:          {"pending", 1},
	run.Preparing:      {"running", 2},
	run.Initializing:   {"running", 2},
	run.Planning:       {"running", 2},
	run.PendingReview:  {"success", 3},
	run.Unconfirmed:    {"success", 4},
	run.Confirmed:      {"pending", 5},
	run.PreparingApply: {"pending", 5},
	run.Applying:       {"running", 6},
	run.Finished:       {"success", 7},
	run.Failed:         {"failed", 7},
	run.Discarded:      {"canceled", 7},
	run.Stopped:        {"canceled", 7},
	run.Canceled:       {"canceled", 7},
	run.Skipped:        {"canceled", 7},
}

// statusState maps a run state to the commit status state GitLab shows.
func statusState(s run.State) string { return steps[s].state }

// statusMoves reports whether a run's move from → to changes its commit
// status. A move within one step changes nothing, and neither does one
// from running to running (autodeploy's PLANNING → APPLYING): GitLab would
// refuse it, so the planning description already says an apply follows.
// Nor does a step back: a run handed back by a worker that shuts down
// (PLANNING → READY) keeps showing running, since GitLab refuses running →
// pending, and when a worker takes it again (Event.Reentered) GitLab
// already shows where it stands.
func statusMoves(from, to run.State) bool {
	a, b := steps[from], steps[to]
	if a == b || b.state == "" || (from != "" && b.rank < a.rank) {
		return false
	}
	return a.state != b.state || !inProgress(b.state)
}

func inProgress(state string) bool { return state == "pending" || state == "running" }

// memberState is a run's state as a member of an aggregated status.
func memberState(s run.State) string {
	if s == run.Unconfirmed || s == run.PendingReview {
		return memberWaiting
	}
	return statusState(s)
}

// description is the commit status description of a run entering to.
// note is why (the transition's note: a failure's reason); autodeploy says
// whether a tracked run's plan is applied without confirmation.
func description(r run.Run, to run.State, note string, autodeploy bool) string {
	switch to {
	case run.Queued, run.Ready:
		return "Queued"
	case run.Preparing, run.Initializing, run.Planning:
		if r.Type == run.Tracked && autodeploy {
			return "Planning, then applying any changes (autodeploy)"
		}
		return "Planning"
	case run.PendingReview:
		return "Planned " + Summary(r.Delta) + ", waiting for review"
	case run.Unconfirmed:
		return "Planned " + Summary(r.Delta) + ", waiting for confirmation"
	case run.Confirmed, run.PreparingApply:
		return "Confirmed: " + Summary(r.Delta) + " queued to apply"
	case run.Applying:
		return "Applying " + Summary(r.Delta)
	case run.Finished:
		switch {
		case !hasChanges(r.Delta):
			return Summary(r.Delta) + " no changes"
		case r.Type == run.Tracked:
			return Summary(r.Delta) + " applied"
		default:
			return Summary(r.Delta) + " planned"
		}
	case run.Failed:
		if line := errorLine(r.ErrorDetail); line != "" {
			return truncate(failedStep(note)+": "+line, maxFailureDescription)
		}
		if note == "" {
			return "Failed"
		}
		return "Failed: " + note
	case run.Discarded:
		return "Discarded: the planned " + Summary(r.Delta) + " was not applied"
	case run.Stopped, run.Canceled, run.Skipped:
		word := strings.ToUpper(string(to[:1])) + strings.ToLower(string(to[1:]))
		// Only a cancellation's note says why in words for GitLab
		// ("superseded by …"); the others name the Hoist principal.
		if note != "" && to == run.Canceled {
			return word + ": " + note
		}
		return word
	}
	return "Running (" + strings.ToLower(strings.ReplaceAll(string(to), "_", " ")) + ")"
}

// Aggregate combines the member states of an aggregated status, worst
// first: any failure fails it; while any member is unfinished it is running
// (pending while none has started); then canceled; else success (runs
// waiting for confirmation rest like finished ones). In-progress
// descriptions carry no counts: GitLab keeps the first description an
// in-progress status gets, and counts would soon be wrong; a finished
// status can always be replaced, so its counts stay true.
func Aggregate(members []CommitRun) (state, desc string) {
	count := map[string]int{}
	for _, m := range members {
		count[m.State]++
	}
	n := len(members)
	switch {
	case count["failed"] > 0:
		state = "failed"
	case count["pending"] == n:
		return "pending", "Runs queued"
	case count["pending"]+count["running"] > 0:
		return "running", "Runs in progress"
	case count["canceled"] > 0:
		state = "canceled"
	default:
		state = "success"
	}
	words := []struct{ state, word string }{{"failed", "failed"}, {"running", "running"}, {"pending", "queued"},
		{memberWaiting, "waiting for confirmation"}, {"canceled", "canceled"}, {"success", "succeeded"}}
	var parts []string
	for _, w := range words {
		if count[w.state] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[w.state], w.word))
		}
	}
	noun := "runs"
	if n == 1 {
		noun = "run"
	}
	return state, fmt.Sprintf("%d %s: %s", n, noun, strings.Join(parts, ", "))
}
