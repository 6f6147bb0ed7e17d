// Package session keeps the web UI's logins: server-side sessions whose id
// lives only in the browser's cookie (the database holds its SHA-256), each
// with its own CSRF token, and the failed-login counters that rate-limit
// password guessing per username and per client address.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Session is one logged-in browser.
type Session struct {
	IDHash    string // hex SHA-256 of the cookie value
	Principal string // "user:<id>" or "apikey:<id>"
	CSRFToken string // sent back in a hidden field of every form
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store persists sessions and failed logins. GetSession of a missing id
// gives apperr NotFound; deleting a missing session is not an error.
type Store interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, idHash string) (Session, error)
	DeleteSession(ctx context.Context, idHash string) error
	// Prune removes sessions that expired before t and
	// failed logins recorded before failuresBefore.
	Prune(ctx context.Context, t, failuresBefore time.Time) error

	// ReserveLoginAttempt records one failure of attempt under each key,
	// at at, unless a key already has max or more failures recorded at or
	// after since: then it records nothing and returns false. The check and
	// the record are one atomic step for every server on the database, so
	// parallel attempts cannot all pass the check before any is recorded.
	ReserveLoginAttempt(ctx context.Context, attempt string, keys []string, at, since time.Time, max int) (bool, error)
	// ForgetLoginAttempt deletes the failures recorded for attempt.
	ForgetLoginAttempt(ctx context.Context, attempt string) error
	// ClearLoginFailures deletes every failure of key.
	ClearLoginFailures(ctx context.Context, key string) error
}

// DefaultTTL is how long a login lasts.
const DefaultTTL = 12 * time.Hour

// Manager creates, resolves and ends sessions.
type Manager struct {
	store Store
	now   func() time.Time
	ttl   time.Duration
}

// NewManager returns a Manager; now defaults to time.Now, ttl to DefaultTTL.
func NewManager(store Store, now func() time.Time, ttl time.Duration) *Manager {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Manager{store: store, now: now, ttl: ttl}
}

// TTL is how long a new session lasts.
func (m *Manager) TTL() time.Duration { return m.ttl }

// Create starts a session for principal and returns the cookie value (shown
// to nobody else and never stored) with the session.
func (m *Manager) Create(ctx context.Context, principal string) (string, Session, error) {
	id := randomToken()
	now := m.now().UTC()
	s := Session{IDHash: HashID(id), Principal: principal, CSRFToken: randomToken(), CreatedAt: now, ExpiresAt: now.Add(m.ttl)}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return id, s, nil
}

// Lookup resolves a cookie value to its live session; a missing, unknown or
// expired one is apperr Unauthorized.
func (m *Manager) Lookup(ctx context.Context, id string) (Session, error) {
	denied := apperr.Errorf(apperr.Unauthorized, "not logged in")
	if id == "" {
		return Session{}, denied
	}
	s, err := m.store.GetSession(ctx, HashID(id))
	if apperr.Is(err, apperr.NotFound) {
		return Session{}, denied
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	if !m.now().Before(s.ExpiresAt) {
		return Session{}, denied
	}
	return s, nil
}

// Delete ends the session of a cookie value.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if err := m.store.DeleteSession(ctx, HashID(id)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// HashID is what the store keeps of a session id.
func HashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// TokensEqual compares a submitted CSRF token with the expected one in
// constant time; an empty expected token never matches.
func TokensEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// NewToken returns 32 random bytes, URL-safe base64 encoded.
func NewToken() string { return randomToken() }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
