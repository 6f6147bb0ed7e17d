package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/web/session"
)

// testSessions: web sessions by the hash of their id; Prune drops those
// that expired. (Login attempts: testLoginAttempts.)
func testSessions(t *testing.T, h Harness) {
	s := fresh(t, h)
	mk := func(idHash string, expires time.Time) session.Session {
		return session.Session{IDHash: idHash, Principal: "user:alice", CSRFToken: "csrf-" + idHash, CreatedAt: base, ExpiresAt: expires}
	}
	live, ending, gone := mk("h-live", base.Add(time.Hour)), mk("h-ending", base), mk("h-gone", base.Add(-time.Microsecond))
	for _, ws := range []session.Session{live, ending, gone} {
		if err := s.CreateSession(ctx(), ws); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx(), mk("h-live", base)); err == nil {
		t.Error("a second session with the same id was created")
	}
	if got, err := s.GetSession(ctx(), "h-live"); err != nil || !reflect.DeepEqual(got, live) {
		t.Errorf("GetSession = %+v, %v\nwant %+v", got, err, live)
	}
	_, err := s.GetSession(ctx(), "h-nope")
	wantCode(t, err, apperr.NotFound)

	// Prune at base: expired before base goes, expiring at base stays.
	if err := s.Prune(ctx(), base, base); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"h-live": true, "h-ending": true, "h-gone": false} {
		_, err := s.GetSession(ctx(), id)
		if kept := err == nil; kept != want {
			t.Errorf("after Prune, session %s kept: %v (%v), want %v", id, kept, err, want)
		}
	}
	for range 2 { // deleting a missing session is not an error
		if err := s.DeleteSession(ctx(), "h-live"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.GetSession(ctx(), "h-live")
	wantCode(t, err, apperr.NotFound)
	if _, err := s.GetSession(ctx(), "h-ending"); err != nil {
		t.Errorf("deleting one session touched another: %v", err)
	}
}

// testLoginAttemptRace: attempts on two servers at once, released
// together, never pass a limit together (the check and the record are one
// step for every server).
func testLoginAttemptRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const rounds, attempts, max = 5, 12, 3
	since := base.Add(-15 * time.Minute)
	for round := range rounds {
		key := fmt.Sprint("user:u", round)
		start := make(chan struct{})
		passed := make(chan bool, attempts)
		for i := range attempts {
			go func() {
				<-start
				s := []*sqlstore.Store{s1, s2}[i%2]
				ok, err := s.ReserveLoginAttempt(ctx(), fmt.Sprint(key, "/", i), []string{key}, base, since, max)
				if err != nil {
					t.Error(err)
				}
				passed <- ok
			}()
		}
		close(start)
		n := 0
		for range attempts {
			if <-passed {
				n++
			}
		}
		if n != max {
			t.Errorf("round %d: %d of %d simultaneous attempts passed a limit of %d", round, n, attempts, max)
		}
	}
}
