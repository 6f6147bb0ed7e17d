package run

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

// legal is SPEC §4.3 written out move by move, independently of the edges
// table: "T" tracked, "P" proposed, "K" task.
var legal = map[string]string{
	"QUEUED>READY": "TPK", "QUEUED>DISCARDED": "TPK", "QUEUED>CANCELED": "TPK", "QUEUED>SKIPPED": "TPK", "QUEUED>FAILED": "TPK",
	"READY>PREPARING": "TPK", "READY>DISCARDED": "TPK", "READY>CANCELED": "TPK", "READY>FAILED": "TPK",
	"PREPARING>INITIALIZING": "TPK", "PREPARING>FAILED": "TPK", "PREPARING>CANCELED": "P",
	"INITIALIZING>PLANNING": "TP", "INITIALIZING>PERFORMING": "K", "INITIALIZING>STOPPED": "TPK",
	"INITIALIZING>FAILED": "TPK", "INITIALIZING>CANCELED": "P",
	"PLANNING>FINISHED": "TP", "PLANNING>UNCONFIRMED": "T", "PLANNING>APPLYING": "T", "PLANNING>STOPPED": "TP",
	"PLANNING>FAILED": "TP", "PLANNING>CANCELED": "P", "PLANNING>PENDING_REVIEW": "T",
	// Issue 17: approval policies wait for reviews; approved with
	// autodeploy goes straight to CONFIRMED.
	"PENDING_REVIEW>UNCONFIRMED": "T", "PENDING_REVIEW>CONFIRMED": "T", "PENDING_REVIEW>DISCARDED": "T",
	"PENDING_REVIEW>FAILED": "T",
	"UNCONFIRMED>CONFIRMED": "T", "UNCONFIRMED>DISCARDED": "T", "UNCONFIRMED>FAILED": "T",
	"CONFIRMED>PREPARING_APPLY": "T", "CONFIRMED>FAILED": "T",
	"PREPARING_APPLY>APPLYING": "T", "PREPARING_APPLY>FAILED": "T",
	"APPLYING>FINISHED": "T", "APPLYING>FAILED": "T",
	"PERFORMING>FINISHED": "K", "PERFORMING>FAILED": "K",
	// Not SPEC §4.3's: a worker shutting down hands the run back before it
	// changed anything (docs/ops.md).
	"PREPARING>READY": "TPK", "INITIALIZING>READY": "TPK", "PLANNING>READY": "TP", "PREPARING_APPLY>CONFIRMED": "T",
}

var typeLetter = map[Type]string{Tracked: "T", Proposed: "P", Task: "K"}

func TestEveryMove(t *testing.T) {
	t.Parallel()
	for _, typ := range []Type{Tracked, Proposed, Task} {
		for _, from := range States {
			for _, to := range States {
				want := strings.Contains(legal[string(from)+">"+string(to)], typeLetter[typ])
				if got := CanMove(typ, from, to); got != want {
					t.Errorf("CanMove(%s, %s, %s) = %v, want %v", typ, from, to, got, want)
				}
				err := CheckMove(typ, from, to)
				if want != (err == nil) || (err != nil && !apperr.Is(err, apperr.Conflict)) {
					t.Errorf("CheckMove(%s, %s, %s) = %v", typ, from, to, err)
				}
			}
		}
	}
}

func TestTerminalStatesAreFinal(t *testing.T) {
	t.Parallel()
	for _, s := range States {
		if s.IsTerminal() && len(Next(Tracked, s))+len(Next(Proposed, s))+len(Next(Task, s)) > 0 {
			t.Errorf("terminal %s has moves", s)
		}
		if !s.IsTerminal() && !CanMove(Tracked, s, Failed) && !CanMove(Task, s, Failed) {
			t.Errorf("non-terminal %s cannot fail (a lost worker must be able to fail every run)", s)
		}
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a     Action
		typ   Type
		from  State
		to    State
		error string
	}{
		{Confirm, Tracked, Unconfirmed, Confirmed, ""},
		{Confirm, Tracked, Planning, "", "only an UNCONFIRMED run can be confirmed"},
		{Confirm, Proposed, Planning, "", "only tracked runs apply"},
		{Discard, Tracked, Queued, Discarded, ""},
		{Discard, Proposed, Ready, Discarded, ""},
		{Discard, Tracked, Unconfirmed, Discarded, ""},
		{Discard, Tracked, Planning, "", "only while QUEUED, READY, PENDING_REVIEW or UNCONFIRMED"},
		{Discard, Tracked, PendingReview, Discarded, ""},
		// Reviews move a run on, not Confirm.
		{Confirm, Tracked, PendingReview, "", "waits for reviews"},
		{Stop, Tracked, Initializing, Stopped, ""},
		{Stop, Proposed, Planning, Stopped, ""},
		{Stop, Tracked, Applying, "", "a confirmed run applies to the end"},
		{Stop, Tracked, Confirmed, "", "a confirmed run applies to the end"},
		{Stop, Tracked, Queued, "", "only while INITIALIZING or PLANNING"},
		{Stop, Tracked, Finished, "", "already ended (FINISHED)"},
		{Confirm, Tracked, Discarded, "", "already ended"},
		// A hand-back goes to CONFIRMED, which is no confirmation.
		{Confirm, Tracked, PreparingApply, "", "only an UNCONFIRMED run can be confirmed"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %s", tt.a, tt.typ, tt.from), func(t *testing.T) {
			t.Parallel()
			to, err := ActionTarget(tt.a, tt.typ, tt.from)
			if tt.error == "" {
				if err != nil || to != tt.to {
					t.Fatalf("got %s, %v; want %s", to, err, tt.to)
				}
				return
			}
			if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), tt.error) {
				t.Fatalf("got %v; want a conflict saying %q", err, tt.error)
			}
		})
	}
	if _, err := ActionTarget("explode", Tracked, Queued); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("unknown action: %v", err)
	}
}

// TestAllowedActions: what a run page offers in each state is what
// ActionTarget accepts there, nothing more (issue 14: stop was offered on
// UNCONFIRMED runs and always refused).
func TestAllowedActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  Type
		from State
		want string
	}{
		{Tracked, Queued, "discard"},
		{Proposed, Ready, "discard"},
		{Tracked, Preparing, ""},
		{Tracked, Initializing, "stop"},
		{Proposed, Planning, "stop"},
		{Tracked, Unconfirmed, "confirm discard"},
		{Tracked, Confirmed, ""},
		{Tracked, PreparingApply, ""},
		{Tracked, Applying, ""},
		{Task, Performing, ""},
		{Tracked, Failed, ""},
	}
	for _, tt := range tests {
		got := fmt.Sprint(Actions(tt.typ, tt.from))
		if got != "["+tt.want+"]" {
			t.Errorf("Actions(%s, %s) = %s, want [%s]", tt.typ, tt.from, got, tt.want)
		}
	}
	for _, typ := range []Type{Tracked, Proposed, Task} {
		for _, from := range States {
			allowed := Actions(typ, from)
			for _, a := range []Action{Confirm, Discard, Stop} {
				_, err := ActionTarget(a, typ, from)
				if (err == nil) != slices.Contains(allowed, a) {
					t.Errorf("%s of a %s run in %s: offered %v, ActionTarget says %v", a, typ, from, allowed, err)
				}
			}
		}
	}
}

// TestHandBackTarget: a run goes back to the state it was leased from, and
// never once it applies (or performs a task).
func TestHandBackTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  Type
		from State
		want State // "": no hand-back
	}{
		{Tracked, Preparing, Ready},
		{Proposed, Initializing, Ready},
		{Tracked, Planning, Ready},
		{Task, Initializing, Ready},
		{Tracked, PreparingApply, Confirmed},
		{Tracked, Applying, ""},
		{Task, Performing, ""},
		{Tracked, Unconfirmed, ""},
		{Proposed, Ready, ""},
		{Tracked, Finished, ""},
	}
	for _, tt := range tests {
		got, ok := HandBackTarget(tt.typ, tt.from)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("HandBackTarget(%s, %s) = %q, %v; want %q", tt.typ, tt.from, got, ok, tt.want)
		}
	}
}
