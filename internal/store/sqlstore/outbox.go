package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
)

// The outbox of GitLab writes (feedback.Store; migration 0008).

var _ feedback.Store = (*Store)(nil)

// EnqueueWrites implements feedback.Store.
func (s *Store) EnqueueWrites(ctx context.Context, ws []feedback.Write) error {
	if len(ws) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(ws, batchRows) {
			if err := s.enqueueWrites(ctx, tx, chunk); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapInternal(err, "enqueue gitlab writes")
}

// enqueueWrites inserts ws in one statement, in order (their ids follow
// it: writes of one key with the same position are sent in id order), and
// makes their keys due in another.
func (s *Store) enqueueWrites(ctx context.Context, tx *sql.Tx, ws []feedback.Write) error {
	args := make([]any, 0, 10*len(ws))
	// A key once, due when its last write is (PostgreSQL refuses to
	// update one row twice in a statement).
	due := make(map[string]any, len(ws))
	var keys []string
	for _, w := range ws {
		payload, err := json.Marshal(w.Payload)
		if err != nil {
			return fmt.Errorf("encode payload: %w", err)
		}
		at := s.t(w.NextAttemptAt)
		args = append(args, w.IntegrationID, w.RunID, string(w.Kind), w.Key, w.Ord, w.Rank, string(payload), at,
			s.t(w.CreatedAt), s.t(w.CreatedAt))
		if _, ok := due[w.Key]; !ok {
			keys = append(keys, w.Key, w.IntegrationID)
		}
		due[w.Key] = at
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO gitlab_writes (integration_id, run_id, kind, key, ord, rank, payload,
		state, attempts, next_attempt_at, created_at, updated_at) VALUES `+
		valueRows("(?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)", len(ws)), args...); err != nil {
		return err
	}
	args = args[:0]
	for i := 0; i < len(keys); i += 2 {
		args = append(args, keys[i], keys[i+1], due[keys[i]])
	}
	_, err := s.exec(ctx, tx, "INSERT INTO gitlab_write_keys (key, integration_id, due_at) VALUES "+
		valueRows("(?, ?, ?)", len(keys)/2)+" ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at", args...)
	return err
}

// ClaimWriteKeys implements feedback.Store. Each key is claimed with a
// compare-and-set on its lease, so two processes never hold one key. A
// resolved key's lease is cleared (NULL); one that is set but past is a
// lease that ended unresolved: the claim is TakenOver.
func (s *Store) ClaimWriteKeys(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, skip []string) ([]feedback.ClaimedKey, error) {
	q := `SELECT key, lease_until IS NOT NULL FROM gitlab_write_keys WHERE due_at IS NOT NULL AND due_at <= ?
		AND (lease_until IS NULL OR lease_until < ?)`
	args := []any{s.t(now), s.t(now)}
	if len(skip) > 0 {
		q += " AND integration_id NOT IN (" + placeholders(len(skip)) + ")"
		for _, id := range skip {
			args = append(args, id)
		}
	}
	// The due keys are looked up on the read pool, so a poll that finds
	// nothing due never takes SQLite's one write connection, and those found
	// are claimed in one statement: the UPDATE checks again that each is due
	// and free.
	candidates, err := queryAll(ctx, s, s.r, func(row rowScanner) (feedback.ClaimedKey, error) {
		var k feedback.ClaimedKey
		return k, row.Scan(&k.Key, &k.TakenOver)
	}, q+" ORDER BY due_at LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, wrapInternal(err, "find due gitlab writes")
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	// A key read as resolved is claimed only if it still is: had another
	// process claimed it meanwhile and its lease run out, this claim would
	// take it over unawares. A key read as taken over stays so even if it
	// was resolved meanwhile (one look too many at GitLab, no harm).
	var keys, takenOver []any
	over := map[string]bool{}
	for _, k := range candidates {
		keys = append(keys, k.Key)
		if k.TakenOver {
			takenOver = append(takenOver, k.Key)
			over[k.Key] = true
		}
	}
	cond := "lease_until IS NULL"
	claimArgs := append([]any{owner, s.t(now.Add(lease))}, keys...)
	if len(takenOver) > 0 {
		cond += " OR lease_until < ? AND key IN (" + placeholders(len(takenOver)) + ")"
		claimArgs = append(append(claimArgs, s.t(now)), takenOver...)
	}
	// On PostgreSQL a key whose row another transaction holds (a write
	// being enqueued for it, another server's claim) is skipped, not
	// waited for: it is claimed at a later round. SQLite has one writer.
	lock := ""
	if s.d.Name() == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// Group-committed (group.go) with processing and results; the open
	// writes are read in the same transaction (on SQLite the write
	// connection's pages are fresh, a reader's are re-read after every
	// commit).
	var out []feedback.ClaimedKey
	err = s.InGroupTx(ctx, func(ctx context.Context) error {
		claimed, err := queryAll(ctx, s, s.w, scanString, `UPDATE gitlab_write_keys SET lease_owner = ?, lease_until = ?
			WHERE key IN (SELECT key FROM gitlab_write_keys WHERE key IN (`+placeholders(len(keys))+`)
				AND due_at IS NOT NULL AND (`+cond+`)`+lock+`)
			RETURNING key`, claimArgs...)
		if err != nil || len(claimed) == 0 {
			out = nil
			return err
		}
		open, err := s.openWrites(ctx, s.w, claimed)
		out = make([]feedback.ClaimedKey, len(claimed))
		for i, k := range claimed {
			out[i] = feedback.ClaimedKey{Key: k, TakenOver: over[k], Writes: open[k].writes, Mark: open[k].mark, Ref: open[k].ref}
		}
		return err
	})
	if err != nil {
		return nil, wrapInternal(err, "claim gitlab write keys")
	}
	return out, nil
}

// keyWrites are a key's open writes, its mark and its kept GitLab id.
type keyWrites struct {
	writes []feedback.Write
	mark   feedback.Mark
	ref    feedback.Ref
}

// openWrites reads the pending and retrying writes of keys, oldest first,
// in one statement. The mark and the kept GitLab id ride on each write's
// row: with no open write they are zero, and nothing is sent.
func (s *Store) openWrites(ctx context.Context, q querier, keys []string) (map[string]keyWrites, error) {
	out := make(map[string]keyWrites, len(keys))
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	_, err := queryAll(ctx, s, q, func(row rowScanner) (struct{}, error) {
		var ord sql.NullString
		var rank, id, ref sql.NullInt64
		w, err := scanWriteWith(row, &ord, &rank, &id, &ref)
		if err == nil {
			kw := out[w.Key]
			kw.writes = append(kw.writes, w)
			kw.mark = feedback.Mark{Ord: ord.String, Rank: int(rank.Int64), ID: id.Int64}
			kw.ref = feedback.Ref{ID: ref.Int64, Known: ref.Valid}
			out[w.Key] = kw
		}
		return struct{}{}, err
	}, `SELECT `+writeColsW+`, k.mark_ord, k.mark_rank, k.mark_id, r.gitlab_id
		FROM gitlab_writes w LEFT JOIN gitlab_write_keys k ON k.key = w.key LEFT JOIN gitlab_refs r ON r.key = w.key
		WHERE w.key IN (`+placeholders(len(keys))+`) AND w.state IN ('pending', 'retrying') ORDER BY w.id`, args...)
	if err != nil {
		return nil, wrapInternal(err, "load gitlab writes")
	}
	return out, nil
}

// longPast is the lease end GiveBackWriteKey sets: past for any clock.
var longPast = time.Unix(0, 0).UTC()

// GiveBackWriteKey implements feedback.Store.
func (s *Store) GiveBackWriteKey(ctx context.Context, key, owner string) error {
	err := s.inGroupTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "UPDATE gitlab_write_keys SET lease_until = ? WHERE key = ? AND lease_owner = ? AND lease_until IS NOT NULL",
			s.t(longPast), key, owner)
		return err
	})
	return wrapInternal(err, "give back gitlab write key %s", key)
}

const writeCols = `id, integration_id, run_id, kind, key, ord, rank, payload, state, attempts, next_attempt_at,
	last_error, result, created_at, updated_at`

// writeColsW is writeCols of the table named w.
const writeColsW = `w.id, w.integration_id, w.run_id, w.kind, w.key, w.ord, w.rank, w.payload, w.state, w.attempts,
	w.next_attempt_at, w.last_error, w.result, w.created_at, w.updated_at`

func scanWrite(row rowScanner) (feedback.Write, error) { return scanWriteWith(row) }

// scanWriteWith scans writeCols, then the columns after them into extra.
func scanWriteWith(row rowScanner, extra ...any) (feedback.Write, error) {
	var w feedback.Write
	var kind, state string
	dest := append([]any{&w.ID, &w.IntegrationID, &w.RunID, &kind, &w.Key, &w.Ord, &w.Rank, jsonScan{&w.Payload}, &state,
		&w.Attempts, timeScan{&w.NextAttemptAt}, &w.LastError, &w.Result, timeScan{&w.CreatedAt}, timeScan{&w.UpdatedAt}}, extra...)
	err := row.Scan(dest...)
	w.Kind, w.State = feedback.Kind(kind), feedback.WriteState(state)
	return w, err
}

func (s *Store) listWrites(ctx context.Context, q querier, where string, args ...any) ([]feedback.Write, error) {
	return queryAll(ctx, s, q, scanWrite, "SELECT "+writeCols+" FROM gitlab_writes WHERE "+where+" ORDER BY id", args...)
}

// PendingWrites returns a key's open writes, oldest first, and its mark,
// as ClaimWriteKeys returns them with the key; the conformance suite looks
// at keys through it.
func (s *Store) PendingWrites(ctx context.Context, key string) ([]feedback.Write, feedback.Mark, error) {
	open, err := s.openWrites(ctx, s.r, []string{key})
	if err != nil {
		return nil, feedback.Mark{}, err
	}
	return open[key].writes, open[key].mark, nil
}

// ResolveWrites implements feedback.Store.
func (s *Store) ResolveWrites(ctx context.Context, key, owner string, rs []feedback.Resolution, mark *feedback.Mark, now time.Time) error {
	// Group-committed: the dispatcher resolves keys from several slots at
	// once, and each result is a few small updates. The mark moves with
	// the key's last update.
	setMark, markArgs := "", []any(nil)
	if mark != nil {
		setMark, markArgs = "mark_ord = ?, mark_rank = ?, mark_id = ?, ", []any{mark.Ord, mark.Rank, mark.ID}
	}
	err := s.inGroupTx(ctx, func(tx *sql.Tx) error {
		if s.d.Name() != "sqlite" {
			// Lock the key's row first: a write enqueued concurrently
			// either committed before (and is seen by the MIN below) or
			// waits and marks the key due after this transaction. A lock,
			// not an update: no row version of its own. (SQLite has one
			// writer: nothing runs concurrently.)
			var locked string
			if err := s.queryRow(ctx, tx, "SELECT key FROM gitlab_write_keys WHERE key = ? FOR UPDATE", key).Scan(&locked); err != nil &&
				!errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		for _, r := range rs {
			if _, err := s.exec(ctx, tx, `UPDATE gitlab_writes SET state = ?, attempts = ?, next_attempt_at = ?,
				last_error = ?, result = ?, updated_at = ? WHERE id = ?`,
				string(r.State), r.Attempts, s.t(r.NextAttemptAt), r.LastError, r.Result, s.t(now), r.ID); err != nil {
				return err
			}
		}
		// Due again when its earliest open write is; the lease ends.
		_, err := s.exec(ctx, tx, `UPDATE gitlab_write_keys SET `+setMark+`
			due_at = (SELECT MIN(next_attempt_at) FROM gitlab_writes WHERE key = ? AND state IN ('pending', 'retrying')),
			lease_until = CASE WHEN lease_owner = ? THEN NULL ELSE lease_until END,
			lease_owner = CASE WHEN lease_owner = ? THEN '' ELSE lease_owner END WHERE key = ?`,
			append(markArgs, key, owner, owner, key)...)
		return err
	})
	return wrapInternal(err, "record gitlab writes of %s", key)
}

// ListWrites implements feedback.Store.
func (s *Store) ListWrites(ctx context.Context, runID string) ([]feedback.Write, error) {
	ws, err := s.listWrites(ctx, s.r, "run_id = ?", runID)
	return ws, wrapInternal(err, "list gitlab writes of run %s", runID)
}

// GitLabRef implements feedback.Refs.
func (s *Store) GitLabRef(ctx context.Context, key string) (int64, bool, error) {
	var id int64
	// On the read pool: SetGitLabRef's commit is seen by every read that
	// starts after it, and on SQLite the write connection is the group
	// commit's.
	err := s.queryRow(ctx, s.r, "SELECT gitlab_id FROM gitlab_refs WHERE key = ?", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrapInternal(err, "load gitlab id")
	}
	return id, true, nil
}

// SetGitLabRef implements feedback.Refs.
func (s *Store) SetGitLabRef(ctx context.Context, key string, id int64, at time.Time) error {
	// Group-committed (group.go): one follows most note and deployment
	// writes, and would otherwise be a commit of its own.
	err := s.inGroupTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO gitlab_refs (key, gitlab_id, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET gitlab_id = excluded.gitlab_id, updated_at = excluded.updated_at`, key, id, s.t(at))
		return err
	})
	return wrapInternal(err, "store gitlab id")
}

// RecordCommitRun implements feedback.Store. A member's state is only
// replaced by a run at least as new as the one that set it.
func (s *Store) RecordCommitRun(ctx context.Context, c feedback.CommitRun) ([]feedback.CommitRun, error) {
	var out []feedback.CommitRun
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO gitlab_commit_runs (integration_id, project, sha, name, member, ord, state)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id, project, sha, name, member)
			DO UPDATE SET ord = excluded.ord, state = excluded.state WHERE excluded.ord >= gitlab_commit_runs.ord`,
			c.IntegrationID, c.Project, c.SHA, c.Name, c.Member, c.Ord, c.State); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT member, ord, state FROM gitlab_commit_runs
			WHERE integration_id = ? AND project = ? AND sha = ? AND name = ? ORDER BY member`,
			c.IntegrationID, c.Project, c.SHA, c.Name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := c
			if err := rows.Scan(&m.Member, &m.Ord, &m.State); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, wrapInternal(err, "record run on commit %s", c.SHA)
}

// AggregateStatuses implements feedback.Store.
func (s *Store) AggregateStatuses(ctx context.Context, integrationID string) (bool, error) {
	var on bool
	err := s.queryRow(ctx, s.r, "SELECT aggregate_statuses FROM integrations WHERE id = ?", integrationID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, apperr.Errorf(apperr.NotFound, "no integration %q", integrationID)
	}
	return on, wrapInternal(err, "load integration %s", integrationID)
}

// IntegrationDriftIssue implements feedback.Store.
func (s *Store) IntegrationDriftIssue(ctx context.Context, integrationID string) (bool, []string, error) {
	var on bool
	var labels []string
	err := s.queryRow(ctx, s.r, "SELECT drift_issue, drift_issue_labels FROM integrations WHERE id = ?", integrationID).
		Scan(&on, jsonScan{&labels})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil, apperr.Errorf(apperr.NotFound, "no integration %q", integrationID)
	}
	return on, nonNil(labels), wrapInternal(err, "load integration %s", integrationID)
}

// RunResources returns the resources of a run's plan, as recorded in the
// InTx transaction of ctx when there is one (feedback.ResourcesFunc).
func (s *Store) RunResources(ctx context.Context, runID string) ([]run.Resource, error) {
	var out []run.Resource
	err := s.queryRow(ctx, s.r, "SELECT resources FROM run_exec WHERE run_id = ?", runID).Scan(jsonScan{&out})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return out, wrapInternal(err, "load resources of run %s", runID)
}
