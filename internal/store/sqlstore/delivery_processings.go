package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/webhook"
)

// A delivery's processings (issue 14) live in webhook_delivery_processings,
// one row per processing: number 0 when it arrived, 1, 2… per redelivery.
// The delivery's own status and error are the latest processing's, written
// in the same transaction, so listings need no join to show them; its
// outcome is read from that processing's row (result_from), not copied.

// RedeliverDelivery implements webhook.Store.
func (s *Store) RedeliverDelivery(ctx context.Context, id, by string, now time.Time, jobFunc func(processing int) jobqueue.NewJob) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := s.queryRow(ctx, tx, "SELECT status FROM webhook_deliveries WHERE id = ?", id).Scan(&status)
		if err != nil {
			return wrapInternal(notFound(err, "delivery %q not found", id), "redeliver %s", id)
		}
		if webhook.Status(status) == webhook.Received {
			return nil // a processing waits to start already; it reads the same body
		}
		var latest int
		if err := s.queryRow(ctx, tx, "SELECT COALESCE(MAX(number), 0) FROM webhook_delivery_processings WHERE delivery_id = ?",
			id).Scan(&latest); err != nil {
			return fmt.Errorf("redeliver %s: %w", id, err)
		}
		n := latest + 1
		if _, err := s.exec(ctx, tx, `INSERT INTO webhook_delivery_processings
			(delivery_id, number, kind, requested_by, requested_at, status) VALUES (?, ?, ?, ?, ?, ?)`,
			id, n, string(webhook.TriggerRedelivered), by, s.t(now), string(webhook.Received)); err != nil {
			return fmt.Errorf("redeliver %s: %w", id, err)
		}
		if _, err := s.exec(ctx, tx, "UPDATE webhook_deliveries SET status = ?, error = '', updated_at = ? WHERE id = ?",
			string(webhook.Received), s.t(now), id); err != nil {
			return fmt.Errorf("redeliver %s: %w", id, err)
		}
		return s.enqueueJobs(ctx, tx, now, []jobqueue.NewJob{jobFunc(n)})
	})
}

// ClaimDelivery marks processing number n of a delivery as running (one
// more attempt, of the processing and of the delivery) and returns the
// delivery with its body. The delivery's status follows only when n is its
// latest processing: an older one finishing late does not hide a newer
// redelivery.
func (s *Store) ClaimDelivery(ctx context.Context, id string, n int, now time.Time) (webhook.Delivery, error) {
	var d webhook.Delivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var body []byte
		var err error
		d, err = scanDelivery(s.queryRow(ctx, tx, "SELECT "+deliveryColumnsD+", "+deliveryBody+deliveryFrom+" WHERE d.id = ?", id), &body)
		if err != nil {
			return wrapInternal(notFound(err, "delivery %q not found", id), "claim delivery %s", id)
		}
		d.Body = body
		// Processing 0 gets its row here; a redelivery's was added when it
		// was asked for (the insert covers a job older than this table).
		kind, requested := webhook.TriggerReceived, d.ReceivedAt
		if n > 0 {
			kind, requested = webhook.TriggerRedelivered, now
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO webhook_delivery_processings
			(delivery_id, number, kind, requested_at, started_at, status, attempts) VALUES (?, ?, ?, ?, ?, ?, 1)
			ON CONFLICT (delivery_id, number) DO UPDATE SET status = excluded.status, finished_at = NULL,
				attempts = webhook_delivery_processings.attempts + 1,
				started_at = COALESCE(webhook_delivery_processings.started_at, excluded.started_at)`,
			id, n, string(kind), s.t(requested), s.t(now), string(webhook.Processing)); err != nil {
			return fmt.Errorf("claim delivery %s: %w", id, err)
		}
		latest, err := s.isLatestProcessing(ctx, tx, id, n)
		if err != nil {
			return err
		}
		q := "UPDATE webhook_deliveries SET attempts = attempts + 1, updated_at = ? WHERE id = ?"
		if latest {
			q = "UPDATE webhook_deliveries SET status = 'processing', attempts = attempts + 1, updated_at = ? WHERE id = ?"
			d.Status = webhook.Processing
		}
		if _, err := s.exec(ctx, tx, q, s.t(now), id); err != nil {
			return fmt.Errorf("claim delivery %s: %w", id, err)
		}
		d.Attempts++
		return nil
	})
	return d, err
}

// isLatestProcessing reports whether n is the delivery's newest processing.
func (s *Store) isLatestProcessing(ctx context.Context, q querier, id string, n int) (bool, error) {
	var latest int
	err := s.queryRow(ctx, q, "SELECT COALESCE(MAX(number), 0) FROM webhook_delivery_processings WHERE delivery_id = ?", id).Scan(&latest)
	if err != nil {
		return false, fmt.Errorf("latest processing of delivery %s: %w", id, err)
	}
	return n >= latest, nil
}

// FinishDelivery writes a processing's outcome and the run changes it
// implies in one transaction; the delivery shows it when it is the latest
// processing. A new run that duplicates one made concurrently is an
// apperr.Conflict and writes nothing: plan again.
func (s *Store) FinishDelivery(ctx context.Context, o webhook.Outcome, c run.Changes) (run.Applied, error) {
	var applied run.Applied
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if applied, err = s.applyRunChanges(ctx, tx, c); err != nil {
			return err
		}
		result := "{}"
		if o.Result != nil {
			r := *o.Result
			r.RunsCanceled = nonNil(applied.Canceled)
			if result, err = jsonArg(r); err != nil {
				return err
			}
		}
		// Project and ref are known once the body is parsed; an outcome
		// written without them (a job that gave up) keeps what is stored.
		// The delivery shows the outcome when this is its latest
		// processing (checked before this processing's row is written:
		// n >= the others' largest number either way). One statement:
		// every webhook comes here.
		claimed := 0
		if !o.Started.IsZero() {
			claimed = 1
		}
		res, err := s.exec(ctx, tx, `UPDATE webhook_deliveries SET attempts = attempts + ?,
			project = COALESCE(NULLIF(?, ''), project), ref = COALESCE(NULLIF(?, ''), ref),
			status = CASE WHEN l.latest THEN ? ELSE status END, result = CASE WHEN l.latest THEN ? ELSE result END,
			result_from = CASE WHEN l.latest THEN ? ELSE result_from END,
			error = CASE WHEN l.latest THEN ? ELSE error END, updated_at = CASE WHEN l.latest THEN ? ELSE updated_at END
			FROM (SELECT COALESCE(MAX(number), 0) <= ? AS latest FROM webhook_delivery_processings WHERE delivery_id = ?) AS l
			WHERE webhook_deliveries.id = ?`,
			claimed, o.Project, o.Ref, string(o.Status), s.legacyResult(result), o.Processing, o.Error, s.t(o.At), o.Processing, o.ID, o.ID)
		if err != nil {
			return fmt.Errorf("record outcome of delivery %s: %w", o.ID, err)
		}
		if err := affected(res, "delivery %q not found", o.ID); err != nil {
			return err
		}
		var finished any
		if o.Status != webhook.Processing { // Processing: a retry follows
			finished = s.t(o.At)
		}
		if claimed == 1 {
			err = s.claimedOutcome(ctx, tx, o, result, finished)
		} else {
			_, err = s.exec(ctx, tx, `UPDATE webhook_delivery_processings SET status = ?, result = ?, error = ?, finished_at = ?
				WHERE delivery_id = ? AND number = ?`, string(o.Status), result, o.Error, finished, o.ID, o.Processing)
		}
		if err != nil {
			return fmt.Errorf("record outcome of delivery %s: %w", o.ID, err)
		}
		return nil
	})
	return applied, err
}

// claimedOutcome writes the processing row of an outcome that also counts
// its attempt (Outcome.Started): what ClaimDelivery and the outcome write
// to it, in one statement. Processing 0 gets its row here, requested when
// the delivery arrived; a redelivery's exists since it was asked for.
func (s *Store) claimedOutcome(ctx context.Context, tx *sql.Tx, o webhook.Outcome, result string, finished any) error {
	kind := webhook.TriggerReceived
	if o.Processing > 0 {
		kind = webhook.TriggerRedelivered
	}
	_, err := s.exec(ctx, tx, `INSERT INTO webhook_delivery_processings
		(delivery_id, number, kind, requested_at, started_at, status, result, error, finished_at, attempts)
		VALUES (?, ?, ?, CASE WHEN ? = 0 THEN (SELECT received_at FROM webhook_deliveries WHERE id = ?) ELSE ? END,
			?, ?, ?, ?, ?, 1)
		ON CONFLICT (delivery_id, number) DO UPDATE SET status = excluded.status, result = excluded.result,
			error = excluded.error, finished_at = excluded.finished_at, attempts = webhook_delivery_processings.attempts + 1,
			started_at = COALESCE(webhook_delivery_processings.started_at, excluded.started_at)`,
		o.ID, o.Processing, string(kind), o.Processing, o.ID, s.t(o.Started), s.t(o.Started), string(o.Status), result, o.Error, finished)
	return err
}

// deliveryPasses loads the processings of the deliveries ids, oldest
// first, in one query.
func (s *Store) deliveryPasses(ctx context.Context, q querier, ids []string) (map[string][]webhook.Pass, error) {
	out := map[string][]webhook.Pass{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.query(ctx, q, `SELECT delivery_id, number, kind, requested_by, requested_at, started_at, finished_at,
		status, attempts, result, error FROM webhook_delivery_processings
		WHERE delivery_id IN (`+placeholders(len(ids))+`) ORDER BY delivery_id, number`, args...)
	if err != nil {
		return nil, fmt.Errorf("load delivery processings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind, status string
		var p webhook.Pass
		var result webhook.Result
		if err := rows.Scan(&id, &p.Number, &kind, &p.RequestedBy, timeScan{&p.RequestedAt}, nullTimeScan{&p.StartedAt},
			nullTimeScan{&p.FinishedAt}, &status, &p.Attempts, jsonScan{&result}, &p.Error); err != nil {
			return nil, fmt.Errorf("load delivery processings: %w", err)
		}
		p.Trigger, p.Status = webhook.Trigger(kind), webhook.Status(status)
		if result.Summary != "" || result.Stacks != nil {
			p.Result = &result
		}
		out[id] = append(out[id], p)
	}
	return out, rows.Err()
}
