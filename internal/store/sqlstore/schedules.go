package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/schedule"
)

var _ schedule.Store = (*Store)(nil)

const scheduleCols = `id, stack_id, kind, cron, time_zone, command, reconcile, next_run_at, last_run_at, last_run_id,
	last_error, created_by, created_at, updated_at`

func scanSchedule(row rowScanner) (schedule.Schedule, error) {
	var sc schedule.Schedule
	var kind string
	err := row.Scan(&sc.ID, &sc.StackID, &kind, &sc.Cron, &sc.TimeZone, jsonScan{&sc.Command}, &sc.Reconcile,
		timeScan{&sc.NextRunAt}, nullTimeScan{&sc.LastRunAt}, &sc.LastRunID, &sc.LastError, &sc.CreatedBy,
		timeScan{&sc.CreatedAt}, timeScan{&sc.UpdatedAt})
	sc.Kind = schedule.Kind(kind)
	return sc, err
}

// CreateSchedule implements schedule.Store.
func (s *Store) CreateSchedule(ctx context.Context, sc schedule.Schedule, e audit.Entry) error {
	command, err := jsonArg(nonNil(sc.Command))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO stack_schedules (`+scheduleCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.StackID, string(sc.Kind), sc.Cron, sc.TimeZone, command, sc.Reconcile, s.t(sc.NextRunAt),
			s.nullTime(sc.LastRunAt), sc.LastRunID, sc.LastError, sc.CreatedBy, s.t(sc.CreatedAt), s.t(sc.UpdatedAt))
		if s.d.IsForeignKeyViolation(err) {
			return apperr.Errorf(apperr.NotFound, "stack %q not found", sc.StackID)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "create schedule %s", sc.ID)
}

// GetSchedule implements schedule.Store.
func (s *Store) GetSchedule(ctx context.Context, stackID, id string) (schedule.Schedule, error) {
	sc, err := scanSchedule(s.queryRow(ctx, s.r, `SELECT `+scheduleCols+` FROM stack_schedules WHERE stack_id = ? AND id = ?`,
		stackID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return schedule.Schedule{}, apperr.Errorf(apperr.NotFound, "schedule %q of stack %q not found", id, stackID)
	}
	return sc, wrapInternal(err, "load schedule %s", id)
}

// ListSchedules implements schedule.Store.
func (s *Store) ListSchedules(ctx context.Context, stackID string) ([]schedule.Schedule, error) {
	out, err := queryAll(ctx, s, s.r, scanSchedule, `SELECT `+scheduleCols+` FROM stack_schedules WHERE stack_id = ? ORDER BY id`, stackID)
	return out, wrapInternal(err, "list schedules of stack %s", stackID)
}

// UpdateSchedule implements schedule.Store.
func (s *Store) UpdateSchedule(ctx context.Context, sc schedule.Schedule, e audit.Entry) error {
	command, err := jsonArg(nonNil(sc.Command))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE stack_schedules SET cron = ?, time_zone = ?, command = ?, reconcile = ?,
			next_run_at = ?, updated_at = ? WHERE stack_id = ? AND id = ?`,
			sc.Cron, sc.TimeZone, command, sc.Reconcile, s.t(sc.NextRunAt), s.t(sc.UpdatedAt), sc.StackID, sc.ID)
		if err == nil {
			err = affected(res, "schedule %q of stack %q not found", sc.ID, sc.StackID)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "update schedule %s", sc.ID)
}

// DeleteSchedule implements schedule.Store.
func (s *Store) DeleteSchedule(ctx context.Context, stackID, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM stack_schedules WHERE stack_id = ? AND id = ?`, stackID, id)
		if err == nil {
			err = affected(res, "schedule %q of stack %q not found", id, stackID)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete schedule %s", id)
}

// DueSchedules implements schedule.Store.
func (s *Store) DueSchedules(ctx context.Context, at time.Time, limit int) ([]schedule.Schedule, error) {
	out, err := queryAll(ctx, s, s.r, scanSchedule, `SELECT `+scheduleCols+` FROM stack_schedules
		WHERE next_run_at <= ? ORDER BY next_run_at, id LIMIT ?`, s.t(at), clampLimit(limit))
	return out, wrapInternal(err, "list due schedules")
}

// ClaimFiring implements schedule.Store: one conditional UPDATE, so of
// several servers that read the same due firing only one moves it on.
func (s *Store) ClaimFiring(ctx context.Context, id string, due, next, at time.Time) (bool, error) {
	res, err := s.exec(ctx, s.w, `UPDATE stack_schedules SET next_run_at = ?, last_run_at = ?
		WHERE id = ? AND next_run_at = ?`, s.t(next), s.t(at), id, s.t(due))
	if err != nil {
		return false, wrapInternal(err, "claim firing of schedule %s", id)
	}
	n, err := res.RowsAffected()
	return n == 1, wrapInternal(err, "claim firing of schedule %s", id)
}

// RecordFiring implements schedule.Store.
func (s *Store) RecordFiring(ctx context.Context, id, runID, errMsg string) error {
	_, err := s.exec(ctx, s.w, `UPDATE stack_schedules SET last_run_id = ?, last_error = ? WHERE id = ?`, runID, errMsg, id)
	return wrapInternal(err, "record firing of schedule %s", id)
}
