package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// TestGroupCommitSharesOneTransaction: on SQLite, InGroupTx calls that
// arrive while a group commits wait and then run in one transaction: each
// member sees the earlier members' writes, none of which is committed
// until the group is. (storetest's GroupCommit checks each member commits
// or rolls back alone, on both databases.)
func TestGroupCommitSharesOneTransaction(t *testing.T) {
	t.Parallel()
	s := dbtest.Open(t, "sqlite")
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.CreateSpace(ctx, space.Space{ID: space.RootID, Name: "root", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
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

	// A first caller leads a group of its own and holds it open, so the
	// members queue behind it.
	started, release := make(chan struct{}), make(chan struct{})
	led := make(chan error, 1)
	go func() {
		led <- s.InGroupTx(ctx, func(context.Context) error { close(started); <-release; return nil })
	}()
	<-started
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
	deadline := time.Now().Add(10 * time.Second)
	for s.GroupWaiting() != members {
		if time.Now().After(deadline) {
			t.Fatalf("%d members waiting; want %d", s.GroupWaiting(), members)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-led; err != nil {
		t.Fatal(err)
	}
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
