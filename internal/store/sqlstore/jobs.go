package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/jobqueue"
)

var _ jobqueue.Store = (*Store)(nil)

// EnqueueJobs writes jobs in one transaction.
func (s *Store) EnqueueJobs(ctx context.Context, now time.Time, jobs []jobqueue.NewJob) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.enqueueJobs(ctx, tx, now, jobs) })
}

// enqueueJobs writes jobs inside the caller's transaction: other store
// methods use it to commit a job together with the work it stands for.
// A job whose (kind, dedupe key) is pending is skipped.
func (s *Store) enqueueJobs(ctx context.Context, tx *sql.Tx, now time.Time, jobs []jobqueue.NewJob) error {
	for _, j := range jobs {
		if err := j.Check(); err != nil {
			return err
		}
		runAt := j.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		maxAge := j.MaxAge
		if maxAge == 0 {
			maxAge = jobqueue.DefaultMaxAge
		}
		var key any
		if j.DedupeKey != "" {
			key = j.DedupeKey
		}
		_, err := s.exec(ctx, tx, `INSERT INTO jobs (kind, payload, dedupe_key, run_at, created_at, give_up_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			j.Kind, string(j.Payload), key, s.t(runAt), s.t(now), s.t(now.Add(maxAge)))
		if err != nil {
			return fmt.Errorf("enqueue %s job: %w", j.Kind, err)
		}
	}
	return nil
}

// LeaseJobs takes due jobs. On PostgreSQL concurrent servers skip each
// other's rows (FOR UPDATE SKIP LOCKED); SQLite has one writer anyway.
func (s *Store) LeaseJobs(ctx context.Context, worker string, kinds []string, now time.Time, lease time.Duration, limit int) ([]jobqueue.Job, error) {
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	lock := ""
	if s.d.Name() == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	args := []any{worker, s.t(now.Add(lease))}
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, s.t(now), s.t(now), limit)
	q := `UPDATE jobs SET locked_by = ?, locked_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM jobs WHERE state = 'available' AND kind IN (` + placeholders(len(kinds)) + `)
			AND run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
			ORDER BY run_at, id LIMIT ?` + lock + `)
		RETURNING id, kind, payload, attempts, created_at, give_up_at, last_error`
	var jobs []jobqueue.Job
	// Group-committed (group.go): with many workers a lease follows
	// almost every finished job, and would otherwise be a commit of its
	// own per delivery.
	err := s.inGroupTx(ctx, func(tx *sql.Tx) error {
		jobs = nil // this may run twice (InGroupTx)
		rows, err := s.query(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j jobqueue.Job
			var payload string
			if err := rows.Scan(&j.ID, &j.Kind, &payload, &j.Attempt, timeScan{&j.CreatedAt}, timeScan{&j.GiveUpAt}, &j.LastError); err != nil {
				return err
			}
			j.Payload = []byte(payload)
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	return jobs, nil
}

// placeholders is n comma-separated parameters: an IN list.
func placeholders(n int) string { return valueRows("?", n) }

// batchRows bounds the rows one multi-row statement writes or names (a
// batch of GitLab writes, of history rows, of runs promoted): its
// parameters stay well under SQLite's and PostgreSQL's limits.
const batchRows = 64

// valueRows is n copies of row, comma-separated: the VALUES list of a
// multi-row INSERT.
func valueRows(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// ExtendJobLease renews a lease the worker still holds.
func (s *Store) ExtendJobLease(ctx context.Context, id int64, worker string, until time.Time) (bool, error) {
	res, err := s.exec(ctx, s.w, `UPDATE jobs SET locked_until = ? WHERE id = ? AND locked_by = ? AND state = 'available'`,
		s.t(until), id, worker)
	if err != nil {
		return false, fmt.Errorf("extend lease of job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CompleteJob deletes a job the worker holds, in the InTx transaction of
// ctx when there is one; false when the worker no longer held it.
func (s *Store) CompleteJob(ctx context.Context, id int64, worker string) (bool, error) {
	res, err := s.exec(ctx, s.w, `DELETE FROM jobs WHERE id = ? AND locked_by = ? AND state = 'available'`, id, worker)
	if err != nil {
		return false, fmt.Errorf("complete job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("complete job %d: %w", id, err)
	}
	return n == 1, nil
}

// RetryJob releases a job to run again at runAt.
func (s *Store) RetryJob(ctx context.Context, id int64, worker string, runAt time.Time, errMsg string) error {
	_, err := s.exec(ctx, s.w, `UPDATE jobs SET run_at = ?, last_error = ?, locked_by = NULL, locked_until = NULL
		WHERE id = ? AND locked_by = ?`, s.t(runAt), errMsg, id, worker)
	if err != nil {
		return fmt.Errorf("reschedule job %d: %w", id, err)
	}
	return nil
}

// FailJob marks a job failed for good; it keeps its row for operators.
func (s *Store) FailJob(ctx context.Context, id int64, worker string, now time.Time, errMsg string) error {
	_, err := s.exec(ctx, s.w, `UPDATE jobs SET state = 'failed', last_error = ?, run_at = ?, locked_by = NULL, locked_until = NULL
		WHERE id = ? AND locked_by = ?`, errMsg, s.t(now), id, worker)
	if err != nil {
		return fmt.Errorf("fail job %d: %w", id, err)
	}
	return nil
}

// ReleaseJobLeases drops every lease.
func (s *Store) ReleaseJobLeases(ctx context.Context) (int, error) {
	res, err := s.exec(ctx, s.w, `UPDATE jobs SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("release job leases: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FailedJobs lists jobs that gave up, newest first; kind "" lists all.
func (s *Store) FailedJobs(ctx context.Context, kind string, limit int) ([]jobqueue.FailedJob, error) {
	rows, err := s.query(ctx, s.r, `SELECT id, kind, payload, attempts, created_at, give_up_at, last_error, run_at
		FROM jobs WHERE state = 'failed' AND (? = '' OR kind = ?) ORDER BY run_at DESC, id DESC LIMIT ?`,
		kind, kind, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list failed jobs: %w", err)
	}
	defer rows.Close()
	var out []jobqueue.FailedJob
	for rows.Next() {
		var j jobqueue.FailedJob
		var payload string
		if err := rows.Scan(&j.ID, &j.Kind, &payload, &j.Attempt, timeScan{&j.CreatedAt}, timeScan{&j.GiveUpAt},
			&j.LastError, timeScan{&j.FailedAt}); err != nil {
			return nil, err
		}
		j.Payload = []byte(payload)
		out = append(out, j)
	}
	return out, rows.Err()
}
