package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
)

// The reads of a metrics scrape (docs/metrics.md): aggregates on the read
// pool, kept cheap by indexes (migration 0014), never inside a
// transaction.

// JobBacklog counts the job queue's jobs by kind: queued and failed.
func (s *Store) JobBacklog(ctx context.Context) ([]jobqueue.Backlog, error) {
	rows, err := s.query(s.outsideTx(ctx), s.r, `SELECT kind, state, COUNT(*), MIN(created_at) FROM jobs
		GROUP BY kind, state ORDER BY kind`)
	if err != nil {
		return nil, wrapInternal(err, "count jobs")
	}
	defer rows.Close()
	var out []jobqueue.Backlog
	for rows.Next() {
		var kind, state string
		var n int
		var oldest time.Time
		if err := rows.Scan(&kind, &state, &n, timeScan{&oldest}); err != nil {
			return nil, wrapInternal(err, "count jobs")
		}
		if len(out) == 0 || out[len(out)-1].Kind != kind {
			out = append(out, jobqueue.Backlog{Kind: kind})
		}
		b := &out[len(out)-1]
		switch state {
		case "available":
			b.Queued, b.Oldest = n, oldest
		case "failed":
			b.Failed = n
		}
	}
	return out, wrapInternal(rows.Err(), "count jobs")
}

// WriteBacklog counts the GitLab writes still open (pending or retrying)
// by kind.
func (s *Store) WriteBacklog(ctx context.Context) ([]feedback.Backlog, error) {
	rows, err := s.query(s.outsideTx(ctx), s.r, `SELECT kind, COUNT(*), MIN(created_at) FROM gitlab_writes
		WHERE state IN ('pending', 'retrying') GROUP BY kind ORDER BY kind`)
	if err != nil {
		return nil, wrapInternal(err, "count open gitlab writes")
	}
	defer rows.Close()
	var out []feedback.Backlog
	for rows.Next() {
		var b feedback.Backlog
		if err := rows.Scan(&b.Kind, &b.Open, timeScan{&b.Oldest}); err != nil {
			return nil, wrapInternal(err, "count open gitlab writes")
		}
		out = append(out, b)
	}
	return out, wrapInternal(rows.Err(), "count open gitlab writes")
}

// CountRunsByState counts every run by its state; states no run is in
// are absent.
func (s *Store) CountRunsByState(ctx context.Context) (map[run.State]int, error) {
	rows, err := s.query(s.outsideTx(ctx), s.r, "SELECT state, COUNT(*) FROM runs GROUP BY state")
	if err != nil {
		return nil, wrapInternal(err, "count runs")
	}
	defer rows.Close()
	out := map[run.State]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, wrapInternal(err, "count runs")
		}
		out[run.State(state)] = n
	}
	return out, wrapInternal(rows.Err(), "count runs")
}

// Handles returns the database handles by role — "write", and "read"
// when reads have a pool of their own (SQLite) — for the connection pool
// metrics.
func (s *Store) Handles() map[string]*sql.DB {
	h := map[string]*sql.DB{"write": s.w}
	if s.r != s.w {
		h["read"] = s.r
	}
	return h
}
