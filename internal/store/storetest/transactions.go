package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

var errRefused = errors.New("refused")

// testTransactions: the store methods called with InTx's context are one
// transaction — a run's creation and the GitLab writes it causes commit
// together or not at all — and an InTx inside another joins it.
func testTransactions(t *testing.T, h Harness) {
	// createWithWrite creates a QUEUED run and its commit status write, as
	// the run service and the outbox do.
	createWithWrite := func(ctx context.Context, s *sqlstore.Store, id string) error {
		r := run.Run{ID: id, StackID: "web", Type: run.Proposed, State: run.Queued, CommitSHA: "a1", CreatedAt: base, UpdatedAt: base}
		if _, err := s.ApplyRunChanges(ctx, run.Changes{At: base, Actor: "test", Create: []run.Run{r}}); err != nil {
			return err
		}
		return s.EnqueueWrites(ctx, []feedback.Write{{IntegrationID: "gl", RunID: id, Kind: feedback.KindStatus,
			Key: feedback.StatusKey("gl", "acme/infra", "a1", "hoist/web"), Ord: id, Rank: 1,
			Payload:       feedback.Payload{Project: "acme/infra", SHA: "a1", Name: "hoist/web", State: "pending"},
			NextAttemptAt: base, CreatedAt: base}})
	}
	// written reports whether the run and its write were committed, failing
	// when only one of them was.
	written := func(t *testing.T, s *sqlstore.Store, id string) bool {
		t.Helper()
		_, err := s.GetRun(ctx(), id)
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			t.Fatal(err)
		}
		ws, werr := s.ListWrites(ctx(), id)
		if werr != nil {
			t.Fatal(werr)
		}
		if (err == nil) != (len(ws) == 1) {
			t.Fatalf("run %s committed: %v, its writes: %d: want both or neither", id, err == nil, len(ws))
		}
		return err == nil
	}

	t.Run("CommitAndRollback", func(t *testing.T) {
		t.Parallel()
		s := fresh(t, h)
		err := s.InTx(ctx(), func(ctx context.Context) error { return createWithWrite(ctx, s, "r-ok") })
		if err != nil || !written(t, s, "r-ok") {
			t.Fatalf("InTx returned %v; want the run and its write committed", err)
		}
		err = s.InTx(ctx(), func(ctx context.Context) error {
			if err := createWithWrite(ctx, s, "r-refused"); err != nil {
				return err
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) || written(t, s, "r-refused") {
			t.Fatalf("InTx returned %v; want %v and neither the run nor its write", err, errRefused)
		}
	})

	t.Run("ReadsSeeTheTransaction", func(t *testing.T) {
		t.Parallel()
		s := fresh(t, h)
		err := s.InTx(ctx(), func(ctx context.Context) error {
			if err := createWithWrite(ctx, s, "r1"); err != nil {
				return err
			}
			if _, err := s.GetRun(ctx, "r1"); err != nil {
				t.Errorf("inside the transaction: %v; want the new run", err)
			}
			if _, err := s.GetRun(context.Background(), "r1"); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("outside the transaction: %v; want NotFound until it commits", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NestedJoins", func(t *testing.T) {
		t.Parallel()
		s := fresh(t, h)
		err := s.InTx(ctx(), func(ctx context.Context) error {
			if err := s.InTx(ctx, func(ctx context.Context) error { return createWithWrite(ctx, s, "r-inner") }); err != nil {
				return err
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) || written(t, s, "r-inner") {
			t.Fatalf("InTx returned %v; want the inner InTx rolled back with the outer one", err)
		}
	})

	t.Run("OtherStoresStayOutside", func(t *testing.T) {
		t.Parallel()
		s, other := twoServers(t, h)
		err := s.InTx(ctx(), func(ctx context.Context) error {
			if err := createWithWrite(ctx, s, "r1"); err != nil {
				return err
			}
			// The transaction in ctx is s's: another store (another server)
			// reads committed data only.
			if _, err := other.GetRun(ctx, "r1"); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("another store read an uncommitted run: %v", err)
			}
			return nil
		})
		if err != nil || !written(t, other, "r1") {
			t.Fatalf("InTx returned %v; want the run committed", err)
		}
	})

	t.Run("GroupCommit", func(t *testing.T) {
		t.Parallel()
		s := fresh(t, h)
		// Members of a group commit: each commits or rolls back alone,
		// whatever the others do (fail, panic), and returns once committed.
		const n = 24
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = s.InGroupTx(ctx(), func(ctx context.Context) error {
					if err := createWithWrite(ctx, s, fmt.Sprintf("r%02d", i)); err != nil {
						return err
					}
					switch i % 6 {
					case 1:
						return errRefused
					case 2:
						panic("member panics")
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			want := i%6 != 1 && i%6 != 2
			if got := written(t, s, fmt.Sprintf("r%02d", i)); got != want || (err == nil) != want {
				t.Errorf("member %d: InGroupTx = %v, committed %v; want committed %v", i, err, got, want)
			}
			if i%6 == 1 && !errors.Is(err, errRefused) {
				t.Errorf("member %d: InGroupTx = %v; want its own error", i, err)
			}
		}
		// A member alone in its group (no savepoint) likewise: its own
		// error, nothing written; a panic is an error; success commits.
		for _, tc := range []struct {
			id   string
			fail func() error
		}{{"r-alone-refused", func() error { return errRefused }}, {"r-alone-panics", func() error { panic("alone") }}, {"r-alone", nil}} {
			err := s.InGroupTx(ctx(), func(ctx context.Context) error {
				if err := createWithWrite(ctx, s, tc.id); err != nil || tc.fail == nil {
					return err
				}
				return tc.fail()
			})
			if want := tc.fail == nil; written(t, s, tc.id) != want || (err == nil) != want {
				t.Errorf("%s: InGroupTx = %v; want committed %v", tc.id, err, want)
			}
			if tc.id == "r-alone-refused" && !errors.Is(err, errRefused) {
				t.Errorf("%s: InGroupTx = %v; want its own error", tc.id, err)
			}
		}
		// Inside InTx it joins that transaction and rolls back with it.
		err := s.InTx(ctx(), func(ctx context.Context) error {
			if err := s.InGroupTx(ctx, func(ctx context.Context) error { return createWithWrite(ctx, s, "r-joined") }); err != nil {
				return err
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) || written(t, s, "r-joined") {
			t.Fatalf("InTx returned %v; want the joined InGroupTx rolled back with it", err)
		}
		// A caller that gave up before its turn writes nothing.
		canceled, cancel := context.WithCancel(ctx())
		cancel()
		if err := s.InGroupTx(canceled, func(ctx context.Context) error { return createWithWrite(ctx, s, "r-canceled") }); err == nil ||
			written(t, s, "r-canceled") {
			t.Fatalf("InGroupTx with a canceled context = %v; want an error and nothing written", err)
		}
	})

	t.Run("IdlePassTakesNoWriter", func(t *testing.T) {
		t.Parallel()
		s := fresh(t, h)
		err := s.InTx(ctx(), func(ctx context.Context) error {
			if _, err := s.PromoteQueued(ctx, base); err != nil {
				return err
			}
			if _, ok, err := s.LeaseRun(ctx, run.Lease{Pool: run.EmbeddedPool, Owner: "w", LeaseID: "l", At: base, TTL: time.Minute}); err != nil || ok {
				return errors.Join(err, errors.New("leased a run from an empty database"))
			}
			// Had the transaction begun, SQLite's one writer connection
			// would be held here and this write would time out.
			other, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.CreateSpace(other, space.Space{ID: "other", Name: "other", ParentID: space.RootID, CreatedAt: base, UpdatedAt: base})
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
