// Package jobqueue is Hoist's small durable job queue, kept in the same
// database as everything else (docs/design/jobqueue.md). A job is a kind
// and a JSON payload; it is written in the caller's transaction (so the
// work it stands for is committed together with the job), leased by a
// worker, retried with exponential backoff and jitter until it succeeds or
// its max age runs out, and then kept, failed, for operators to see.
//
// Handlers must be idempotent: a job runs at least once, and a worker that
// dies mid-job leaves it to be leased again when its lease runs out.
package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultMaxAge is how long a job keeps being retried: GitLab outages of
// hours delay work but do not drop it (SPEC §7).
const DefaultMaxAge = 24 * time.Hour

// NewJob is a job to enqueue.
type NewJob struct {
	Kind    string
	Payload []byte // JSON by convention; the handler decodes it
	// DedupeKey, when set, makes Enqueue a no-op while a job of the same
	// kind and key is still pending (not yet done, not failed).
	DedupeKey string
	RunAt     time.Time     // zero means now
	MaxAge    time.Duration // retries stop this long after enqueueing; 0 means DefaultMaxAge
}

// Job is a leased job, as a handler sees it.
type Job struct {
	ID        int64
	Kind      string
	Payload   []byte
	Attempt   int // 1 on the first run
	CreatedAt time.Time
	GiveUpAt  time.Time // no retry is scheduled after this
	LastError string    // the previous attempt's error, "" on the first run

	held *holding // set by the Queue that leased the job; nil in a Job made by hand
}

// holding is a leased job's tie to its queue, shared by the copies of the
// Job a handler makes.
type holding struct {
	store    Store
	worker   string
	complete atomic.Bool // Complete deleted the job (in the handler's transaction)
}

// ErrLeaseLost is Complete's answer when this worker no longer holds the
// job: the transaction it was called in must roll back, since another
// worker may be running the job.
var ErrLeaseLost = errors.New("jobqueue: the job's lease was lost")

// Complete ends the job as done inside the store transaction ctx carries
// (sqlstore's InTx), so that the job's deletion commits together with the
// work it did: one write less per job, a crash after the commit cannot run
// the job again, and a worker whose lease ran out cannot commit
// (ErrLeaseLost rolls the transaction back). A handler that called
// Complete returns nil only once that transaction committed; the queue
// then records nothing more. An error return after Complete is recorded
// as usual (a retry of a job whose deletion committed does nothing). On a
// Job not leased by a Queue (a test's) it does nothing.
func (j Job) Complete(ctx context.Context) error {
	if j.held == nil {
		return nil
	}
	ok, err := j.held.store.CompleteJob(ctx, j.ID, j.held.worker)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseLost
	}
	j.held.complete.Store(true)
	return nil
}

// FailedJob is a job that gave up: it stays in the queue's table.
type FailedJob struct {
	Job
	FailedAt time.Time
}

// Handler runs one job. A nil error completes it; any other error retries
// it later (see Permanent and RetryAfter).
type Handler func(ctx context.Context, j Job) error

// permanentError asks the queue not to retry.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the job fails at once, without retries: the
// input is bad and trying again cannot help.
func Permanent(err error) error { return &permanentError{err: err} }

// retryAfterError asks for a specific delay (a 429's Retry-After).
type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter wraps err so the next attempt waits at least d instead of the
// computed backoff.
func RetryAfter(d time.Duration, err error) error { return &retryAfterError{err: err, delay: d} }

// Store is the database side of the queue; sqlstore implements it.
// Leases are by worker id: Complete, Retry, Fail and Extend only act on a
// job the worker still holds.
type Store interface {
	// EnqueueJobs writes jobs in one transaction; jobs whose dedupe key is
	// pending are skipped.
	EnqueueJobs(ctx context.Context, now time.Time, jobs []NewJob) error
	// LeaseJobs takes up to limit due jobs of kinds, oldest due first, that
	// nobody holds (or whose lease ran out), for lease.
	LeaseJobs(ctx context.Context, worker string, kinds []string, now time.Time, lease time.Duration, limit int) ([]Job, error)
	// ExtendJobLease keeps holding a running job; false when the lease was lost.
	ExtendJobLease(ctx context.Context, id int64, worker string, until time.Time) (bool, error)
	// CompleteJob deletes a done job; false when the worker no longer
	// held it (nothing was deleted). It joins the transaction of ctx
	// (Job.Complete).
	CompleteJob(ctx context.Context, id int64, worker string) (bool, error)
	// RetryJob releases a job to run again at runAt, recording errMsg.
	RetryJob(ctx context.Context, id int64, worker string, runAt time.Time, errMsg string) error
	// FailJob marks a job failed for good, recording errMsg.
	FailJob(ctx context.Context, id int64, worker string, now time.Time, errMsg string) error
	// ReleaseJobLeases drops every lease (at start, when the database is
	// known to serve only this process, the holders are all dead).
	ReleaseJobLeases(ctx context.Context) (int, error)
	// FailedJobs lists jobs that gave up, newest first.
	FailedJobs(ctx context.Context, kind string, limit int) ([]FailedJob, error)
}

// errMessage is what is stored of an error: bounded, so a huge error
// cannot bloat the table.
func errMessage(err error) string {
	const max = 4 << 10
	s := err.Error()
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Check reports an unusable NewJob.
func (j NewJob) Check() error {
	if j.Kind == "" {
		return errors.New("jobqueue: job without a kind")
	}
	if j.MaxAge < 0 {
		return fmt.Errorf("jobqueue: job %s has a negative max age", j.Kind)
	}
	return nil
}

// Backlog is what the queue's table holds of one job kind, for monitoring.
type Backlog struct {
	Kind   string
	Queued int       // waiting, waiting to retry, or running
	Failed int       // gave up, kept for operators
	Oldest time.Time // when the oldest queued job was enqueued; zero when none is
}
