package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/webhook"
)

// insertDeliveriesOneStatement is InsertDeliveries on PostgreSQL: the
// secret check, the deliveries and their jobs in one statement (data-
// modifying CTEs), committed on its own. One round trip per batch instead
// of five (BEGIN, check, two INSERTs, COMMIT): on a loaded 2-core machine
// each round trip waits for the server process to be scheduled, and those
// waits, not CPU, limited the intake (docs/benchmarks.md). The commit is
// as durable as any (synchronous_commit is on), and one statement is one
// snapshot, so the check is as strong as the transaction's was under READ
// COMMITTED. ok is false when the batch needs the general path (a job with
// a dedupe key or start time, which the intake does not make).
func (s *Store) insertDeliveriesOneStatement(ctx context.Context, ds []webhook.NewDelivery) (out []webhook.Inserted, ok bool, err error) {
	now := ds[0].ReceivedAt
	args := make([]any, 0, pgIntakeColumns*len(ds))
	for i, d := range ds {
		headers, err := jsonArg(d.Headers)
		if err != nil {
			return nil, false, err
		}
		var kind, payload, giveUp any
		if j := d.Job; j != nil {
			if err := j.Check(); err != nil {
				return nil, false, err
			}
			if j.DedupeKey != "" || !j.RunAt.IsZero() {
				return nil, false, nil
			}
			maxAge := j.MaxAge
			if maxAge == 0 {
				maxAge = jobqueue.DefaultMaxAge
			}
			kind, payload, giveUp = j.Kind, string(j.Payload), s.t(now.Add(maxAge))
		}
		args = append(args, i, d.ID, d.IntegrationID, d.DedupeKey, d.Event, d.Project, d.Ref, headers, d.Body,
			string(d.Status), s.t(d.ReceivedAt), s.t(d.UpdatedAt), d.CheckedSecret, kind, payload, giveUp)
	}
	args = append(args, s.t(now), s.t(now)) // the jobs' run_at and created_at
	st, err := s.hotStmt(ctx, s.w, pgIntakeQuery(len(ds)))
	if err != nil {
		return nil, false, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, false, fmt.Errorf("store %d webhook deliveries: %w", len(ds), s.deliveryInsertError(err, ds[0].IntegrationID))
	}
	defer rows.Close()
	checked := make([]bool, len(ds))
	inserted := make([]bool, len(ds))
	for rows.Next() {
		var ord int
		var what string
		if err := rows.Scan(&ord, &what); err != nil {
			return nil, false, err
		}
		if ord < 0 || ord >= len(ds) {
			return nil, false, fmt.Errorf("store webhook deliveries: row %d of %d", ord, len(ds))
		}
		checked[ord] = true
		inserted[ord] = inserted[ord] || what == "inserted"
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store %d webhook deliveries: %w", len(ds), s.deliveryInsertError(err, ds[0].IntegrationID))
	}
	out = make([]webhook.Inserted, len(ds))
	for i, d := range ds {
		switch {
		case !checked[i]:
			out[i] = webhook.Inserted{SecretChanged: true}
		case inserted[i]:
			out[i] = webhook.Inserted{ID: d.ID, Status: d.Status}
		default: // a duplicate: the original is committed, read it
			if out[i], err = s.duplicateDelivery(ctx, s.w, d); err != nil {
				return nil, false, fmt.Errorf("read the original of delivery %s: %w", d.ID, err)
			}
		}
	}
	return out, true, nil
}

// pgIntakeColumns is the number of parameters per delivery in pgIntakeQuery.
const pgIntakeColumns = 16

// pgIntakeQuery is the one statement storing n deliveries: v holds the
// requests, ok those whose integration still has the secret they were
// checked against, ins the deliveries inserted (duplicates skipped), and
// their jobs are inserted in arrival order, their bodies also into
// webhook_delivery_bodies (legacyBody). It returns the position of
// every checked delivery once, and once more if it was inserted. The last
// parameter is the batch's time (the jobs' run_at and created_at).
func pgIntakeQuery(n int) string {
	var q strings.Builder
	q.WriteString(`WITH v (ord, id, integration_id, dedupe_key, event, project, ref, headers, body, status, received_at, updated_at,
		checked, job_kind, job_payload, job_give_up_at) AS (VALUES `)
	q.WriteString(valueRows("(?::int, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::jsonb, ?::bytea, ?::text, "+
		"?::timestamptz, ?::timestamptz, ?::bytea, ?::text, ?::text, ?::timestamptz)", n))
	q.WriteString(`),
	ok AS (SELECT v.* FROM v JOIN integrations i
		ON i.id = v.integration_id AND i.provider = 'gitlab' AND i.webhook_secret_sealed = v.checked),
	ins AS (INSERT INTO webhook_deliveries
		(id, integration_id, dedupe_key, event, project, ref, headers, body, status, received_at, updated_at)
		SELECT id, integration_id, dedupe_key, event, project, ref, headers, body, status, received_at, updated_at
		FROM ok ORDER BY ord
		ON CONFLICT (integration_id, dedupe_key) DO NOTHING RETURNING id),
	jb AS (INSERT INTO jobs (kind, payload, run_at, created_at, give_up_at)
		SELECT ok.job_kind, ok.job_payload, ?::timestamptz, ?::timestamptz, ok.job_give_up_at
		FROM ok JOIN ins ON ins.id = ok.id WHERE ok.job_kind IS NOT NULL ORDER BY ok.ord),
	bd AS (INSERT INTO webhook_delivery_bodies (delivery_id, body)
		SELECT ok.id, ok.body FROM ok JOIN ins ON ins.id = ok.id)
	SELECT ord, 'checked' FROM ok
	UNION ALL SELECT ok.ord, 'inserted' FROM ok JOIN ins ON ins.id = ok.id`)
	return q.String()
}
