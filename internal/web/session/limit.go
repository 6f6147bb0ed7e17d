package session

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Limiter rate-limits logins per key ("user:<id>", "addr:<ip>") in a
// sliding window kept in the database, so that every server replica shares
// the count and a restart does not reset it.
//
// An attempt reserves its slot before the password is checked: Begin
// records a failure under every key, atomically with checking the limit,
// and Succeeded takes it back. However many attempts arrive at once, at
// most max of them per key and window ever reach the (deliberately slow)
// password comparison; the rest are refused without one.
type Limiter struct {
	store  Store
	now    func() time.Time
	max    int
	window time.Duration
}

// Default limit: 5 failed logins per 15 minutes per username and per
// client address. A person who mistypes a password a few times waits at
// most 15 minutes; a guesser gets 480 tries a day per account.
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

// Max is how many failures a key may have in the window.
func (l *Limiter) Max() int { return l.max }

// Attempt is a login attempt holding a slot under each of its keys.
type Attempt struct{ id string }

// Begin reserves a slot under every key for one login attempt; ok is false
// (and nothing is recorded) when a key has used up its failures in the
// window. Until Succeeded, the attempt counts as a failure: an attempt
// whose password was wrong, or that never finished, needs no further call.
func (l *Limiter) Begin(ctx context.Context, keys ...string) (a Attempt, ok bool, err error) {
	now := l.now().UTC()
	a = Attempt{id: randomToken()}
	ok, err = l.store.ReserveLoginAttempt(ctx, a.id, keys, now, now.Add(-l.window), l.max)
	if err != nil {
		return Attempt{}, false, fmt.Errorf("reserve login attempt: %w", err)
	}
	return a, ok, nil
}

// Succeeded takes a's reserved failures back and forgets every failure of
// reset: a successful login resets its username, never its address, so
// one good account cannot unlock guessing at others from the same address.
func (l *Limiter) Succeeded(ctx context.Context, a Attempt, reset ...string) error {
	if err := l.store.ForgetLoginAttempt(ctx, a.id); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	for _, k := range reset {
		if err := l.store.ClearLoginFailures(ctx, k); err != nil {
			return fmt.Errorf("clear login failures: %w", err)
		}
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

// AddressKey is the limiter key of a client address. IPv6 clients are
// counted per /64, the block one subscriber usually gets, so that hopping
// between the addresses of one's own block does not reset the count.
func AddressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "addr:" + addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64) // 64 is valid for every IPv6 address
		return "addr:" + p.String()
	}
	return "addr:" + ip.String()
}
