package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/stack"
)

// Merge request locks of stacks (issue 18): a stack applied from a merge
// request with `/hoist apply` is held for that merge request until it is
// merged or closed (or `/hoist unlock`). One row per locked stack; every
// method joins the caller's InTx transaction.

const mrLockCols = `stack_id, merge_request_iid, merge_request_url, locked_by, run_id, locked_at`

func scanMRLock(row rowScanner) (stack.MRLock, error) {
	var l stack.MRLock
	err := row.Scan(&l.StackID, &l.MergeRequestIID, &l.MergeRequestURL, &l.LockedBy, &l.RunID, timeScan{&l.LockedAt})
	return l, err
}

// LockStackForMR locks l.StackID for merge request l.MergeRequestIID. A
// stack without a lock gets l; a lock of the same merge request takes l's
// run, author, time and URL. A lock of another merge request is left as it
// is and returned as holder with locked false. Two merge requests locking
// at once: the insert's primary key lets exactly one win. A missing stack
// is NotFound.
func (s *Store) LockStackForMR(ctx context.Context, l stack.MRLock) (holder stack.MRLock, locked bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// A lock another transaction releases between the insert and the
		// read leaves nothing to read: try again, a few times.
		for range 3 {
			res, err := s.exec(ctx, tx, `INSERT INTO stack_mr_locks (`+mrLockCols+`) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (stack_id) DO NOTHING`,
				l.StackID, l.MergeRequestIID, l.MergeRequestURL, l.LockedBy, l.RunID, s.t(l.LockedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				holder, locked = l, n == 1
				return err
			}
			res, err = s.exec(ctx, tx, `UPDATE stack_mr_locks SET merge_request_url = ?, locked_by = ?, run_id = ?, locked_at = ?
				WHERE stack_id = ? AND merge_request_iid = ?`,
				l.MergeRequestURL, l.LockedBy, l.RunID, s.t(l.LockedAt), l.StackID, l.MergeRequestIID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				holder, locked = l, n == 1
				return err
			}
			holder, err = scanMRLock(s.queryRow(ctx, tx, `SELECT `+mrLockCols+` FROM stack_mr_locks WHERE stack_id = ?`, l.StackID))
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return errors.New("the lock kept changing")
	})
	if s.d.IsForeignKeyViolation(err) {
		return stack.MRLock{}, false, apperr.Wrap(apperr.NotFound, err, "no stack %q", l.StackID)
	}
	if err != nil {
		return stack.MRLock{}, false, wrapInternal(err, "lock stack %s for merge request !%d", l.StackID, l.MergeRequestIID)
	}
	return holder, locked, nil
}

// StackMRLock returns the merge request lock of a stack, nil when it has
// none.
func (s *Store) StackMRLock(ctx context.Context, stackID string) (*stack.MRLock, error) {
	l, err := scanMRLock(s.queryRow(ctx, s.r, `SELECT `+mrLockCols+` FROM stack_mr_locks WHERE stack_id = ?`, stackID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapInternal(err, "load merge request lock of stack %s", stackID)
	}
	return &l, nil
}

// StackMRLocks returns the merge request locks of the stacks among
// stackIDs that have one, by stack id, in one query.
func (s *Store) StackMRLocks(ctx context.Context, stackIDs []string) (map[string]stack.MRLock, error) {
	out := map[string]stack.MRLock{}
	if len(stackIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(stackIDs))
	for i, id := range stackIDs {
		args[i] = id
	}
	locks, err := queryAll(ctx, s, s.r, scanMRLock,
		`SELECT `+mrLockCols+` FROM stack_mr_locks WHERE stack_id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, wrapInternal(err, "load merge request locks of %d stacks", len(stackIDs))
	}
	for _, l := range locks {
		out[l.StackID] = l
	}
	return out, nil
}

// ReleaseMRLocks deletes the locks of stackIDs held by merge request iid
// and returns the ids of the stacks released, sorted. Locks of other merge
// requests stay.
func (s *Store) ReleaseMRLocks(ctx context.Context, stackIDs []string, iid int64) ([]string, error) {
	if len(stackIDs) == 0 {
		return []string{}, nil
	}
	args := make([]any, 0, len(stackIDs)+1)
	args = append(args, iid)
	for _, id := range stackIDs {
		args = append(args, id)
	}
	var released []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		released, err = queryAll(ctx, s, tx, scanString, `DELETE FROM stack_mr_locks
			WHERE merge_request_iid = ? AND stack_id IN (`+placeholders(len(stackIDs))+`) RETURNING stack_id`, args...)
		return err
	})
	if err != nil {
		return nil, wrapInternal(err, "release merge request !%d's locks", iid)
	}
	slices.Sort(released)
	return released, nil
}

const mrMergeCols = `stack_id, merge_request_iid, merge_request_url, head_sha, merge_commit_sha, merged_at`

// RecordMRMerges records merge requests merged after applying stacks
// before their merge; a merge request recorded again (a redelivered merge
// event) keeps one row per stack, updated.
func (s *Store) RecordMRMerges(ctx context.Context, ms []stack.MRMerge) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			_, err := s.exec(ctx, tx, `INSERT INTO stack_mr_merges (`+mrMergeCols+`) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (stack_id, merge_request_iid) DO UPDATE SET merge_request_url = excluded.merge_request_url,
				head_sha = excluded.head_sha, merge_commit_sha = excluded.merge_commit_sha, merged_at = excluded.merged_at`,
				m.StackID, m.MergeRequestIID, m.MergeRequestURL, m.HeadSHA, m.MergeCommitSHA, s.t(m.MergedAt))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapInternal(err, "record %d merged merge request(s)", len(ms))
}

// MRMergeAt returns the merge request, applied before its merge, whose
// merge made commit sha the stack's tracked commit (its merge commit, or
// its head for a fast-forward merge); nil when there is none.
func (s *Store) MRMergeAt(ctx context.Context, stackID, sha string) (*stack.MRMerge, error) {
	var m stack.MRMerge
	err := s.queryRow(ctx, s.r, `SELECT `+mrMergeCols+` FROM stack_mr_merges
		WHERE stack_id = ? AND (merge_commit_sha = ? OR head_sha = ?) ORDER BY merged_at DESC LIMIT 1`, stackID, sha, sha).
		Scan(&m.StackID, &m.MergeRequestIID, &m.MergeRequestURL, &m.HeadSHA, &m.MergeCommitSHA, timeScan{&m.MergedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapInternal(err, "load the merge request merged into %s of stack %s", sha, stackID)
	}
	return &m, nil
}
