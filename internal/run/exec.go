package run

import (
	"context"
	"time"
	"unicode/utf8"
)

// Resource is one resource a run's plan touches.
type Resource struct {
	Address string `json:"address"`
	Action  string `json:"action"` // create, update, delete, replace, read, import
	// Changes are the attributes the plan sets or changes (tofu.AttrChange),
	// sensitive values masked by the worker.
	Changes []AttrChange `json:"changes,omitempty"`
}

// AttrChange is one attribute of a resource as the plan changes it: its
// values as compact JSON, "" when sensitive or unknown until the apply.
type AttrChange struct {
	Name      string `json:"name"`
	Before    string `json:"before,omitempty"`
	After     string `json:"after,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Unknown   bool   `json:"unknown,omitempty"`
}

// Bounds on what a worker's plan report may record per plan: the server
// keeps no more, whatever a worker sends.
const (
	maxResourceChanges  = 2000 // attribute changes of one plan
	maxAttrsPerResource = 50
	maxAttrText         = 256 // bytes of a name or value
)

// BoundResources applies the bounds to resources a worker reported: at
// most maxAttrsPerResource attributes each, maxResourceChanges in all,
// names and values cut; a sensitive attribute's values are dropped even if
// a worker sent them.
func BoundResources(rs []Resource) []Resource {
	budget := maxResourceChanges
	for i := range rs {
		cs := rs[i].Changes
		if len(cs) > maxAttrsPerResource {
			cs = cs[:maxAttrsPerResource]
		}
		if len(cs) > budget {
			cs = cs[:budget]
		}
		budget -= len(cs)
		for j := range cs {
			cs[j].Name, cs[j].Before, cs[j].After = cutText(cs[j].Name), cutText(cs[j].Before), cutText(cs[j].After)
			if cs[j].Sensitive {
				cs[j].Before, cs[j].After = "", ""
			}
		}
		if len(cs) == 0 {
			cs = nil
		}
		rs[i].Changes = cs
	}
	return rs
}

func cutText(s string) string {
	if len(s) <= maxAttrText {
		return s
	}
	n := maxAttrText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Exec is how a run executes: what it waits for, which worker holds it,
// what its plan found.
type Exec struct {
	RunID      string
	WorkerPool string
	// BlockedBy is the run holding the stack's lock while this one waits.
	BlockedBy      string
	LeaseID        string // "" when no worker holds the run
	LeaseOwner     string // the worker's id
	LeaseExpiresAt *time.Time
	// TokenHash is the hash of the run's state-backend token (valid while
	// the lease is); TokenWrite says whether it may write state.
	TokenHash  string
	TokenWrite bool
	Resources  []Resource
	HasChanges bool
	HasPlan    bool
	// ApplyStartedAt is set when the run entered APPLYING: it never applies
	// again.
	ApplyStartedAt *time.Time
	Error          string
	// Binary is what the worker executes the run with (zero until it
	// says).
	Binary Binary
}

// Binary is the tool a worker runs a run with, as the binary itself
// reports its version (`tofu version -json`), not as a folder names it.
type Binary struct {
	Tool    string // stack.OpenTofu or stack.Terraform
	Version string // 1.10.6
}

// Move is one compare-and-set move of a run: it happens only if the run is
// still in one of From (and, for a worker's move, still held under
// LeaseID), and it writes the history row in the same transaction.
type Move struct {
	RunID string
	From  []State
	To    State
	At    time.Time
	Actor string
	Note  string
	// LeaseID, when set, must be the run's current lease; with LeaseExpired
	// that lease must also have run out before At (the lease reaper).
	LeaseID      string
	LeaseExpired bool

	// Effects written with the move. A Delta makes the run Planned.
	Delta        *Delta
	Resources    []Resource
	HasChanges   *bool
	PlanSealed   []byte // the saved plan, sealed
	Error        string
	ErrorDetail  string // Run.ErrorDetail
	ReleaseLease bool   // drop the lease and its state token
	StartApply   bool   // record the apply; refused if one was recorded before
	Binary       *Binary
}

// Lease asks for the oldest runnable run of a pool.
type Lease struct {
	Pool       string
	Owner      string
	LeaseID    string
	TokenHash  string // the state token of this lease, hashed
	At         time.Time
	TTL        time.Duration
	StackIDs   []string // when set, only runs of these stacks (tests)
	AllowApply bool     // may take CONFIRMED runs (the apply phase)
}

// Leased is a run a worker now holds.
type Leased struct {
	Run   Run
	Phase Phase
	// TokenWrite says whether the lease's state token may write.
	TokenWrite bool
	Event      Event // the move to PREPARING or PREPARING_APPLY
}

// Phase is what a lease is for.
type Phase string

// The lease phases.
const (
	PhasePlan  Phase = "plan"  // READY → PREPARING → … → PLANNING (→ APPLYING with autodeploy)
	PhaseApply Phase = "apply" // CONFIRMED → PREPARING_APPLY → APPLYING
	PhaseTask  Phase = "task"  // READY → PREPARING → INITIALIZING → PERFORMING
)

// LogChunk is a piece of a run's output.
type LogChunk struct {
	ID    int64
	RunID string
	Phase string
	Body  string // whole lines, each ending in "\n"
	At    time.Time
}

// Promotion is the outcome of one scheduling pass.
type Promotion struct {
	Ready   []string          // runs moved QUEUED → READY
	Blocked map[string]string // waiting run → the run blocking it
	Events  []Event           // the moves to READY
}

// ExecStore keeps execution details. The scheduler, the workers' API and
// the run service share it; every method is safe with several servers on
// one database.
type ExecStore interface {
	// MoveRun performs m and returns its event (the run after it). A run
	// not in m.From, or no longer held under m.LeaseID, is an
	// apperr.Conflict and nothing changes.
	MoveRun(ctx context.Context, m Move) (Event, error)
	// PromoteQueued makes runnable QUEUED runs READY: PROPOSED runs at
	// once, TRACKED runs and tasks when no other tracked run or task of
	// their stack is past QUEUED and unfinished and no older one is queued
	// (FIFO); the others record who blocks them.
	PromoteQueued(ctx context.Context, at time.Time) (Promotion, error)
	// LeaseRun hands the oldest READY (or, with AllowApply, CONFIRMED) run
	// of l.Pool to l.Owner, moving it to PREPARING (or PREPARING_APPLY).
	// ok is false when there is none.
	LeaseRun(ctx context.Context, l Lease) (leased Leased, ok bool, err error)
	// RenewLease extends a lease; a lost lease or a run that ended is a
	// Conflict (the run's current state is returned with it).
	RenewLease(ctx context.Context, runID, leaseID string, expires time.Time) (Run, error)
	// ExpiredLeases lists runs whose lease ran out before at.
	ExpiredLeases(ctx context.Context, at time.Time) ([]string, error)
	GetExec(ctx context.Context, runID string) (Exec, error)
	// RunPlan returns the sealed saved plan of a run (NotFound if none).
	RunPlan(ctx context.Context, runID string) ([]byte, error)
	AppendRunLog(ctx context.Context, c LogChunk) (int64, error)
	// RunLogs returns the chunks after afterID, oldest first.
	RunLogs(ctx context.Context, runID string, afterID int64, limit int) ([]LogChunk, error)
}
