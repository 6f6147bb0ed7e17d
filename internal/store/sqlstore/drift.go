package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hoistdev/hoist/internal/stack"
)

const driftCols = `stack_id, drifted, run_id, resources, checked_at, changed_at`

func scanDrift(row interface{ Scan(...any) error }) (stack.Drift, error) {
	var d stack.Drift
	err := row.Scan(&d.StackID, &d.Drifted, &d.RunID, jsonScan{&d.Changes}, timeScan{&d.CheckedAt}, timeScan{&d.ChangedAt})
	return d, err
}

// StackDrift implements stack.Store.
func (s *Store) StackDrift(ctx context.Context, stackID string) (*stack.Drift, error) {
	d, err := scanDrift(s.queryRow(ctx, s.r, `SELECT `+driftCols+` FROM stack_drift WHERE stack_id = ?`, stackID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapInternal(err, "load drift mark of stack %s", stackID)
	}
	return &d, nil
}

// StackDrifts implements stack.Store.
func (s *Store) StackDrifts(ctx context.Context, stackIDs []string) (map[string]stack.Drift, error) {
	out := map[string]stack.Drift{}
	if len(stackIDs) == 0 {
		return out, nil
	}
	err := inChunks("stack_id", stackIDs, func(cond string, args []any) error {
		ds, err := queryAll(ctx, s, s.r, scanDrift, `SELECT `+driftCols+` FROM stack_drift WHERE `+cond, args...)
		for _, d := range ds {
			out[d.StackID] = d
		}
		return err
	})
	if err != nil {
		return nil, wrapInternal(err, "load drift marks of %d stacks", len(stackIDs))
	}
	return out, nil
}

// SetStackDrift records a stack's drift mark (a finished drift run's
// outcome) and returns the mark it replaced, nil when there was none. A
// deleted stack has nothing to mark: nil, nil, and nothing is written.
func (s *Store) SetStackDrift(ctx context.Context, d stack.Drift) (*stack.Drift, error) {
	var prev *stack.Drift
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := s.exists(ctx, tx, `SELECT 1 FROM stacks WHERE id = ?`, d.StackID); err != nil || !ok {
			return err
		}
		old, err := scanDrift(s.queryRow(ctx, tx, `SELECT `+driftCols+` FROM stack_drift WHERE stack_id = ?`, d.StackID))
		switch {
		case err == nil:
			prev = &old
			if old.Drifted == d.Drifted {
				d.ChangedAt = old.ChangedAt
			}
		case !errors.Is(err, sql.ErrNoRows):
			return wrapInternal(err, "load drift mark of stack %s", d.StackID)
		}
		changes, err := jsonArg(nonNilChanges(d.Changes))
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO stack_drift (`+driftCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (stack_id) DO UPDATE SET drifted = excluded.drifted, run_id = excluded.run_id,
			resources = excluded.resources, checked_at = excluded.checked_at, changed_at = excluded.changed_at`,
			d.StackID, d.Drifted, d.RunID, changes, s.t(d.CheckedAt), s.t(d.ChangedAt))
		return wrapInternal(err, "record drift mark of stack %s", d.StackID)
	})
	return prev, err
}

func nonNilChanges(cs []stack.DriftChange) []stack.DriftChange {
	if cs == nil {
		return []stack.DriftChange{}
	}
	return cs
}

// CountDriftedStacks implements metrics.Store.
func (s *Store) CountDriftedStacks(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, s.r, `SELECT COUNT(*) FROM stack_drift WHERE drifted`).Scan(&n)
	return n, wrapInternal(err, "count drifted stacks")
}
