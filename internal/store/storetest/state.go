package storetest

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// testStateVersions: every version of a stack's state is kept, the
// newest one is read with its sealed body, and the list pages newest first.
func testStateVersions(t *testing.T, h Harness) {
	s := fresh(t, h)
	_, _, err := s.LatestStateVersion(ctx(), "web")
	wantCode(t, err, apperr.NotFound)
	var made []state.Version
	for i, stackID := range []string{"web", "web", "api", "web"} {
		v := state.Version{StackID: stackID, Serial: int64(i + 1), Lineage: "L1", RunID: fmt.Sprint("r", i), Size: 100,
			CreatedAt: base.Add(time.Duration(i) * time.Minute).Add(time.Nanosecond)} // stored to the microsecond
		got, err := s.CreateStateVersion(ctx(), v, []byte(fmt.Sprint("sealed ", i)))
		if err != nil {
			t.Fatal(err)
		}
		v.ID, v.CreatedAt = got.ID, v.CreatedAt.Truncate(time.Microsecond)
		if !reflect.DeepEqual(got, v) || (i > 0 && got.ID <= made[i-1].ID) {
			t.Errorf("CreateStateVersion = %+v, want %+v with a new, larger id", got, v)
		}
		made = append(made, got)
	}
	v, body, err := s.LatestStateVersion(ctx(), "web")
	if err != nil || !reflect.DeepEqual(v, made[3]) || string(body) != "sealed 3" {
		t.Errorf("LatestStateVersion = %+v, %q, %v", v, body, err)
	}
	var got []state.Version
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		page, next, err := s.ListStateVersions(ctx(), "web", cursor, 2)
		if err != nil || len(page) > 2 {
			t.Fatalf("page %d: %+v, %v", pages, page, err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []state.Version{made[3], made[1], made[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListStateVersions = %+v\nwant %+v", got, want)
	}
	// Not base64, and another list's cursor (a run id).
	for _, bad := range []string{"%%", base64.RawURLEncoding.EncodeToString([]byte("r1"))} {
		_, _, err := s.ListStateVersions(ctx(), "web", bad, 2)
		wantField(t, err, "cursor")
	}
}

// testStateLocks: one lock per stack; a second locker learns who holds
// it, also when many lock at once; only the holder's id unlocks.
func testStateLocks(t *testing.T, h Harness) {
	s := fresh(t, h)
	l1 := state.Lock{StackID: "web", ID: "lock-1", Info: []byte(`{"ID":"lock-1","Who":"tracked"}`), RunID: "r1", CreatedAt: base}
	if held, ok, err := s.LockState(ctx(), l1); err != nil || !ok || !reflect.DeepEqual(held, state.Lock{}) {
		t.Fatalf("LockState = %+v, %v, %v", held, ok, err)
	}
	l2 := state.Lock{StackID: "web", ID: "lock-2", Info: []byte(`{}`), RunID: "r2", CreatedAt: base.Add(time.Minute)}
	if held, ok, err := s.LockState(ctx(), l2); err != nil || ok || !reflect.DeepEqual(held, l1) {
		t.Errorf("second LockState = %+v, %v, %v; want the first lock", held, ok, err)
	}
	if got, err := s.GetStateLock(ctx(), "web"); err != nil || !reflect.DeepEqual(got, l1) {
		t.Errorf("GetStateLock = %+v, %v", got, err)
	}
	_, err := s.GetStateLock(ctx(), "api")
	wantCode(t, err, apperr.NotFound)
	other := state.Lock{StackID: "api", ID: "lock-1", Info: []byte(`{}`), RunID: "r3", CreatedAt: base}
	if _, ok, err := s.LockState(ctx(), other); err != nil || !ok {
		t.Errorf("lock of another stack = %v, %v", ok, err)
	}
	for _, tc := range []struct {
		stack, id string
		want      bool
	}{{"web", "lock-2", false}, {"web", "lock-1", true}, {"web", "lock-1", false}, {"nope", "lock-1", false}} {
		if ok, err := s.UnlockState(ctx(), tc.stack, tc.id); err != nil || ok != tc.want {
			t.Errorf("UnlockState(%s, %s) = %v, %v; want %v", tc.stack, tc.id, ok, err, tc.want)
		}
	}
	if _, ok, err := s.LockState(ctx(), l2); err != nil || !ok {
		t.Errorf("lock after unlock = %v, %v", ok, err)
	}
}

// testStateLockRace: two servers locking one stack at once — exactly one
// gets the lock, the others are told who holds it rather than failing.
func testStateLockRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const n = 8
	type result struct {
		held state.Lock
		ok   bool
		err  error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := []*sqlstore.Store{s1, s2}[i%2]
			l := state.Lock{StackID: "web", ID: fmt.Sprint("lock-", i), Info: []byte(`{}`), RunID: fmt.Sprint("r", i), CreatedAt: base}
			r := &results[i]
			r.held, r.ok, r.err = s.LockState(ctx(), l)
		})
	}
	wg.Wait()
	winner, err := s1.GetStateLock(ctx(), "web")
	if err != nil {
		t.Fatal(err)
	}
	won := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("locker %d: %v; want the lock or its holder", i, r.err)
		case r.ok:
			won++
		case r.held.ID != winner.ID:
			t.Errorf("locker %d was told %s holds the lock; %s does", i, r.held.ID, winner.ID)
		}
	}
	if won != 1 {
		t.Errorf("%d lockers got the lock", won)
	}
}
