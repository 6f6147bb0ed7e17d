// Package run holds Hoist's runs: one execution against a stack (SPEC §1,
// §4.3). This file and store.go are the types every part of Hoist codes
// against — webhook processing creates runs in QUEUED, the scheduler and
// workers move them through their states.
package run

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/ulid"
)

// Type is the kind of run (SPEC §1).
type Type string

// The run types.
const (
	Tracked  Type = "TRACKED"  // on the tracked branch: may apply
	Proposed Type = "PROPOSED" // anywhere else: plan only
	Task     Type = "TASK"     // a custom command
)

// Valid reports whether t is one of the run types.
func (t Type) Valid() bool { return t == Tracked || t == Proposed || t == Task }

// State is where a run is in its life (SPEC §4.3).
type State string

// Every run state of SPEC §4.3.
const (
	Queued         State = "QUEUED"
	Ready          State = "READY"
	Preparing      State = "PREPARING"
	Initializing   State = "INITIALIZING"
	Planning       State = "PLANNING"
	PendingReview  State = "PENDING_REVIEW" // approval policies wait for reviews (issue 17)
	Unconfirmed    State = "UNCONFIRMED"
	Confirmed      State = "CONFIRMED"
	PreparingApply State = "PREPARING_APPLY"
	Applying       State = "APPLYING"
	Performing     State = "PERFORMING"
	Finished       State = "FINISHED"
	Failed         State = "FAILED"
	Discarded      State = "DISCARDED"
	Stopped        State = "STOPPED"
	Canceled       State = "CANCELED"
	Skipped        State = "SKIPPED"
)

// States lists every state in the order of SPEC §4.3.
var States = []State{Queued, Ready, Preparing, Initializing, Planning, PendingReview, Unconfirmed, Confirmed,
	PreparingApply, Applying, Performing, Finished, Failed, Discarded, Stopped, Canceled, Skipped}

// Valid reports whether s is one of the run states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// IsTerminal reports whether a run in state s is done for good.
func (s State) IsTerminal() bool {
	switch s {
	case Finished, Failed, Discarded, Stopped, Canceled, Skipped:
		return true
	}
	return false
}

// Delta is what a plan would do, counted in resources.
type Delta struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// EventRun is what planning an event reads of an existing run
// (Store.RunsForEvent): every webhook reads these, so only these.
type EventRun struct {
	ID              string
	StackID         string
	Type            Type
	State           State
	CommitSHA       string
	Branch          string
	MergeRequestIID int64
	DeliveryID      string // "" for a run no delivery made
	CreatedAt       time.Time
}

// Run is one execution against a stack.
type Run struct {
	ID      string // a ulid: sorts by creation
	StackID string
	Type    Type
	State   State

	CommitSHA string
	// CommitTitle is the commit's title (its message's first line) as the
	// event that made the run told it; "" when the run was made otherwise.
	CommitTitle string
	Branch      string // the pushed branch, or the merge request's source branch
	// MergeRequestIID links the run to the merge request it plans (0: none);
	// MergeRequestURL is that merge request's web page.
	MergeRequestIID int64
	MergeRequestURL string

	// Trigger is what made the run: "push", "merge_request", "api", ….
	Trigger string
	// TriggeredBy names who: "gitlab/push:<user>",
	// "gitlab/merge_request:<user>", "api:<principal>".
	TriggeredBy string
	// Reason is the push policy's explanation, in words a user reads.
	Reason string
	// DeliveryID is the webhook delivery that created the run; "" for runs
	// created otherwise.
	DeliveryID string
	// TaskCommand is a TASK run's command, its arguments (nil for other
	// runs); ScheduleID the schedule that made the run ("" when none did).
	TaskCommand []string
	ScheduleID  string

	// Delta counts what the run's plan does; Planned says whether there is
	// a plan yet (not for a run that failed or stopped before its plan, nor
	// for a task), so that no one shows "+0 ~0 -0" for a plan never made.
	Delta   Delta
	Planned bool
	// ErrorDetail is OpenTofu's own error of a failed run (its Error:
	// blocks, masked, at most MaxErrorDetail bytes); "" otherwise. It is
	// the run's code's text: escape it wherever it is shown.
	ErrorDetail string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsTerminal reports whether the run is done for good.
func (r *Run) IsTerminal() bool { return r.State.IsTerminal() }

// The triggers of runs Hoist makes by itself (issue 21).
const (
	// TriggerDrift is a drift-detection run: a PROPOSED run on the stack's
	// tracked commit whose plan says whether the infrastructure drifted.
	TriggerDrift = "drift"
	// TriggerSchedule is a task a schedule started.
	TriggerSchedule = "schedule"
	// TriggerReconcile is a TRACKED run a drifted result started, for a
	// schedule with reconcile on.
	TriggerReconcile = "reconcile"
)

// IsDrift reports whether r is a drift-detection run.
func (r *Run) IsDrift() bool { return r.Trigger == TriggerDrift && r.Type == Proposed }

// Transition is one entry of a run's history: it entered State at At.
type Transition struct {
	RunID string
	State State
	At    time.Time
	Actor string // who moved it: "gitlab/push:<user>", "worker:<id>", "api:<principal>", "system"
	Note  string // why, when there is more to say ("superseded by 1a2b3c4d on main")
}

// MaxCommitTitle bounds a run's CommitTitle, in bytes.
const MaxCommitTitle = 200

// CleanCommitTitle makes title fit CommitTitle: its first line, trimmed,
// cut to MaxCommitTitle bytes on a rune boundary, valid UTF-8.
func CleanCommitTitle(title string) string {
	title, _, _ = strings.Cut(title, "\n")
	title = strings.TrimSpace(strings.ToValidUTF8(title, "\uFFFD"))
	if len(title) <= MaxCommitTitle {
		return title
	}
	cut := MaxCommitTitle
	for cut > 0 && !utf8.RuneStart(title[cut]) {
		cut--
	}
	return title[:cut]
}

// NewID returns a new run id for a run created at now.
func NewID(now time.Time) string { return ulid.New(now) }

// TriggeredBy formats the TriggeredBy of a run made by a provider event:
// "gitlab/push:jsmith".
func TriggeredBy(provider, trigger, user string) string {
	if user == "" {
		user = "unknown"
	}
	return fmt.Sprintf("%s/%s:%s", provider, trigger, user)
}
