package session_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
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

// stores returns a fresh SQLite store and, when HOIST_TEST_POSTGRES is set,
// a fresh PostgreSQL schema.
func stores(t *testing.T) map[string]*sqlstore.Store {
	t.Helper()
	out := map[string]*sqlstore.Store{"sqlite": dbtest.Open(t, "sqlite")}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		out["postgres"] = dbtest.Open(t, "postgres")
	}
	return out
}

func TestSessions(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
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
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			l := session.NewLimiter(st, c.now, 3, 10*time.Minute)
			for i := range 3 {
				if b, err := l.Blocked(ctx, "user:bob", "addr:10.0.0.1"); err != nil || b {
					t.Fatalf("attempt %d blocked=%v err=%v", i, b, err)
				}
				if err := l.Fail(ctx, "user:bob", "addr:10.0.0.1"); err != nil {
					t.Fatal(err)
				}
				c.add(time.Minute)
			}
			if b, _ := l.Blocked(ctx, "user:alice", "addr:10.0.0.1"); !b {
				t.Error("address not blocked after 3 failures")
			}
			if b, _ := l.Blocked(ctx, "user:bob", "addr:10.0.0.2"); !b {
				t.Error("username not blocked after 3 failures")
			}
			if b, _ := l.Blocked(ctx, "user:alice", "addr:10.0.0.2"); b {
				t.Error("unrelated keys blocked")
			}
			c.add(8 * time.Minute) // the first failure leaves the window
			if b, _ := l.Blocked(ctx, "user:bob"); b {
				t.Error("still blocked once the oldest failure left the window")
			}
			if err := l.Reset(ctx, "user:bob"); err != nil {
				t.Fatal(err)
			}
			if n, _ := st.CountLoginFailures(ctx, "user:bob", time.Time{}); n != 0 {
				t.Errorf("%d failures of user:bob after Reset", n)
			}
			if err := l.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			if n, _ := st.CountLoginFailures(ctx, "addr:10.0.0.1", time.Time{}); n != 2 {
				t.Errorf("%d failures of the address after Prune, want the 2 inside the window", n)
			}
		})
	}
}
