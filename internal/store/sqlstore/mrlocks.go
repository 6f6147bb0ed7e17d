package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
)

// Merge request locks of stacks (issue 18): a stack applied from a merge
// request with `/hoist apply` is held for that merge request until it is
// merged or closed (or `/hoist unlock`). One row per locked stack; every
// method joins the caller's InTx transaction.

const mrLockCols = `stack_id, merge_request_iid, merge_request_url, locked_by, run_id, locked_at, head_sha, mr_stacks`

func scanMRLock(row rowScanner) (stack.MRLock, error) {
	var l stack.MRLock
	err := row.Scan(&l.StackID, &l.MergeRequestIID, &l.MergeRequestURL, &l.LockedBy, &l.RunID, timeScan{&l.LockedAt},
		&l.HeadSHA, stringsScan{&l.MRStacks})
	l.MRStacks = nonNil(l.MRStacks)
	return l, err
}

// LockStackForMR locks l.StackID for merge request l.MergeRequestIID. A
// stack without a lock gets l; a lock of the same merge request takes l's
// run, author, time and URL. A lock of another merge request is left as it
// is and returned as holder with locked false. Two merge requests locking
// at once: the insert's primary key lets exactly one win. A missing stack
// is NotFound.
func (s *Store) LockStackForMR(ctx context.Context, l stack.MRLock) (holder stack.MRLock, locked bool, err error) {
	l.MRStacks = nonNil(l.MRStacks)
	mrStacks, err := jsonArg(l.MRStacks)
	if err != nil {
		return stack.MRLock{}, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// A lock another transaction releases between the insert and the
		// read leaves nothing to read: try again, a few times.
		for range 3 {
			res, err := s.exec(ctx, tx, `INSERT INTO stack_mr_locks (`+mrLockCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (stack_id) DO NOTHING`,
				l.StackID, l.MergeRequestIID, l.MergeRequestURL, l.LockedBy, l.RunID, s.t(l.LockedAt), l.HeadSHA, mrStacks)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				holder, locked = l, n == 1
				return err
			}
			res, err = s.exec(ctx, tx, `UPDATE stack_mr_locks SET merge_request_url = ?, locked_by = ?, run_id = ?, locked_at = ?,
				head_sha = ?, mr_stacks = ? WHERE stack_id = ? AND merge_request_iid = ?`,
				l.MergeRequestURL, l.LockedBy, l.RunID, s.t(l.LockedAt), l.HeadSHA, mrStacks, l.StackID, l.MergeRequestIID)
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
	err := inChunks("stack_id", stackIDs, func(cond string, args []any) error {
		locks, err := queryAll(ctx, s, s.r, scanMRLock, `SELECT `+mrLockCols+` FROM stack_mr_locks WHERE `+cond, args...)
		for _, l := range locks {
			out[l.StackID] = l
		}
		return err
	})
	if err != nil {
		return nil, wrapInternal(err, "load merge request locks of %d stacks", len(stackIDs))
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
	var released []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		released = nil // may run again
		return inChunks("stack_id", stackIDs, func(cond string, args []any) error {
			part, err := queryAll(ctx, s, tx, scanString, `DELETE FROM stack_mr_locks
				WHERE merge_request_iid = ? AND `+cond+` RETURNING stack_id`, append([]any{iid}, args...)...)
			released = append(released, part...)
			return err
		})
	})
	if err != nil {
		return nil, wrapInternal(err, "release merge request !%d's locks", iid)
	}
	slices.Sort(released)
	return released, nil
}

const mrMergeCols = `stack_id, merge_request_iid, merge_request_url, head_sha, merge_commit_sha, merged_at, by_hoist`

// RecordMRMerges records merge requests merged after applying stacks
// before their merge; a merge request recorded again (a redelivered merge
// event) keeps one row per stack, updated.
func (s *Store) RecordMRMerges(ctx context.Context, ms []stack.MRMerge) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			_, err := s.exec(ctx, tx, `INSERT INTO stack_mr_merges (`+mrMergeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (stack_id, merge_request_iid) DO UPDATE SET merge_request_url = excluded.merge_request_url,
				head_sha = excluded.head_sha, merge_commit_sha = excluded.merge_commit_sha, merged_at = excluded.merged_at,
				by_hoist = excluded.by_hoist`,
				m.StackID, m.MergeRequestIID, m.MergeRequestURL, m.HeadSHA, m.MergeCommitSHA, s.t(m.MergedAt), m.ByHoist)
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
		Scan(&m.StackID, &m.MergeRequestIID, &m.MergeRequestURL, &m.HeadSHA, &m.MergeCommitSHA, timeScan{&m.MergedAt}, &m.ByHoist)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapInternal(err, "load the merge request merged into %s of stack %s", sha, stackID)
	}
	return &m, nil
}

// MRAutomergeReady reports, in the caller's transaction, whether runID —
// the apply run holding stackID's lock, finishing — completes its merge
// request's applies: every stack the merge request changed (the lock's
// MRStacks) is locked by it at the same head, its apply run finished (runID
// counts as finished), and has mr_automerge on. It returns the lock. On
// PostgreSQL the merge request's locks are taken FOR UPDATE first, so of
// two applies finishing at once the later sees the earlier's commit and
// one of them finds the merge request ready.
func (s *Store) MRAutomergeReady(ctx context.Context, stackID, runID string) (bool, stack.MRLock, error) {
	var lock stack.MRLock
	var ready bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		l, err := scanMRLock(s.queryRow(ctx, tx, `SELECT `+mrLockCols+` FROM stack_mr_locks WHERE stack_id = ?`, stackID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		lock = l
		if l.RunID != runID || l.HeadSHA == "" || !slices.Contains(l.MRStacks, stackID) {
			return nil
		}
		args := []any{l.MergeRequestIID}
		for _, id := range l.MRStacks {
			args = append(args, id)
		}
		in := placeholders(len(l.MRStacks))
		if s.d.Name() == "postgres" {
			if _, err := queryAll(ctx, s, tx, scanString, `SELECT stack_id FROM stack_mr_locks
				WHERE merge_request_iid = ? AND stack_id IN (`+in+`) ORDER BY stack_id FOR UPDATE`, args...); err != nil {
				return err
			}
		}
		type member struct {
			stack, head, run, state string
			automerge               bool
		}
		members, err := queryAll(ctx, s, tx, func(row rowScanner) (member, error) {
			var m member
			err := row.Scan(&m.stack, &m.head, &m.run, &m.state, &m.automerge)
			return m, err
		}, `SELECT l.stack_id, l.head_sha, l.run_id, COALESCE(r.state, ''), st.mr_automerge
			FROM stack_mr_locks l JOIN stacks st ON st.id = l.stack_id LEFT JOIN runs r ON r.id = l.run_id
			WHERE l.merge_request_iid = ? AND l.stack_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		if len(members) != len(l.MRStacks) {
			return nil // a stack the merge request changes has not applied
		}
		for _, m := range members {
			if m.head != l.HeadSHA || !m.automerge || m.run != runID && m.state != string(run.Finished) {
				return nil
			}
		}
		ready = true
		return nil
	})
	if err != nil {
		return false, stack.MRLock{}, wrapInternal(err, "automerge of stack %s's merge request", stackID)
	}
	return ready, lock, nil
}
