package session_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/web/session"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSessions(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			st := dbtest.Open(t, d)
			ctx := t.Context()
			c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			m := session.NewManager(st, c.now, time.Hour)
			id, s, err := m.Create(ctx, "user:admin")
			if err != nil {
				t.Fatal(err)
			}
			if id == "" || s.IDHash == id || s.IDHash != session.HashID(id) || len(s.CSRFToken) < 40 {
				t.Fatalf("session %+v for id %q", s, id)
			}
			got, err := m.Lookup(ctx, id)
			if err != nil || got.Principal != "user:admin" || got.CSRFToken != s.CSRFToken || !got.ExpiresAt.Equal(s.ExpiresAt) {
				t.Fatalf("Lookup = %+v, %v", got, err)
			}
			if _, err := m.Lookup(ctx, s.IDHash); !apperr.Is(err, apperr.Unauthorized) {
				t.Errorf("Lookup by the stored hash = %v, want unauthorized", err)
			}
			c.add(time.Hour)
			if _, err := m.Lookup(ctx, id); !apperr.Is(err, apperr.Unauthorized) {
				t.Errorf("Lookup after expiry = %v, want unauthorized", err)
			}
			id2, _, err := m.Create(ctx, "apikey:k1")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Delete(ctx, id2); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Lookup(ctx, id2); !apperr.Is(err, apperr.Unauthorized) {
				t.Errorf("Lookup after Delete = %v, want unauthorized", err)
			}
			if err := st.Prune(ctx, c.now().Add(time.Second), c.now()); err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetSession(ctx, s.IDHash); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("expired session after Prune: %v", err)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			st := dbtest.Open(t, d)
			ctx := t.Context()
			c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			l := session.NewLimiter(st, c.now, 3, 10*time.Minute)
			begin := func(keys ...string) (session.Attempt, bool) {
				t.Helper()
				a, ok, err := l.Begin(ctx, keys...)
				if err != nil {
					t.Fatal(err)
				}
				return a, ok
			}
			// A success takes its reservation back and resets the username.
			for range 2 {
				begin("user:bob", "addr:10.0.0.1")
			}
			a, ok := begin("user:bob", "addr:10.0.0.1")
			if !ok {
				t.Fatal("third attempt refused under a limit of 3")
			}
			if err := l.Succeeded(ctx, a, "user:bob"); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, ok := begin("user:bob", "addr:10.0.0.2"); !ok {
					t.Fatalf("attempt %d for bob after his success refused", i)
				}
				c.add(time.Minute)
			}
			if _, ok := begin("user:bob", "addr:10.0.0.3"); ok {
				t.Error("username not limited after 3 failures")
			}
			// The address keeps the two failures before the success.
			begin("user:carol", "addr:10.0.0.1")
			if _, ok := begin("user:dave", "addr:10.0.0.1"); ok {
				t.Error("address not limited after 3 failures")
			}
			c.add(8 * time.Minute) // bob's first failure at 10.0.0.2 leaves the window
			if _, ok := begin("user:bob"); !ok {
				t.Error("still limited once the oldest failure left the window")
			}
			if err := l.Prune(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"10.0.0.1":             "addr:10.0.0.1",
		"::ffff:10.0.0.1":      "addr:10.0.0.1",
		"2001:db8:1:2:3:4:5:6": "addr:2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "addr:2001:db8:1:2::/64",
		"fe80::1%eth0":         "addr:fe80::/64",
		"not an address":       "addr:not an address",
		"2001:db8:1:3:3:4:5:6": "addr:2001:db8:1:3::/64",
	} {
		if got := session.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
