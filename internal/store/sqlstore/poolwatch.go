package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hoistdev/hoist/internal/notify"
)

// AgentPoolWatches implements notify.PoolStore: every pool, by id, with
// its watch row when it has one.
func (s *Store) AgentPoolWatches(ctx context.Context) ([]notify.PoolWatch, error) {
	rows, err := s.query(ctx, s.r, `SELECT p.id, p.name, p.space_id, COALESCE(w.state, ''), w.changed_at,
		COALESCE(w.last_agent_id, ''), COALESCE(w.last_agent_name, ''), w.last_seen_at
		FROM vcs_agent_pools p LEFT JOIN vcs_agent_pool_watch w ON w.pool_id = p.id ORDER BY p.id`)
	if err != nil {
		return nil, wrapInternal(err, "list VCS agent pool watches")
	}
	defer rows.Close()
	var out []notify.PoolWatch
	for rows.Next() {
		var w notify.PoolWatch
		var changed, seen *time.Time
		if err := rows.Scan(&w.PoolID, &w.Name, &w.SpaceID, &w.State, nullTimeScan{&changed}, &w.LastAgentID, &w.LastAgentName,
			nullTimeScan{&seen}); err != nil {
			return nil, wrapInternal(err, "list VCS agent pool watches")
		}
		if changed != nil {
			w.ChangedAt = *changed
		}
		if seen != nil {
			w.LastSeenAt = *seen
		}
		out = append(out, w)
	}
	return out, wrapInternal(rows.Err(), "list VCS agent pool watches")
}

// SeeAgentPool implements notify.PoolStore. The move from empty to up is
// an UPDATE guarded by the state: on PostgreSQL a second server's UPDATE
// waits for the first one's row lock, then finds the state changed and
// updates nothing; its row count is the compare-and-set.
func (s *Store) SeeAgentPool(ctx context.Context, poolID, agentID, agentName string, at time.Time) (bool, time.Time, error) {
	var recovered bool
	var since time.Time
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, "SELECT changed_at FROM vcs_agent_pool_watch WHERE pool_id = ? AND state = 'empty'", poolID).
			Scan(timeScan{&since})
		if err == nil {
			res, err := s.exec(ctx, tx, `UPDATE vcs_agent_pool_watch SET state = 'up', changed_at = ?, last_agent_id = ?,
				last_agent_name = ?, last_seen_at = ? WHERE pool_id = ? AND state = 'empty'`, s.t(at), agentID, agentName, s.t(at), poolID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			recovered = n == 1
			if recovered || err != nil {
				return err
			}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// A first sighting, or a refresh (never backwards). Selected from
		// the pools, so that a pool deleted meanwhile gets no row.
		_, err = s.exec(ctx, tx, `INSERT INTO vcs_agent_pool_watch (pool_id, state, changed_at, last_agent_id, last_agent_name, last_seen_at)
			SELECT id, 'up', ?, ?, ?, ? FROM vcs_agent_pools WHERE id = ?
			ON CONFLICT (pool_id) DO UPDATE SET last_agent_id = excluded.last_agent_id, last_agent_name = excluded.last_agent_name,
			last_seen_at = excluded.last_seen_at WHERE vcs_agent_pool_watch.state = 'up' AND vcs_agent_pool_watch.last_seen_at < excluded.last_seen_at`,
			s.t(at), agentID, agentName, s.t(at), poolID)
		return err
	})
	if err != nil || !recovered {
		return false, time.Time{}, wrapInternal(err, "record an agent of VCS agent pool %s", poolID)
	}
	return true, since, nil
}

// EmptyAgentPool implements notify.PoolStore: the compare-and-set from up
// to empty, refused when an agent was seen after seenBefore.
func (s *Store) EmptyAgentPool(ctx context.Context, poolID string, seenBefore, at time.Time) (bool, error) {
	res, err := s.exec(ctx, s.w, `UPDATE vcs_agent_pool_watch SET state = 'empty', changed_at = ?
		WHERE pool_id = ? AND state = 'up' AND last_seen_at <= ?`, s.t(at), poolID, s.t(seenBefore))
	if err != nil {
		return false, wrapInternal(err, "mark VCS agent pool %s empty", poolID)
	}
	n, err := res.RowsAffected()
	return n == 1, wrapInternal(err, "mark VCS agent pool %s empty", poolID)
}
