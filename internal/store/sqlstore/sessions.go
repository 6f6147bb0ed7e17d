package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// ReserveLoginAttempt implements session.Store. Each key's lock (sorted,
// so that two attempts sharing keys cannot deadlock) makes count-then-insert
// atomic on PostgreSQL; on SQLite the write transaction already is.
func (s *Store) ReserveLoginAttempt(ctx context.Context, attempt string, keys []string, at, since time.Time, max int) (bool, error) {
	keys = slices.Sorted(slices.Values(keys))
	keys = slices.Compact(keys)
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if err := s.d.Lock(ctx, tx, "login."+k); err != nil {
				return err
			}
		}
		for _, k := range keys {
			var n int
			err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?", k, s.t(since)).Scan(&n)
			if err != nil || n >= max {
				return err
			}
		}
		for _, k := range keys {
			if _, err := s.exec(ctx, tx, "INSERT INTO login_failures (key, at, attempt) VALUES (?, ?, ?)", k, s.t(at), attempt); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reserve login attempt: %w", err)
	}
	return ok, nil
}

// ForgetLoginAttempt implements session.Store.
func (s *Store) ForgetLoginAttempt(ctx context.Context, attempt string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM login_failures WHERE attempt = ?", attempt); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// ClearLoginFailures implements session.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM login_failures WHERE key = ?", key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
