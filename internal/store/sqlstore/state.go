package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/state"
)

var _ state.Store = (*Store)(nil)

const stateVersionCols = "id, stack_id, serial, lineage, run_id, size, created_at"

func scanStateVersion(row interface{ Scan(...any) error }, extra ...any) (state.Version, error) {
	var v state.Version
	err := row.Scan(append([]any{&v.ID, &v.StackID, &v.Serial, &v.Lineage, &v.RunID, &v.Size, timeScan{&v.CreatedAt}}, extra...)...)
	return v, err
}

// LatestStateVersion implements state.Store.
func (s *Store) LatestStateVersion(ctx context.Context, stackID string) (state.Version, []byte, error) {
	var body []byte
	v, err := scanStateVersion(s.queryRow(ctx, s.w, "SELECT "+stateVersionCols+
		", body_sealed FROM state_versions WHERE stack_id = ? ORDER BY id DESC LIMIT 1", stackID), &body)
	if err != nil {
		return state.Version{}, nil, wrapInternal(notFound(err, "stack %s has no state", stackID), "latest state of %s", stackID)
	}
	return v, body, nil
}

// CreateStateVersion implements state.Store.
func (s *Store) CreateStateVersion(ctx context.Context, v state.Version, sealed []byte) (state.Version, error) {
	v.CreatedAt = dbTime(v.CreatedAt)
	err := s.queryRow(ctx, s.w, `INSERT INTO state_versions (stack_id, serial, lineage, run_id, size, body_sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, v.StackID, v.Serial, v.Lineage, v.RunID, v.Size, sealed, s.t(v.CreatedAt)).Scan(&v.ID)
	if err != nil {
		return state.Version{}, fmt.Errorf("store state version of %s: %w", v.StackID, err)
	}
	return v, nil
}

// ListStateVersions implements state.Store (newest first).
func (s *Store) ListStateVersions(ctx context.Context, stackID, cursor string, limit int) ([]state.Version, string, error) {
	limit = clampLimit(limit)
	q, args := "SELECT "+stateVersionCols+" FROM state_versions WHERE stack_id = ?", []any{stackID}
	if cursor != "" {
		c, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		before, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return nil, "", apperr.InvalidField("cursor", "is not a cursor returned by this list")
		}
		q, args = q+" AND id < ?", append(args, before)
	}
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (state.Version, error) { return scanStateVersion(row) },
		q+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list state versions of %s: %w", stackID, err)
	}
	out, next := page(out, limit, func(v state.Version) string { return idCursor(strconv.FormatInt(v.ID, 10)) })
	return out, next, nil
}

// LockState implements state.Store.
func (s *Store) LockState(ctx context.Context, l state.Lock) (state.Lock, bool, error) {
	var held state.Lock
	var ok bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Insert first and read the holder on a conflict: with
		// check-then-insert, two servers locking at once both found the
		// lock free and the later insert failed on the primary key
		// (PostgreSQL) instead of reporting the holder. A holder that
		// unlocks between the insert and the read leaves the lock free:
		// try once more.
		for range 2 {
			res, err := s.exec(ctx, tx, `INSERT INTO state_locks (stack_id, lock_id, info, run_id, created_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (stack_id) DO NOTHING`, l.StackID, l.ID, string(l.Info), l.RunID, s.t(l.CreatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				ok = err == nil
				return err
			}
			held, err = s.getStateLock(ctx, tx, l.StackID)
			if !apperr.Is(err, apperr.NotFound) {
				return err
			}
		}
		return apperr.Errorf(apperr.Conflict, "the state lock of stack %s changes hands too fast", l.StackID)
	})
	return held, ok, wrapInternal(err, "lock state of %s", l.StackID)
}

// GetStateLock implements state.Store.
func (s *Store) GetStateLock(ctx context.Context, stackID string) (state.Lock, error) {
	return s.getStateLock(ctx, s.w, stackID)
}

func (s *Store) getStateLock(ctx context.Context, q querier, stackID string) (state.Lock, error) {
	l := state.Lock{StackID: stackID}
	var info string
	err := s.queryRow(ctx, q, "SELECT lock_id, info, run_id, created_at FROM state_locks WHERE stack_id = ?", stackID).
		Scan(&l.ID, &info, &l.RunID, timeScan{&l.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return state.Lock{}, apperr.Errorf(apperr.NotFound, "the state of stack %s is not locked", stackID)
	}
	l.Info = []byte(info)
	return l, err
}

// UnlockState implements state.Store.
func (s *Store) UnlockState(ctx context.Context, stackID, lockID string) (bool, error) {
	res, err := s.exec(ctx, s.w, "DELETE FROM state_locks WHERE stack_id = ? AND lock_id = ?", stackID, lockID)
	if err != nil {
		return false, fmt.Errorf("unlock state of %s: %w", stackID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
