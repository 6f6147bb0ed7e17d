package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/web/session"
)

var _ session.Store = (*Store)(nil)

// CreateSession implements session.Store.
func (s *Store) CreateSession(ctx context.Context, ws session.Session) error {
	_, err := s.exec(ctx, s.w, `INSERT INTO web_sessions (id_hash, principal, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, ws.IDHash, ws.Principal, ws.CSRFToken, s.t(ws.CreatedAt), s.t(ws.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession implements session.Store.
func (s *Store) GetSession(ctx context.Context, idHash string) (session.Session, error) {
	var ws session.Session
	err := s.queryRow(ctx, s.r, `SELECT id_hash, principal, csrf_token, created_at, expires_at
		FROM web_sessions WHERE id_hash = ?`, idHash).
		Scan(&ws.IDHash, &ws.Principal, &ws.CSRFToken, timeScan{&ws.CreatedAt}, timeScan{&ws.ExpiresAt})
	if err != nil {
		return session.Session{}, wrapInternal(notFound(err, "session not found"), "get session")
	}
	return ws, nil
}

// DeleteSession implements session.Store.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM web_sessions WHERE id_hash = ?", idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Prune implements session.Store.
func (s *Store) Prune(ctx context.Context, t, failuresBefore time.Time) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM web_sessions WHERE expires_at < ?", s.t(t)); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	if _, err := s.exec(ctx, s.w, "DELETE FROM login_failures WHERE at < ?", s.t(failuresBefore)); err != nil {
		return fmt.Errorf("prune login failures: %w", err)
	}
	return nil
}

// RecordLoginFailure implements session.Store.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, at time.Time) error {
	if _, err := s.exec(ctx, s.w, "INSERT INTO login_failures (key, at) VALUES (?, ?)", key, s.t(at)); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// CountLoginFailures implements session.Store.
func (s *Store) CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, s.r, "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?", key, s.t(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count login failures: %w", err)
	}
	return n, nil
}

// ClearLoginFailures implements session.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM login_failures WHERE key = ?", key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
