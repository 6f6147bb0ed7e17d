package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/sso"
)

var _ sso.GrantStore = (*Store)(nil)

// PutOIDCGrant implements sso.GrantStore.
func (s *Store) PutOIDCGrant(ctx context.Context, g sso.Grant) error {
	_, err := s.exec(ctx, s.w, `INSERT INTO oidc_grants (user_id, issuer, subject, refresh_token, synced_at, next_sync_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
			refresh_token = excluded.refresh_token, synced_at = excluded.synced_at, next_sync_at = excluded.next_sync_at`,
		g.UserID, g.Issuer, g.Subject, g.RefreshToken, s.t(g.SyncedAt), s.t(g.NextSyncAt))
	if err != nil {
		return fmt.Errorf("put oidc grant of %s: %w", g.UserID, err)
	}
	return nil
}

// ClaimOIDCGrants implements sso.GrantStore in one statement: on
// PostgreSQL a second server's UPDATE of the same row waits for the first
// and then finds it no longer due, so each due grant goes to one server.
func (s *Store) ClaimOIDCGrants(ctx context.Context, now, until time.Time, limit int) ([]sso.Grant, error) {
	gs, err := queryAll(ctx, s, s.w, scanGrant, `UPDATE oidc_grants SET next_sync_at = ?
		WHERE user_id IN (SELECT user_id FROM oidc_grants WHERE next_sync_at <= ? ORDER BY next_sync_at LIMIT ?)
		AND next_sync_at <= ?
		RETURNING user_id, issuer, subject, refresh_token, synced_at, next_sync_at`, s.t(until), s.t(now), limit, s.t(now))
	if err != nil {
		return nil, fmt.Errorf("claim oidc grants: %w", err)
	}
	return gs, nil
}

// DeleteOIDCGrant implements sso.GrantStore.
func (s *Store) DeleteOIDCGrant(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM oidc_grants WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("delete oidc grant of %s: %w", userID, err)
	}
	return nil
}

func scanGrant(row rowScanner) (sso.Grant, error) {
	var g sso.Grant
	err := row.Scan(&g.UserID, &g.Issuer, &g.Subject, &g.RefreshToken, timeScan{&g.SyncedAt}, timeScan{&g.NextSyncAt})
	return g, err
}
