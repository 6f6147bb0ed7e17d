package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/webhook"
)

var _ webhook.Store = (*Store)(nil)

// WebhookSecretSealed implements webhook.Store.
func (s *Store) WebhookSecretSealed(ctx context.Context, integrationID string) ([]byte, error) {
	var sealed []byte
	err := s.hotQueryRow(ctx, "SELECT webhook_secret_sealed FROM integrations WHERE id = ? AND provider = 'gitlab'",
		integrationID).Scan(&sealed)
	if err != nil {
		return nil, wrapInternal(notFound(err, "integration %q not found", integrationID), "webhook secret of %s", integrationID)
	}
	return sealed, nil
}

// InsertDeliveries implements webhook.Store: one transaction for the
// batch (durable against power loss once Durable returns): a check that each
// integration still has the secret its requests were checked against,
// then one multi-row INSERT for the deliveries and one for their jobs, so
// a batch costs a handful of statements rather than two per delivery. The
// statements are prepared once per batch size, before the transaction pins
// SQLite's one write connection. PostgreSQL does the same in one statement
// (insertDeliveriesOneStatement).
func (s *Store) InsertDeliveries(ctx context.Context, ds []webhook.NewDelivery) ([]webhook.Inserted, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	if s.ambient(ctx) != nil {
		// Its prepared statements and its transaction take the writer
		// connection themselves: inside InTx, SQLite's would wait for itself.
		return nil, errors.New("insert deliveries: not allowed inside InTx")
	}
	if s.d.Name() == "postgres" {
		if out, ok, err := s.insertDeliveriesOneStatement(ctx, ds); ok || err != nil {
			return out, err
		}
	}
	secretCheck, err := s.hotStmt(ctx, s.w, "SELECT webhook_secret_sealed FROM integrations WHERE id = ? AND provider = 'gitlab'")
	if err != nil {
		return nil, err
	}
	insert, err := s.hotStmt(ctx, s.w, deliveryRowsQuery(len(ds)))
	if err != nil {
		return nil, err
	}
	jobInsert, err := s.hotStmt(ctx, s.w, jobRowsQuery(len(ds)))
	if err != nil {
		return nil, err
	}
	bodyInsert, err := s.hotStmt(ctx, s.w, bodyRowsQuery(len(ds)))
	if err != nil {
		return nil, err
	}
	var out []webhook.Inserted
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		out = make([]webhook.Inserted, len(ds))
		valid, err := s.checkSecrets(ctx, tx.StmtContext(ctx, secretCheck), ds, out)
		if err != nil || len(valid) == 0 {
			return err
		}
		if len(valid) != len(ds) {
			insert = nil // rare: a rotation raced the batch
		}
		inserted, err := s.insertDeliveryRows(ctx, tx, insert, valid)
		if err != nil {
			return err
		}
		var jobs []jobqueue.NewJob
		var stored []webhook.NewDelivery
		for i, d := range ds {
			switch {
			case out[i].SecretChanged:
			case !inserted[d.ID]:
				if out[i], err = s.duplicateDelivery(ctx, tx, d); err != nil {
					return err
				}
			default:
				out[i] = webhook.Inserted{ID: d.ID, Status: d.Status}
				stored = append(stored, d)
				if d.Job != nil {
					jobs = append(jobs, *d.Job)
				}
			}
		}
		if len(stored) != len(ds) {
			bodyInsert = nil
		}
		if err := s.insertBodyRows(ctx, tx, bodyInsert, stored); err != nil {
			return err
		}
		return s.insertJobRows(ctx, tx, jobInsert, len(ds), ds[0].ReceivedAt, jobs)
	})
	if err != nil {
		return nil, fmt.Errorf("store %d webhook deliveries: %w", len(ds), err)
	}
	return out, nil
}

// checkSecrets reads each integration's sealed secret once, marks the
// deliveries checked against another one (or whose integration is gone)
// in out, and returns the others.
func (s *Store) checkSecrets(ctx context.Context, check *sql.Stmt, ds []webhook.NewDelivery, out []webhook.Inserted) ([]webhook.NewDelivery, error) {
	current := map[string][]byte{}
	valid := make([]webhook.NewDelivery, 0, len(ds))
	for i, d := range ds {
		sealed, ok := current[d.IntegrationID]
		if !ok {
			err := check.QueryRowContext(ctx, d.IntegrationID).Scan(&sealed)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("check webhook secret of %s: %w", d.IntegrationID, err)
			}
			current[d.IntegrationID] = sealed // nil when the integration is gone
		}
		if sealed == nil || !bytes.Equal(sealed, d.CheckedSecret) {
			out[i] = webhook.Inserted{SecretChanged: true}
			continue
		}
		valid = append(valid, d)
	}
	return valid, nil
}

// deliveryRowsQuery is the multi-row INSERT of n deliveries; it skips
// duplicates (of stored deliveries or of earlier rows) and returns the ids
// it inserted.
func deliveryRowsQuery(n int) string {
	return `INSERT INTO webhook_deliveries
		(id, integration_id, dedupe_key, event, project, ref, headers, body, status, received_at, updated_at) VALUES ` +
		valueRows("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n) + " ON CONFLICT (integration_id, dedupe_key) DO NOTHING RETURNING id"
}

// insertDeliveryRows inserts ds with the prepared statement for their
// number (nil: build it) and returns the ids inserted.
func (s *Store) insertDeliveryRows(ctx context.Context, tx *sql.Tx, insert *sql.Stmt, ds []webhook.NewDelivery) (map[string]bool, error) {
	args := make([]any, 0, 11*len(ds))
	for _, d := range ds {
		headers, err := jsonArg(d.Headers)
		if err != nil {
			return nil, err
		}
		args = append(args, d.ID, d.IntegrationID, d.DedupeKey, d.Event, d.Project, d.Ref, headers, s.legacyBody(d.Body),
			string(d.Status), s.t(d.ReceivedAt), s.t(d.UpdatedAt))
	}
	var rows *sql.Rows
	var err error
	if insert != nil {
		rows, err = tx.StmtContext(ctx, insert).QueryContext(ctx, args...)
	} else {
		rows, err = s.query(ctx, tx, deliveryRowsQuery(len(ds)), args...)
	}
	if err != nil {
		return nil, s.deliveryInsertError(err, ds[0].IntegrationID)
	}
	defer rows.Close()
	inserted := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.deliveryInsertError(err, ds[0].IntegrationID)
	}
	return inserted, nil
}

// bodyRowsQuery is the multi-row INSERT of n deliveries' bodies.
func bodyRowsQuery(n int) string {
	return "INSERT INTO webhook_delivery_bodies (delivery_id, body) VALUES " + valueRows("(?, ?)", n)
}

// insertBodyRows stores the bodies of the deliveries ds, inserted in tx,
// with the prepared statement for their number (nil: build it). A body
// lives in a table of its own, written once: processing updates the
// delivery's row several times, and SQLite rewrites a whole row on update,
// a body's overflow pages with it (docs/design/transactions.md).
func (s *Store) insertBodyRows(ctx context.Context, tx *sql.Tx, insert *sql.Stmt, ds []webhook.NewDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(ds))
	for _, d := range ds {
		body := d.Body
		if body == nil {
			body = []byte{} // NOT NULL
		}
		args = append(args, d.ID, body)
	}
	var err error
	if insert != nil {
		_, err = tx.StmtContext(ctx, insert).ExecContext(ctx, args...)
	} else {
		_, err = s.exec(ctx, tx, bodyRowsQuery(len(ds)), args...)
	}
	if err != nil {
		return fmt.Errorf("store webhook delivery bodies: %w", err)
	}
	return nil
}

// legacyBody is what a new delivery's row keeps in its old body column:
// nothing on SQLite (one server, migrated at start); on PostgreSQL the
// body too, for replicas of the previous version, which read only that
// column, while a rolling upgrade runs. Reads take webhook_delivery_bodies
// first (deliveryBody).
func (s *Store) legacyBody(body []byte) []byte {
	if s.d.Name() == "postgres" && body != nil {
		return body
	}
	return []byte{}
}

// deliveryBody selects a delivery's body, from its own table or, for a
// delivery stored before it (a replica of the previous version during a
// rolling upgrade), from the delivery's row: use with deliveryFrom.
const (
	deliveryBody = "COALESCE(b.body, d.body)"
	deliveryFrom = " FROM webhook_deliveries d LEFT JOIN webhook_delivery_bodies b ON b.delivery_id = d.id"
)

// deliveryInsertError names a deleted integration (a foreign key
// violation) as NotFound.
func (s *Store) deliveryInsertError(err error, integrationID string) error {
	if s.d.IsForeignKeyViolation(err) {
		return apperr.Wrap(apperr.NotFound, err, "integration %q not found", integrationID)
	}
	return err
}

// duplicateDelivery answers for a delivery stored before under its key.
func (s *Store) duplicateDelivery(ctx context.Context, tx querier, d webhook.NewDelivery) (webhook.Inserted, error) {
	dup := webhook.Inserted{Duplicate: true}
	var status string
	err := s.queryRow(ctx, tx, "SELECT id, status FROM webhook_deliveries WHERE integration_id = ? AND dedupe_key = ?",
		d.IntegrationID, d.DedupeKey).Scan(&dup.ID, &status)
	dup.Status = webhook.Status(status)
	return dup, err
}

// jobRowsQuery is the multi-row INSERT of n jobs without dedupe keys.
func jobRowsQuery(n int) string {
	return "INSERT INTO jobs (kind, payload, run_at, created_at, give_up_at) VALUES " + valueRows("(?, ?, ?, ?, ?)", n)
}

// insertJobRows enqueues the intake's jobs: with full, the prepared
// statement for fullN jobs, when there are that many (no duplicates); jobs
// that need a dedupe key or a start time take the general path.
func (s *Store) insertJobRows(ctx context.Context, tx *sql.Tx, full *sql.Stmt, fullN int, now time.Time, jobs []jobqueue.NewJob) error {
	if len(jobs) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(jobs))
	for _, j := range jobs {
		if err := j.Check(); err != nil {
			return err
		}
		if j.DedupeKey != "" || !j.RunAt.IsZero() {
			return s.enqueueJobs(ctx, tx, now, jobs)
		}
		maxAge := j.MaxAge
		if maxAge == 0 {
			maxAge = jobqueue.DefaultMaxAge
		}
		args = append(args, j.Kind, string(j.Payload), s.t(now), s.t(now), s.t(now.Add(maxAge)))
	}
	var err error
	if len(jobs) == fullN {
		_, err = tx.StmtContext(ctx, full).ExecContext(ctx, args...)
	} else {
		_, err = s.exec(ctx, tx, jobRowsQuery(len(jobs)), args...)
	}
	return err
}

// deliveryColumnsD are a delivery's columns, of the table named d
// (deliveryFrom). Its outcome is the one its processing result_from
// keeps, or, for a delivery processed before result_from, its row's own.
const deliveryColumnsD = `d.id, d.integration_id, d.dedupe_key, d.event, d.project, d.ref, d.headers, d.status,
	COALESCE((SELECT p.result FROM webhook_delivery_processings p WHERE p.delivery_id = d.id AND p.number = d.result_from),
		d.result), d.error, d.attempts, d.received_at, d.updated_at`

// legacyResult is the outcome to copy into the delivery's own row: on
// PostgreSQL, for a replica of the previous version during a rolling
// upgrade, which reads it there; none on SQLite (one server), where the
// copy was a tenth of the bytes written per delivery.
func (s *Store) legacyResult(result string) string {
	if s.d.Name() == "postgres" {
		return result
	}
	return "{}"
}

func scanDelivery(row interface{ Scan(...any) error }, body *[]byte) (webhook.Delivery, error) {
	var d webhook.Delivery
	var status string
	var result webhook.Result
	dest := []any{&d.ID, &d.IntegrationID, &d.DedupeKey, &d.Event, &d.Project, &d.Ref, jsonScan{&d.Headers}, &status,
		jsonScan{&result}, &d.Error, &d.Attempts, timeScan{&d.ReceivedAt}, timeScan{&d.UpdatedAt}}
	if body != nil {
		dest = append(dest, body)
	}
	if err := row.Scan(dest...); err != nil {
		return webhook.Delivery{}, err
	}
	d.Status = webhook.Status(status)
	if result.Summary != "" || result.Stacks != nil {
		d.Result = &result
	}
	return d, nil
}

// GetDelivery implements webhook.Store.
func (s *Store) GetDelivery(ctx context.Context, id string) (webhook.Delivery, error) {
	var body []byte
	d, err := scanDelivery(s.queryRow(ctx, s.r, "SELECT "+deliveryColumnsD+", "+deliveryBody+deliveryFrom+" WHERE d.id = ?", id), &body)
	if err != nil {
		return webhook.Delivery{}, wrapInternal(notFound(err, "delivery %q not found", id), "get delivery %s", id)
	}
	d.Body = body
	passes, err := s.deliveryPasses(ctx, s.r, []string{id})
	if err != nil {
		return webhook.Delivery{}, err
	}
	d.Processings = passes[id]
	return d, nil
}

// DeliveryToProcess implements ingest.Store: what processing reads of a
// delivery (id, integration, event, project, ref, arrival and body), in
// one statement on the read pool; not its headers, outcome or passes,
// which every webhook would otherwise decode for nothing.
func (s *Store) DeliveryToProcess(ctx context.Context, id string) (webhook.Delivery, error) {
	d := webhook.Delivery{ID: id}
	err := s.queryRow(ctx, s.r, "SELECT d.integration_id, d.event, d.project, d.ref, d.received_at, "+deliveryBody+deliveryFrom+" WHERE d.id = ?", id).
		Scan(&d.IntegrationID, &d.Event, &d.Project, &d.Ref, timeScan{&d.ReceivedAt}, &d.Body)
	if err != nil {
		return webhook.Delivery{}, wrapInternal(notFound(err, "delivery %q not found", id), "get delivery %s", id)
	}
	return d, nil
}

// ListDeliveries implements webhook.Store: newest first (ids are ulids),
// with their processings.
func (s *Store) ListDeliveries(ctx context.Context, f webhook.Filter, cursor string, limit int) ([]webhook.Delivery, string, error) {
	limit = clampLimit(limit)
	var where []string
	var args []any
	if f.Integration != "" {
		where, args = append(where, "integration_id = ?"), append(args, f.Integration)
	}
	if !f.All {
		if len(f.Integrations) == 0 {
			return nil, "", nil
		}
		where = append(where, "integration_id IN ("+placeholders(len(f.Integrations))+")")
		for _, id := range f.Integrations {
			args = append(args, id)
		}
	}
	if cursor != "" {
		after, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "id < ?"), append(args, after)
	}
	q := "SELECT " + deliveryColumnsD + " FROM webhook_deliveries d"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, s.r, q+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows, nil)
		if err != nil {
			return nil, "", err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = idCursor(out[limit-1].ID)
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	passes, err := s.deliveryPasses(ctx, s.r, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].Processings = passes[out[i].ID]
	}
	return out, next, nil
}
