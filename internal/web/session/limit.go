package session

import (
	"context"
	"fmt"
	"time"
)

// Limiter counts failed logins per key ("user:<name>", "addr:<ip>") in a
// sliding window kept in the database, so that every server replica shares
// the count and a restart does not reset it.
type Limiter struct {
	store  Store
	now    func() time.Time
	max    int
	window time.Duration
}

// Default limit: 5 failures per 15 minutes per key.
const (
	DefaultMaxFailures = 5
	DefaultWindow      = 15 * time.Minute
)

// NewLimiter returns a Limiter allowing max failures per window per key;
// zero values take the defaults.
func NewLimiter(store Store, now func() time.Time, max int, window time.Duration) *Limiter {
	if now == nil {
		now = time.Now
	}
	if max <= 0 {
		max = DefaultMaxFailures
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return &Limiter{store: store, now: now, max: max, window: window}
}

// Window is the length of the sliding window.
func (l *Limiter) Window() time.Duration { return l.window }

// Blocked reports whether any key has used up its failures in the window.
func (l *Limiter) Blocked(ctx context.Context, keys ...string) (bool, error) {
	since := l.now().UTC().Add(-l.window)
	for _, k := range keys {
		n, err := l.store.CountLoginFailures(ctx, k, since)
		if err != nil {
			return false, fmt.Errorf("count login failures: %w", err)
		}
		if n >= l.max {
			return true, nil
		}
	}
	return false, nil
}

// Fail records one failure for every key.
func (l *Limiter) Fail(ctx context.Context, keys ...string) error {
	at := l.now().UTC()
	for _, k := range keys {
		if err := l.store.RecordLoginFailure(ctx, k, at); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
	}
	return nil
}

// Reset forgets the failures of key (a successful login resets its
// username, never its address, so one good account cannot unlock guessing
// at others from the same address).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.store.ClearLoginFailures(ctx, key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// Prune drops expired sessions and failures older than the window.
func (l *Limiter) Prune(ctx context.Context) error {
	now := l.now().UTC()
	if err := l.store.Prune(ctx, now, now.Add(-l.window)); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	return nil
}
