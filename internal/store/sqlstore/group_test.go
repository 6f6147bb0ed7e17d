package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// TestGroupCommitSharesOneTransaction: on SQLite, InGroupTx calls that
// arrive while a group commits wait and then run in one transaction: each
// member sees the earlier members' writes, none of which is committed
// until the group is. (storetest's GroupCommit checks each member commits
// or rolls back alone, on both databases.)
func TestGroupCommitSharesOneTransaction(t *testing.T) {
	t.Parallel()
	s, at := groupStore(t)
	ctx := t.Context()
	const members = 8
	ids := make([]string, members)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
	}
	// count counts the members' spaces the reads of ctx see.
	count := func(ctx context.Context) (int, error) {
		n := 0
		for _, id := range ids {
			_, err := s.GetSpace(ctx, id)
			switch {
			case err == nil:
				n++
			case !apperr.Is(err, apperr.NotFound):
				return 0, err
			}
		}
		return n, nil
	}

	release := holdGroup(t, s)
	var wg sync.WaitGroup
	seen := make([]int, members)
	committed := make([]int, members)
	errs := make([]error, members)
	for i, id := range ids {
		wg.Go(func() {
			errs[i] = s.InGroupTx(ctx, func(ctx context.Context) error {
				if err := s.CreateSpace(ctx, space.Space{ID: id, Name: id, ParentID: space.RootID, CreatedAt: at, UpdatedAt: at}); err != nil {
					return err
				}
				var err error
				if seen[i], err = count(ctx); err != nil {
					return err
				}
				committed[i], err = count(context.Background())
				return err
			})
		})
	}
	release(members)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	// Member k of the group sees itself and the k-1 before it.
	slices.Sort(seen)
	for k, n := range seen {
		if n != k+1 {
			t.Fatalf("members saw %v of the group's spaces; want 1…%d: one transaction", seen, members)
		}
	}
	if slices.Max(committed) != 0 {
		t.Errorf("committed before the group ended: %v", committed)
	}
	if n, err := count(ctx); err != nil || n != members {
		t.Errorf("after the group: %d spaces committed, %v; want %d", n, err, members)
	}
}

// TestGroupCommitRerunsAfterAFailure: a group runs its members without
// savepoints; when one fails, nothing of that pass is written and the
// group runs again with a savepoint per member, so that only the failing
// one rolls back. A group whose members all succeed runs each once.
func TestGroupCommitRerunsAfterAFailure(t *testing.T) {
	t.Parallel()
	s, at := groupStore(t)
	ctx := t.Context()
	errRefused := errors.New("refused")
	for _, tc := range []struct {
		name     string
		failing  int // the member that fails; -1: none
		wantRuns int // of the failing member, or of each
	}{
		{"all succeed", -1, 1},
		{"one fails", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const members = 4
			release := holdGroup(t, s)
			var runs [members]atomic.Int32
			errs := make([]error, members)
			var wg sync.WaitGroup
			for i := range members {
				id := fmt.Sprintf("%s-%d", strings.ReplaceAll(tc.name, " ", "-"), i)
				wg.Go(func() {
					errs[i] = s.InGroupTx(ctx, func(ctx context.Context) error {
						runs[i].Add(1)
						if err := s.CreateSpace(ctx, space.Space{ID: id, Name: id, ParentID: space.RootID, CreatedAt: at, UpdatedAt: at}); err != nil {
							return err
						}
						if i == tc.failing {
							return errRefused
						}
						return nil
					})
				})
			}
			release(members)
			wg.Wait()
			for i := range members {
				id := fmt.Sprintf("%s-%d", strings.ReplaceAll(tc.name, " ", "-"), i)
				_, err := s.GetSpace(ctx, id)
				if want := i != tc.failing; (err == nil) != want || (errs[i] == nil) != want {
					t.Errorf("member %d: InGroupTx = %v, space read %v; want committed %v", i, errs[i], err, want)
				}
				if i == tc.failing && !errors.Is(errs[i], errRefused) {
					t.Errorf("member %d: InGroupTx = %v; want its own error", i, errs[i])
				}
				// After a failure the members up to it (in the group's
				// order) run again, those after it once.
				if n := int(runs[i].Load()); n != tc.wantRuns && (tc.failing < 0 || i == tc.failing || n != 1) {
					t.Errorf("member %d ran %d times; want %d", i, n, tc.wantRuns)
				}
			}
		})
	}
}

// groupStore is a new SQLite store with its root space, and that space's
// time.
func groupStore(t *testing.T) (*sqlstore.Store, time.Time) {
	t.Helper()
	s := dbtest.Open(t, "sqlite")
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.CreateSpace(t.Context(), space.Space{ID: space.RootID, Name: "root", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	return s, at
}

// holdGroup has a first caller lead a group of its own and hold it open,
// so that the callers after it queue for the next group; release(n) waits
// until n wait, then lets the group go.
func holdGroup(t *testing.T, s *sqlstore.Store) (release func(n int)) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	led := make(chan error, 1)
	go func() {
		led <- s.InGroupTx(t.Context(), func(context.Context) error { close(started); <-hold; return nil })
	}()
	<-started
	return func(n int) {
		t.Helper()
		apptest.Eventually(t, 10*time.Second, "the members to queue", func() bool { return s.GroupWaiting() == n })
		close(hold)
		if err := <-led; err != nil {
			t.Fatal(err)
		}
	}
}
