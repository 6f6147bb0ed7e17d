package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

var _ vcsagent.Store = (*Store)(nil)

const agentPoolCols = "id, name, space_id, description, token_hash, created_at, created_by, rotated_at"

func scanAgentPool(row interface{ Scan(...any) error }) (vcsagent.Pool, error) {
	var p vcsagent.Pool
	err := row.Scan(&p.ID, &p.Name, &p.SpaceID, &p.Description, &p.TokenHash, timeScan{&p.CreatedAt}, &p.CreatedBy, timeScan{&p.RotatedAt})
	return p, err
}

// CreateAgentPool implements vcsagent.Store.
func (s *Store) CreateAgentPool(ctx context.Context, p vcsagent.Pool, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, p.SpaceID, "space"); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "INSERT INTO vcs_agent_pools ("+agentPoolCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.Name, p.SpaceID, p.Description, p.TokenHash, s.t(p.CreatedAt), p.CreatedBy, s.t(p.RotatedAt))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if s.d.IsUniqueViolation(err) {
		return apperr.Wrap(apperr.Conflict, err, "a VCS agent pool with the id %q already exists (names are unique)", p.ID)
	}
	return wrapInternal(err, "create VCS agent pool %s", p.ID)
}

// GetAgentPool implements vcsagent.Store.
func (s *Store) GetAgentPool(ctx context.Context, id string) (vcsagent.Pool, error) {
	p, err := scanAgentPool(s.queryRow(ctx, s.r, "SELECT "+agentPoolCols+" FROM vcs_agent_pools WHERE id = ?", id))
	if err != nil {
		return vcsagent.Pool{}, wrapInternal(notFound(err, "VCS agent pool %q not found", id), "get VCS agent pool %s", id)
	}
	return p, nil
}

// ListAgentPools implements vcsagent.Store.
func (s *Store) ListAgentPools(ctx context.Context, f vcsagent.Filter, cursor string, limit int) ([]vcsagent.Pool, string, error) {
	limit = clampLimit(limit)
	where, args, none, err := inSpaces(cursor, f.All, f.Spaces)
	if err != nil || none {
		return []vcsagent.Pool{}, "", err
	}
	out, err := queryAll(ctx, s, s.r, scanAgentPool, "SELECT "+agentPoolCols+" FROM vcs_agent_pools WHERE "+where+" ORDER BY id LIMIT ?",
		append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list VCS agent pools: %w", err)
	}
	out, next := page(out, limit, func(p vcsagent.Pool) string { return idCursor(p.ID) })
	return out, next, nil
}

// UpdateAgentPool implements vcsagent.Store.
func (s *Store) UpdateAgentPool(ctx context.Context, p vcsagent.Pool, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.spaceExists(ctx, tx, p.SpaceID, "space"); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, "UPDATE vcs_agent_pools SET space_id = ?, description = ? WHERE id = ?", p.SpaceID, p.Description, p.ID)
		if err != nil {
			return err
		}
		if err := affected(res, "VCS agent pool %q not found", p.ID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "update VCS agent pool %s", p.ID)
}

// SetAgentPoolToken implements vcsagent.Store.
func (s *Store) SetAgentPoolToken(ctx context.Context, id, tokenHash string, rotatedAt time.Time, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE vcs_agent_pools SET token_hash = ?, rotated_at = ? WHERE id = ?", tokenHash, s.t(rotatedAt), id)
		if err != nil {
			return err
		}
		if err := affected(res, "VCS agent pool %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "set token of VCS agent pool %s", id)
}

// DeleteAgentPool implements vcsagent.Store.
func (s *Store) DeleteAgentPool(ctx context.Context, id string, e audit.Entry) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM vcs_agent_pools WHERE id = ?", id)
		if err != nil {
			return err
		}
		if err := affected(res, "VCS agent pool %q not found", id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	return wrapInternal(err, "delete VCS agent pool %s", id)
}
