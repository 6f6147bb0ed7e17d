package feedback

import (
	"context"
	"time"
)

// Store is the durable outbox. Its methods join the transaction of the
// change that causes the writes when ctx carries one (the caller's InTx,
// e.g. run.Service recording a transition), else each is a transaction of
// its own: a run transition and its GitLab writes commit together or not
// at all.
type Store interface {
	Refs
	// EnqueueWrites inserts ws (State pending, due at NextAttemptAt) and
	// marks their keys due.
	EnqueueWrites(ctx context.Context, ws []Write) error
	// ClaimWriteKeys leases up to limit keys that have a due write and no
	// live lease, skipping keys of the integrations in skip, until
	// now+lease, and returns them with their open writes. A key is held by
	// one owner at a time.
	ClaimWriteKeys(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, skip []string) ([]ClaimedKey, error)
	// GiveBackWriteKey ends owner's lease on key at once, as if it had run
	// out: the next claim of the key is TakenOver.
	GiveBackWriteKey(ctx context.Context, key, owner string) error
	// CacheScope returns ctx with the store's cached tables' state as of
	// now: the integrations a round of writes reads are checked once
	// (sqlstore's read cache).
	CacheScope(ctx context.Context) (context.Context, error)
	// ResolveWrites records what happened to some of a key's writes, moves
	// its mark forward when mark is not nil, sets when the key is next due
	// (its earliest remaining write) and releases owner's lease, in one
	// transaction.
	ResolveWrites(ctx context.Context, key, owner string, rs []Resolution, mark *Mark, now time.Time) error
	// ListWrites returns a run's writes, oldest first.
	ListWrites(ctx context.Context, runID string) ([]Write, error)
	// RecordCommitRun sets one member's state of an aggregated status and
	// returns every member of that status on the commit.
	RecordCommitRun(ctx context.Context, c CommitRun) ([]CommitRun, error)
	// AggregateStatuses reports whether the integration posts aggregated
	// statuses.
	AggregateStatuses(ctx context.Context, integrationID string) (bool, error)
	// IntegrationDriftIssue returns the integration's drift issue setting,
	// the default of its stacks that do not turn drift_issue on.
	IntegrationDriftIssue(ctx context.Context, integrationID string) (bool, []string, error)
}

// ClaimedKey is a key ClaimWriteKeys leased.
type ClaimedKey struct {
	Key string
	// Writes are its pending and retrying writes, oldest first, as the
	// claim found them (one enqueued later makes the key due again).
	Writes []Write
	// Mark is the newest write GitLab has for it; the zero Mark when no
	// write is open (there is nothing to compare it with).
	Mark Mark
	// TakenOver: the key's last lease ended without its owner resolving
	// it (the owner was killed, stopped mid-write, or outlived its lease),
	// so a write of it may have reached GitLab unrecorded.
	TakenOver bool
	// Ref is the kept id of the GitLab object its writes edit (a note, a
	// deployment, an issue), read with the claim; only the key's holder
	// keeps one.
	Ref Ref
}

// Ref is a key's kept GitLab id; Known is false when none is kept.
type Ref struct {
	ID    int64
	Known bool
}

// Resolution is the outcome of a write.
type Resolution struct {
	ID            int64
	State         WriteState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	Result        string
}

// CommitRun is one member (a stack, or a module) of an aggregated status
// on a commit, in its latest state.
type CommitRun struct {
	IntegrationID string
	Project       string
	SHA           string
	Name          string // hoist/tracked, hoist/proposed, hoist/modules
	Member        string // stack or module id
	Ord           string // the run's id: a newer run replaces an older one's state
	State         string // commit status state
}

// Backlog is the writes of one kind that GitLab does not have yet
// (pending or retrying), for monitoring.
type Backlog struct {
	Kind   Kind
	Open   int
	Oldest time.Time // when the oldest open write was enqueued
}
