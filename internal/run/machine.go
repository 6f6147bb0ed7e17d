package run

import (
	"fmt"
	"slices"

	"github.com/hoistdev/hoist/internal/apperr"
)

// The run state machine of SPEC §4.3 as data: for each state, where a run
// may go next, and for which run types. Every move of a run is checked here
// first; the store then moves it only if it is still in the state checked
// (compare-and-set), so two movers never both win.

// edge is one allowed move; types lists the run types it applies to (nil:
// every type).
type edge struct {
	to    State
	types []Type
}

var (
	anyType      []Type
	planTypes    = []Type{Tracked, Proposed}
	trackedOnly  = []Type{Tracked}
	proposedOnly = []Type{Proposed}
	taskOnly     = []Type{Task}
)

// edges is the whole machine. FAILED is reachable from every non-terminal
// state (a lost worker, an error); CANCELED from the early states, and for
// proposed runs also while they work (a newer commit on the branch
// supersedes them, SPEC §4.2).
var edges = map[State][]edge{
	Queued:       {{Ready, anyType}, {Discarded, anyType}, {Canceled, anyType}, {Skipped, anyType}, {Failed, anyType}},
	Ready:        {{Preparing, anyType}, {Discarded, anyType}, {Canceled, anyType}, {Failed, anyType}},
	Preparing:    {{Initializing, anyType}, {Canceled, proposedOnly}, {Failed, anyType}},
	Initializing: {{Planning, planTypes}, {Performing, taskOnly}, {Stopped, anyType}, {Canceled, proposedOnly}, {Failed, anyType}},
	Planning: {{Finished, planTypes}, {PendingReview, trackedOnly}, {Unconfirmed, trackedOnly}, {Applying, trackedOnly},
		{Stopped, planTypes}, {Canceled, proposedOnly}, {Failed, planTypes}},
	// Approval policies decide (issue 17): approved, to UNCONFIRMED, or
	// with autodeploy CONFIRMED for a worker to apply; rejected, FAILED.
	// Only a review or a GitLab approval moves it on, never Confirm.
	PendingReview:  {{Unconfirmed, trackedOnly}, {Confirmed, trackedOnly}, {Discarded, trackedOnly}, {Failed, trackedOnly}},
	Unconfirmed:    {{Confirmed, trackedOnly}, {Discarded, trackedOnly}, {Failed, trackedOnly}},
	Confirmed:      {{PreparingApply, trackedOnly}, {Failed, trackedOnly}},
	PreparingApply: {{Applying, trackedOnly}, {Failed, trackedOnly}},
	Applying:       {{Finished, trackedOnly}, {Failed, trackedOnly}},
	Performing:     {{Finished, taskOnly}, {Failed, taskOnly}},
}

// handBacks are the machine's only moves back, which SPEC §4.3 does not
// have: a worker that shuts down gives a run back before it has changed
// anything (the plan not reported, APPLYING not entered), to the state it
// leased the run from, and any worker takes it again from the start
// (HandBack, docs/ops.md). No user action makes them.
var handBacks = map[State]edge{Preparing: {Ready, anyType}, Initializing: {Ready, anyType}, Planning: {Ready, planTypes},
	PreparingApply: {Confirmed, trackedOnly}}

// HandBackTarget returns where a run of type typ in state from goes when
// its worker hands it back; ok is false when it cannot be handed back (it
// applies, or no worker has it).
func HandBackTarget(typ Type, from State) (to State, ok bool) {
	e, ok := handBacks[from]
	if !ok || (e.types != nil && !slices.Contains(e.types, typ)) {
		return "", false
	}
	return e.to, true
}

// CanMove reports whether a run of type typ may go from one state to
// another.
func CanMove(typ Type, from, to State) bool {
	if t, ok := HandBackTarget(typ, from); ok && t == to {
		return true
	}
	return canStep(typ, from, to)
}

// canStep is CanMove without the hand-backs: the moves of SPEC §4.3.
func canStep(typ Type, from, to State) bool {
	for _, e := range edges[from] {
		if e.to == to && (e.types == nil || slices.Contains(e.types, typ)) {
			return true
		}
	}
	return false
}

// Next lists the states a run of type typ may go to from state from, in
// SPEC §4.3 (hand-backs aside).
func Next(typ Type, from State) []State {
	var out []State
	for _, e := range edges[from] {
		if e.types == nil || slices.Contains(e.types, typ) {
			out = append(out, e.to)
		}
	}
	return out
}

// CheckMove returns nil when the move is legal, else an apperr.Conflict
// saying why.
func CheckMove(typ Type, from, to State) error {
	if CanMove(typ, from, to) {
		return nil
	}
	if from.IsTerminal() {
		return apperr.Errorf(apperr.Conflict, "the run is %s: it has ended and cannot go to %s", from, to)
	}
	return apperr.Errorf(apperr.Conflict, "a %s run cannot go from %s to %s", typ, from, to)
}

// Action is a user's request to move a run.
type Action string

// The user actions of SPEC §6.2.
const (
	Confirm Action = "confirm"
	Discard Action = "discard"
	Stop    Action = "stop"
)

// actionTarget is where each action takes a run.
var actionTarget = map[Action]State{Confirm: Confirmed, Discard: Discarded, Stop: Stopped}

// ActionTarget returns the state the action moves a run in state from to,
// or a Conflict explaining, in the user's terms, why it cannot.
func ActionTarget(a Action, typ Type, from State) (State, error) {
	to, ok := actionTarget[a]
	if !ok {
		return "", apperr.Errorf(apperr.Invalid, "unknown run action %q", a)
	}
	if actionAllowed(a, typ, from) {
		return to, nil
	}
	return "", apperr.Errorf(apperr.Conflict, "%s", actionRefusal(a, typ, from))
}

// Actions lists the actions a user may take on a run of type typ in state
// from: the ones whose move the machine allows, in the order confirm,
// discard, stop.
func Actions(typ Type, from State) []Action {
	var out []Action
	for _, a := range []Action{Confirm, Discard, Stop} {
		if actionAllowed(a, typ, from) {
			out = append(out, a)
		}
	}
	return out
}

// actionAllowed reports whether a user may take action a: the machine
// allows its move, and it is not a confirmation of a run that waits for
// its reviews (the approval policies move it on, not Confirm).
func actionAllowed(a Action, typ Type, from State) bool {
	return canStep(typ, from, actionTarget[a]) && (a != Confirm || from != PendingReview)
}

func actionRefusal(a Action, typ Type, from State) string {
	switch {
	case from.IsTerminal():
		return fmt.Sprintf("cannot %s the run: it has already ended (%s)", a, from)
	case a == Confirm && from == PendingReview:
		return "cannot confirm the run: it waits for reviews its approval policies ask for; approve or reject it (POST /api/v1/runs/{id}/reviews)"
	case a == Confirm && typ != Tracked:
		return fmt.Sprintf("cannot confirm a %s run: only tracked runs apply", typ)
	case a == Confirm:
		return fmt.Sprintf("cannot confirm the run while it is %s: only an UNCONFIRMED run can be confirmed", from)
	case a == Discard:
		return fmt.Sprintf("cannot discard the run while it is %s: a run can be discarded only while QUEUED, READY, PENDING_REVIEW or UNCONFIRMED", from)
	case a == Stop && (from == Confirmed || from == PreparingApply || from == Applying):
		return fmt.Sprintf("cannot stop the run while it is %s: a confirmed run applies to the end", from)
	default:
		return fmt.Sprintf("cannot stop the run while it is %s: a run can be stopped only while INITIALIZING or PLANNING", from)
	}
}
