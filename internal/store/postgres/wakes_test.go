package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// wakeBound is how soon a wake-up must reach another server: NOTIFY is
// milliseconds; the polls it replaces are a second or more.
const wakeBound = 2 * time.Second

var topics = []string{sqlstore.TopicJobs, sqlstore.TopicRuns, sqlstore.TopicWrites}

// subscribe records the wake-ups of every topic on s.
func subscribe(s *sqlstore.Store) map[string]chan struct{} {
	woken := map[string]chan struct{}{}
	for _, topic := range topics {
		ch := make(chan struct{}, 1)
		woken[topic] = ch
		s.Wakes().Subscribe(topic, func() {
			select {
			case ch <- struct{}{}:
			default:
			}
		})
	}
	return woken
}

func waitWoken(t *testing.T, woken map[string]chan struct{}, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		select {
		case <-woken[topic]:
		case <-time.After(wakeBound):
			t.Fatalf("no %q wake-up within %s", topic, wakeBound)
		}
	}
}

func assertQuiet(t *testing.T, woken map[string]chan struct{}) {
	t.Helper()
	for topic, ch := range woken {
		select {
		case <-ch:
			t.Fatalf("unexpected %q wake-up", topic)
		default:
		}
	}
}

func open(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWakesReachOtherServers(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
	a, b := open(t, url), open(t, url)
	other := open(t, dbtest.PostgresURL(t)) // another schema of the same database
	woken := subscribe(b)
	waitWoken(t, woken, topics...) // listening: the first connect wakes every topic

	a.Wakes().Publish(sqlstore.TopicJobs)
	waitWoken(t, woken, sqlstore.TopicJobs)

	// B's own wake-ups and another schema's are not B's to act on.
	b.Wakes().Publish(sqlstore.TopicRuns)
	other.Wakes().Publish(sqlstore.TopicRuns)
	time.Sleep(300 * time.Millisecond)
	a.Wakes().Publish(sqlstore.TopicWrites)
	waitWoken(t, woken, sqlstore.TopicWrites)
	assertQuiet(t, woken)
}

func TestWakesAfterReconnect(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t)
	b := open(t, url)
	woken := subscribe(b)
	waitWoken(t, woken, topics...)

	// Cut the listen connection: whatever was notified until it is back is
	// lost, so B wakes every topic once it listens again.
	var n int
	err := b.DB().QueryRowContext(context.Background(),
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
		postgres.ListenerName(b.Wakes())).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d listen connections, want 1", n)
	}
	waitWoken(t, woken, topics...)

	// And it listens again.
	a := open(t, url)
	a.Wakes().Publish(sqlstore.TopicRuns)
	waitWoken(t, woken, sqlstore.TopicRuns)
}

func TestChannelName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("s", 63)
	for _, tc := range []struct{ schema, want string }{
		{"public", "hoist_wake_public"},
		{"t_0a1b2c", "hoist_wake_t_0a1b2c"},
		{long, postgres.ChannelName(long)},
	} {
		if got := postgres.ChannelName(tc.schema); got != tc.want || len(got) > 63 {
			t.Errorf("channelName(%q) = %q, want %q (at most 63 bytes)", tc.schema, got, tc.want)
		}
	}
	if postgres.ChannelName(long) == postgres.ChannelName(long+"x") {
		t.Error("long schema names share a channel")
	}
}
