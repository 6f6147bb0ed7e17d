package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

const presenceCols = "server_id, address, pool_id, agent_id, agent_name, streams, connected_at, seen_at"

// SetAgentPresence replaces every row of serverID with rows (each of them
// naming serverID), in one transaction, so readers see the server's agents
// before or after a change, never half of it.
func (s *Store) SetAgentPresence(ctx context.Context, serverID string, rows []vcsagent.Presence) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, "DELETE FROM vcs_agent_presence WHERE server_id = ?", serverID); err != nil {
			return err
		}
		for _, p := range rows {
			if p.ServerID != serverID {
				return fmt.Errorf("presence row of server %q given for server %q", p.ServerID, serverID)
			}
			_, err := s.exec(ctx, tx, "INSERT INTO vcs_agent_presence ("+presenceCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				p.ServerID, p.Address, p.Pool, p.AgentID, p.AgentName, p.Streams, s.t(p.ConnectedAt), s.t(p.SeenAt))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrapInternal(err, "set VCS agent presence of server %s", serverID)
}

// ListAgentPresence returns the rows seen at seenSince or later, by
// server, pool and agent.
func (s *Store) ListAgentPresence(ctx context.Context, seenSince time.Time) ([]vcsagent.Presence, error) {
	rows, err := s.query(ctx, s.r, "SELECT "+presenceCols+" FROM vcs_agent_presence WHERE seen_at >= ? "+
		"ORDER BY server_id, pool_id, agent_id", s.t(seenSince))
	if err != nil {
		return nil, wrapInternal(err, "list VCS agent presence")
	}
	defer rows.Close()
	var out []vcsagent.Presence
	for rows.Next() {
		var p vcsagent.Presence
		if err := rows.Scan(&p.ServerID, &p.Address, &p.Pool, &p.AgentID, &p.AgentName, &p.Streams,
			timeScan{&p.ConnectedAt}, timeScan{&p.SeenAt}); err != nil {
			return nil, wrapInternal(err, "list VCS agent presence")
		}
		out = append(out, p)
	}
	return out, wrapInternal(rows.Err(), "list VCS agent presence")
}

// DeleteAgentPresence removes the rows of serverID (its clean shutdown).
func (s *Store) DeleteAgentPresence(ctx context.Context, serverID string) error {
	_, err := s.exec(ctx, s.w, "DELETE FROM vcs_agent_presence WHERE server_id = ?", serverID)
	return wrapInternal(err, "delete VCS agent presence of server %s", serverID)
}

// PurgeAgentPresence removes the rows not seen since seenBefore (servers
// that stopped without deleting theirs) and returns how many.
func (s *Store) PurgeAgentPresence(ctx context.Context, seenBefore time.Time) (int64, error) {
	res, err := s.exec(ctx, s.w, "DELETE FROM vcs_agent_presence WHERE seen_at < ?", s.t(seenBefore))
	if err != nil {
		return 0, wrapInternal(err, "purge VCS agent presence")
	}
	n, err := res.RowsAffected()
	return n, wrapInternal(err, "purge VCS agent presence")
}
