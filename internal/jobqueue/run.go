package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// outcomeTimeout bounds the write that records a job's outcome; it runs
// even while the queue stops, so the job is not left leased.
const outcomeTimeout = 10 * time.Second

// run runs one leased job under a renewed lease and records its outcome.
func (q *Queue) run(ctx context.Context, j Job) {
	log := q.log.With("job_id", j.ID, "job_kind", j.Kind, "attempt", j.Attempt)
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopRenew := q.renew(jobCtx, cancel, j, log)
	err := q.call(jobCtx, j)
	stopRenew()
	lost := jobCtx.Err() != nil && ctx.Err() == nil // canceled by renew, not by Stop
	octx, ocancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer ocancel()
	if lost {
		log.Warn("job lease lost; another worker may run it", "error", err)
		return
	}
	if err == nil && j.held != nil && j.held.complete.Load() {
		return // deleted in the handler's committed transaction
	}
	if oerr := q.record(octx, ctx, j, err, log); oerr != nil {
		log.Error("record job outcome", "error", oerr)
	}
}

// call runs the handler, turning a panic into an error.
func (q *Queue) call(ctx context.Context, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return q.handlers[j.Kind](ctx, j)
}

// renew extends the lease every third of its length until stopped; when
// the lease is lost it cancels the job.
func (q *Queue) renew(ctx context.Context, cancel context.CancelFunc, j Job, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(q.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := q.cfg.Store.ExtendJobLease(ctx, j.ID, q.cfg.WorkerID, q.cfg.Clock().Add(q.cfg.Lease))
				if err != nil {
					log.Warn("extend job lease", "error", err)
					continue // the lease may still hold; try again next tick
				}
				if !ok && j.held != nil && j.held.complete.Load() {
					return // the handler completed the job: its row is gone
				}
				if !ok {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// record writes what became of an attempt: done, retry later, or failed.
// queueCtx tells a handler that failed because the queue stopped.
func (q *Queue) record(ctx, queueCtx context.Context, j Job, err error, log *slog.Logger) error {
	if err == nil {
		_, err := q.cfg.Store.CompleteJob(ctx, j.ID, q.cfg.WorkerID)
		return err
	}
	now := q.cfg.Clock()
	if queueCtx.Err() != nil {
		// Stopped mid-job: run it again soon, on this server's next start or
		// on another one.
		return q.cfg.Store.RetryJob(ctx, j.ID, q.cfg.WorkerID, now, "interrupted: the queue stopped")
	}
	msg := errMessage(err)
	var perm *permanentError
	if errors.As(err, &perm) {
		log.Error("job failed permanently", "error", err)
		return q.fail(ctx, j, now, err)
	}
	delay := q.cfg.Backoff(j.Attempt)
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.delay > delay {
		delay = ra.delay
	}
	next := now.Add(delay)
	if next.After(j.GiveUpAt) {
		log.Error("job failed; giving up after its max age", "error", err, "attempts", j.Attempt)
		return q.fail(ctx, j, now, err)
	}
	log.Warn("job failed; will retry", "error", err, "retry_in", delay.Round(time.Millisecond))
	if err := q.cfg.Store.RetryJob(ctx, j.ID, q.cfg.WorkerID, next, msg); err != nil {
		return err
	}
	if delay < q.cfg.PollInterval {
		time.AfterFunc(delay, q.Wake) // sooner than the next poll would notice
	}
	return nil
}

func (q *Queue) fail(ctx context.Context, j Job, now time.Time, err error) error {
	if ferr := q.cfg.Store.FailJob(ctx, j.ID, q.cfg.WorkerID, now, errMessage(err)); ferr != nil {
		return ferr
	}
	if f := q.onFail[j.Kind]; f != nil {
		f(ctx, j, err)
	}
	return nil
}
