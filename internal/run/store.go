package run

import (
	"context"
	"time"
)

// Filter selects runs to list. Zero fields match everything.
type Filter struct {
	StackID    string
	DeliveryID string
	States     []State
}

// Query selects runs across stacks, for the runs list (issue 19). Zero
// fields match everything, except visibility: unless All, only the runs
// of stacks in one of Spaces are listed (none when Spaces is empty).
type Query struct {
	All    bool
	Spaces []string

	Space     string // the stack's space
	StackID   string
	CommitSHA string // a prefix of the commit SHA, lower-case hexadecimal
	States    []State
	Type      Type
}

// Listed is a run as the runs list shows it: with its stack's name and
// space.
type Listed struct {
	Run
	StackName string
	SpaceID   string
}

// Cancel cancels a run, only while it is still in one of States (so a run
// that moved on in the meantime is left alone).
type Cancel struct {
	RunID  string
	States []State
	Note   string
}

// AttachMergeRequest links an existing run to a merge request, when it has
// none yet.
type AttachMergeRequest struct {
	RunID string
	IID   int64
	URL   string
}

// TrackedCommit moves a stack's tracked commit to SHA, pushed to Branch;
// the move is skipped when Branch is no longer the stack's tracked branch.
type TrackedCommit struct {
	StackID string
	SHA     string
	Branch  string
}

// Changes is everything one event does to runs and stacks, written in one
// transaction (with the delivery's result, for webhook events).
type Changes struct {
	At     time.Time
	Actor  string // recorded on the transitions
	Create []Run  // new runs; State must be QUEUED, a first history row is written
	Cancel []Cancel
	Attach []AttachMergeRequest
	Move   []TrackedCommit
}

// Empty reports whether c changes nothing.
func (c *Changes) Empty() bool {
	return len(c.Create) == 0 && len(c.Cancel) == 0 && len(c.Attach) == 0 && len(c.Move) == 0
}

// Applied is what applying Changes did.
type Applied struct {
	Created  []string // ids of the runs created
	Canceled []string // ids of the runs canceled (those still cancelable)
	Events   []Event  // for the Outbox, in the order they happened
}

// Event is a change to a run that GitLab shows, as a store write made it:
// a transition From → To (From is "" for a new run), or, when Attached,
// the linking of the run to a merge request (From and To are then "").
// Run is the run right after the change. The caller of the write hands
// its events to the Outbox inside the write's transaction.
type Event struct {
	Run      Run
	From, To State
	// Since is when the run entered From (zero for a new run): it spent
	// Run.UpdatedAt - Since there.
	Since    time.Time
	Note     string
	Attached bool
	// Reentered says the run had been in To before: a run handed back
	// (Service.HandBack) goes through its states again once leased, and
	// GitLab already shows them.
	Reentered bool
}

// Store keeps runs and their history. Creating a run that duplicates an
// event-created run of the same stack, SHA and type is an apperr.Conflict:
// the caller re-reads and plans again.
type Store interface {
	// InTx runs fn in one transaction, committed when fn returns nil: the
	// methods of Store, ExecStore and the Outbox that fn calls with its ctx
	// join it.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// ApplyRunChanges writes c in one transaction.
	ApplyRunChanges(ctx context.Context, c Changes) (Applied, error)
	// GetRun returns a run, or apperr.NotFound.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns lists runs newest first (see the store's cursor conventions).
	ListRuns(ctx context.Context, f Filter, cursor string, limit int) ([]Run, string, error)
	// SearchRuns lists the runs q selects, newest first, with their
	// stacks' names and spaces; filtering and paging happen in the
	// database (see the store's cursor conventions).
	SearchRuns(ctx context.Context, q Query, cursor string, limit int) ([]Listed, string, error)
	// RunHistory returns a run's transitions, oldest first.
	RunHistory(ctx context.Context, id string) ([]Transition, error)
	// RunsForEvent returns, among the runs of stackIDs, every run at sha and
	// every PROPOSED run in one of active whose branch is branch or whose
	// merge request is mrIID (when not 0): what planning an event needs.
	RunsForEvent(ctx context.Context, stackIDs []string, sha, branch string, mrIID int64, active []State) ([]EventRun, error)
}
