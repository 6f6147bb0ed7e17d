package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/notify"
)

// Notification targets, their delivery outbox and token expiry notices
// (notify.Store; migration 0028).

var _ notify.Store = (*Store)(nil)

const targetCols = "id, name, space_id, kind, events, url_sealed, url_host, secret_sealed, created_at, updated_at, created_by"

func scanTarget(row rowScanner) (notify.Target, error) {
	var t notify.Target
	var kind string
	err := row.Scan(&t.ID, &t.Name, &t.SpaceID, &kind, jsonScan{&t.Events}, &t.URLSealed, &t.URLHost, &t.SecretSealed,
		timeScan{&t.CreatedAt}, timeScan{&t.UpdatedAt}, &t.CreatedBy)
	t.Kind = notify.Kind(kind)
	if t.Events == nil {
		t.Events = []notify.Event{}
	}
	return t, err
}

// CreateNotificationTarget implements notify.Store.
func (s *Store) CreateNotificationTarget(ctx context.Context, t notify.Target, e audit.Entry) error {
	events, err := jsonArg(t.Events)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, t.SpaceID, "space"); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO notification_targets ("+targetCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, t.SpaceID, string(t.Kind), events, t.URLSealed, t.URLHost, t.SecretSealed,
			s.t(t.CreatedAt), s.t(t.UpdatedAt), t.CreatedBy); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a notification target with the id or name %q already exists (ids are slugs of names)", t.ID)
	}
	return wrapInternal(err, "create notification target %s", t.ID)
}

// GetNotificationTarget implements notify.Store.
func (s *Store) GetNotificationTarget(ctx context.Context, id string) (notify.Target, error) {
	t, err := scanTarget(s.queryRow(ctx, s.r, "SELECT "+targetCols+" FROM notification_targets WHERE id = ?", id))
	if err != nil {
		return notify.Target{}, wrapInternal(notFound(err, "notification target %q not found", id), "get notification target %s", id)
	}
	return t, nil
}

// ListNotificationTargets implements notify.Store.
func (s *Store) ListNotificationTargets(ctx context.Context, f notify.Filter, cursor string, limit int) ([]notify.Target, string, error) {
	limit = clampLimit(limit)
	where, args, none, err := inSpaces(cursor, f.All, f.Spaces)
	if err != nil || none {
		return []notify.Target{}, "", err
	}
	out, err := queryAll(ctx, s, s.r, scanTarget, "SELECT "+targetCols+" FROM notification_targets WHERE "+where+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", wrapInternal(err, "list notification targets")
	}
	out, next := page(out, limit, func(t notify.Target) string { return idCursor(t.ID) })
	return out, next, nil
}

// TargetsForEvent implements notify.Store. Targets are few (a handful per
// space): their event lists are matched here rather than in two SQL
// dialects of JSON.
func (s *Store) TargetsForEvent(ctx context.Context, e notify.Event) ([]notify.Target, error) {
	all, err := queryAll(ctx, s, s.r, scanTarget, "SELECT "+targetCols+" FROM notification_targets ORDER BY id")
	if err != nil {
		return nil, wrapInternal(err, "list notification targets of %s", e)
	}
	out := all[:0]
	for _, t := range all {
		if t.Wants(e) {
			out = append(out, t)
		}
	}
	return out, nil
}

// UpdateNotificationTarget implements notify.Store.
func (s *Store) UpdateNotificationTarget(ctx context.Context, t notify.Target, e audit.Entry) error {
	events, err := jsonArg(t.Events)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE notification_targets SET name = ?, events = ?, url_sealed = ?, url_host = ?,
			secret_sealed = ?, updated_at = ? WHERE id = ?`,
			t.Name, events, t.URLSealed, t.URLHost, t.SecretSealed, s.t(t.UpdatedAt), t.ID)
		if err != nil {
			return err
		}
		if err := affected(res, "notification target %q not found", t.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a notification target named %q already exists", t.Name)
	}
	return wrapInternal(err, "update notification target %s", t.ID)
}

// DeleteNotificationTarget implements notify.Store; its deliveries go
// with it.
func (s *Store) DeleteNotificationTarget(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM notification_targets WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "notification target %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete notification target %s", id)
}

// EnqueueNotifications implements notify.Store.
func (s *Store) EnqueueNotifications(ctx context.Context, ds []notify.Delivery) ([]int64, error) {
	ids := make([]int64, 0, len(ds))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range ds {
			var redelivery any
			if d.RedeliveryOf != 0 {
				redelivery = d.RedeliveryOf
			}
			var id int64
			if err := s.queryRow(ctx, tx, `INSERT INTO notification_deliveries (target_id, event, notification_id, payload,
				state, attempts, next_attempt_at, redelivery_of, created_at, updated_at)
				VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) RETURNING id`,
				d.TargetID, string(d.Event), d.NotificationID, string(d.Payload), s.t(d.NextAttemptAt), redelivery,
				s.t(d.CreatedAt), s.t(d.CreatedAt)).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			// Due no later than this delivery; the dispatcher finds the
			// target's oldest one.
			if _, err := s.exec(ctx, tx, `UPDATE notification_targets SET due_at = ? WHERE id = ? AND (due_at IS NULL OR due_at > ?)`,
				s.t(d.NextAttemptAt), d.TargetID, s.t(d.NextAttemptAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if s.d.IsForeignKeyViolation(err) {
		return nil, apperr.Wrap(apperr.NotFound, err, "notification target not found")
	}
	return ids, wrapInternal(err, "enqueue notifications")
}

// ClaimNotificationTargets implements notify.Store: a compare-and-set on
// each target's lease, so one process sends a target's deliveries.
func (s *Store) ClaimNotificationTargets(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	// Looked up on the read pool first, so that a poll finding nothing
	// never takes SQLite's one write connection.
	candidates, err := queryAll(ctx, s, s.r, scanString, `SELECT id FROM notification_targets
		WHERE due_at IS NOT NULL AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at LIMIT ?`,
		s.t(now), s.t(now), limit)
	if err != nil || len(candidates) == 0 {
		return nil, wrapInternal(err, "find due notifications")
	}
	args := []any{owner, s.t(now.Add(lease))}
	for _, id := range candidates {
		args = append(args, id)
	}
	args = append(args, s.t(now), s.t(now))
	claimed, err := queryAll(ctx, s, s.w, scanString, `UPDATE notification_targets SET lease_owner = ?, lease_until = ?
		WHERE id IN (`+placeholders(len(candidates))+`) AND due_at IS NOT NULL AND due_at <= ?
		AND (lease_until IS NULL OR lease_until < ?) RETURNING id`, args...)
	return claimed, wrapInternal(err, "claim notification targets")
}

const notificationCols = `id, target_id, event, notification_id, payload, state, attempts, next_attempt_at, last_status,
	last_error, redelivery_of, created_at, updated_at`

func scanNotification(row rowScanner) (notify.Delivery, error) {
	var d notify.Delivery
	var event, state, payload string
	var redelivery sql.NullInt64
	err := row.Scan(&d.ID, &d.TargetID, &event, &d.NotificationID, &payload, &state, &d.Attempts, timeScan{&d.NextAttemptAt},
		&d.LastStatus, &d.LastError, &redelivery, timeScan{&d.CreatedAt}, timeScan{&d.UpdatedAt})
	d.Event, d.State, d.Payload, d.RedeliveryOf = notify.Event(event), notify.DeliveryState(state), []byte(payload), redelivery.Int64
	return d, err
}

// NextNotification implements notify.Store.
func (s *Store) NextNotification(ctx context.Context, targetID string) (notify.Delivery, bool, error) {
	d, err := scanNotification(s.queryRow(ctx, s.r, "SELECT "+notificationCols+` FROM notification_deliveries
		WHERE target_id = ? AND state IN ('pending', 'retrying') ORDER BY id LIMIT 1`, targetID))
	if errors.Is(err, sql.ErrNoRows) {
		return notify.Delivery{}, false, nil
	}
	if err != nil {
		return notify.Delivery{}, false, wrapInternal(err, "next notification of %s", targetID)
	}
	return d, true, nil
}

// ResolveNotification implements notify.Store.
func (s *Store) ResolveNotification(ctx context.Context, targetID, owner string, d *notify.Delivery, a *notify.Attempt, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the target's row first: a delivery enqueued concurrently
		// either committed before (and is seen below) or marks the target
		// due after this transaction.
		res, err := s.exec(ctx, tx, "UPDATE notification_targets SET lease_owner = lease_owner WHERE id = ?", targetID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // deleted while its delivery was sent: its log went with it
		}
		if a != nil {
			if _, err := s.exec(ctx, tx, `INSERT INTO notification_attempts (delivery_id, number, at, status_code, error, duration_ms)
				VALUES (?, ?, ?, ?, ?, ?)`, a.DeliveryID, a.Number, s.t(a.At), a.StatusCode, a.Error, a.Duration.Milliseconds()); err != nil {
				return err
			}
		}
		if d != nil {
			if _, err := s.exec(ctx, tx, `UPDATE notification_deliveries SET state = ?, attempts = ?, next_attempt_at = ?,
				last_status = ?, last_error = ?, updated_at = ? WHERE id = ?`,
				string(d.State), d.Attempts, s.t(d.NextAttemptAt), d.LastStatus, d.LastError, s.t(now), d.ID); err != nil {
				return err
			}
		}
		// Due when the oldest open delivery is: the later ones wait for it.
		var due *time.Time
		err = s.queryRow(ctx, tx, `SELECT next_attempt_at FROM notification_deliveries
			WHERE target_id = ? AND state IN ('pending', 'retrying') ORDER BY id LIMIT 1`, targetID).Scan(nullTimeScan{&due})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE notification_targets SET due_at = ?,
			lease_until = CASE WHEN lease_owner = ? THEN NULL ELSE lease_until END,
			lease_owner = CASE WHEN lease_owner = ? THEN '' ELSE lease_owner END WHERE id = ?`,
			s.nullTime(due), owner, owner, targetID)
		return err
	})
	return wrapInternal(err, "record notification of %s", targetID)
}

// GetNotification implements notify.Store.
func (s *Store) GetNotification(ctx context.Context, id int64) (notify.Delivery, error) {
	d, err := scanNotification(s.queryRow(ctx, s.r, "SELECT "+notificationCols+" FROM notification_deliveries WHERE id = ?", id))
	if err != nil {
		return notify.Delivery{}, wrapInternal(notFound(err, "notification delivery %d not found", id), "get notification %d", id)
	}
	return d, nil
}

// ListNotifications implements notify.Store.
func (s *Store) ListNotifications(ctx context.Context, targetID, cursor string, limit int) ([]notify.Delivery, string, error) {
	limit = clampLimit(limit)
	where, args := "target_id = ?", []any{targetID}
	if cursor != "" {
		c, err := parseIDCursor(cursor)
		n, perr := strconv.ParseInt(c, 10, 64)
		if err != nil || perr != nil {
			return nil, "", apperr.InvalidField("cursor", "is not a cursor returned by this list")
		}
		where, args = where+" AND id < ?", append(args, n)
	}
	out, err := queryAll(ctx, s, s.r, scanNotification, "SELECT "+notificationCols+" FROM notification_deliveries WHERE "+where+
		" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", wrapInternal(err, "list notifications of %s", targetID)
	}
	out, next := page(out, limit, func(d notify.Delivery) string { return idCursor(strconv.FormatInt(d.ID, 10)) })
	return out, next, nil
}

// NotificationAttempts implements notify.Store.
func (s *Store) NotificationAttempts(ctx context.Context, deliveryID int64) ([]notify.Attempt, error) {
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (notify.Attempt, error) {
		var a notify.Attempt
		var ms int64
		err := row.Scan(&a.DeliveryID, &a.Number, timeScan{&a.At}, &a.StatusCode, &a.Error, &ms)
		a.Duration = time.Duration(ms) * time.Millisecond
		return a, err
	}, `SELECT delivery_id, number, at, status_code, error, duration_ms FROM notification_attempts
		WHERE delivery_id = ? ORDER BY number`, deliveryID)
	return out, wrapInternal(err, "list attempts of notification %d", deliveryID)
}

// RecordTokenNotice implements notify.Store: the primary key makes the
// first recorder, on any server, the only one.
func (s *Store) RecordTokenNotice(ctx context.Context, integrationID string, expiresAt time.Time, days int, now time.Time) (bool, error) {
	var fresh bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `INSERT INTO token_expiry_notices (integration_id, expires_at, days, sent_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (integration_id, expires_at, days) DO NOTHING`,
			integrationID, s.t(expiresAt), days, s.t(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, wrapInternal(err, "record token notice of %s", integrationID)
}
