package jobqueue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// countKind counts the jobs of a kind, failed ones included.
func countKind(t *testing.T, s *sqlstore.Store, kind string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(rebind(s, "SELECT COUNT(*) FROM jobs WHERE kind = ?"), kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A handler that completes its job in its own transaction commits the job's
// end with its work; a worker that lost the lease commits neither.
func TestCompleteInTheHandlersTransaction(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		results := make(chan error, 2)
		q.Register("work", func(ctx context.Context, j jobqueue.Job) error {
			if string(j.Payload) == "stolen" {
				// Another worker takes the job over, as after a lease that
				// ran out unnoticed.
				if _, err := s.ReleaseJobLeases(ctx); err != nil {
					return err
				}
				if got, err := s.LeaseJobs(ctx, "thief", []string{"work"}, time.Now(), time.Hour, 1); err != nil || len(got) != 1 {
					return errors.Join(errors.New("steal the lease"), err)
				}
			}
			err := s.InTx(ctx, func(ctx context.Context) error {
				// The work: here another job, written in the same transaction.
				if err := s.EnqueueJobs(ctx, time.Now(), []jobqueue.NewJob{{Kind: "effect-" + string(j.Payload)}}); err != nil {
					return err
				}
				return j.Complete(ctx)
			})
			results <- err
			return err
		})
		start(t, q)
		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "work", Payload: []byte("mine")}); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(t, results, "the first job"); err != nil {
			t.Fatalf("complete in the transaction: %v", err)
		}
		if n := countKind(t, s, "work"); n != 0 {
			t.Errorf("%d work jobs left; want the completed one deleted", n)
		}
		if n := countKind(t, s, "effect-mine"); n != 1 {
			t.Errorf("the work's write committed %d times; want once", n)
		}

		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "work", Payload: []byte("stolen")}); err != nil {
			t.Fatal(err)
		}
		if err := waitFor(t, results, "the stolen job"); !errors.Is(err, jobqueue.ErrLeaseLost) {
			t.Fatalf("complete after the lease was lost = %v; want ErrLeaseLost", err)
		}
		if n := countKind(t, s, "effect-stolen"); n != 0 {
			t.Error("a worker that lost the lease committed its work")
		}
		if n := countKind(t, s, "work"); n != 1 {
			t.Errorf("%d work jobs; want the stolen one kept for its new holder", n)
		}
	})
}

// Jobs completed in group-committed transactions (sqlstore's InGroupTx, as
// webhook processing does): each member's job ends with its work, and a
// member whose worker lost the lease commits nothing while the others of
// its group commit.
func TestCompleteInAGroupCommit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		const jobs = 4
		q := setup(t, s, func(c *jobqueue.Config) { c.Workers = jobs })
		arrived := make(chan struct{}, jobs)
		all := make(chan struct{})
		results := make(chan error, jobs)
		q.Register("work", func(ctx context.Context, j jobqueue.Job) error {
			if string(j.Payload) == "stolen" {
				// Another worker holds the job now, as after a lease that
				// ran out unnoticed.
				if _, err := s.DB().ExecContext(ctx, rebind(s, "UPDATE jobs SET locked_by = 'thief' WHERE id = ?"), j.ID); err != nil {
					return err
				}
			}
			// Every handler commits at once, so their transactions group.
			arrived <- struct{}{}
			<-all
			err := s.InGroupTx(ctx, func(ctx context.Context) error {
				if err := s.EnqueueJobs(ctx, time.Now(), []jobqueue.NewJob{{Kind: "effect-" + string(j.Payload)}}); err != nil {
					return err
				}
				return j.Complete(ctx)
			})
			results <- err
			return err
		})
		payloads := []string{"a", "b", "stolen", "c"}
		for _, p := range payloads {
			if err := s.EnqueueJobs(t.Context(), time.Now(), []jobqueue.NewJob{{Kind: "work", Payload: []byte(p)}}); err != nil {
				t.Fatal(err)
			}
		}
		start(t, q)
		for range jobs {
			waitFor(t, arrived, "the handlers")
		}
		close(all)
		lost := 0
		for range jobs {
			if err := waitFor(t, results, "a handler's commit"); errors.Is(err, jobqueue.ErrLeaseLost) {
				lost++
			} else if err != nil {
				t.Fatalf("complete in a group: %v", err)
			}
		}
		if lost != 1 {
			t.Errorf("%d handlers lost their lease; want the stolen one", lost)
		}
		for _, p := range payloads {
			want := 1
			if p == "stolen" {
				want = 0
			}
			if n := countKind(t, s, "effect-"+p); n != want {
				t.Errorf("job %s: its work committed %d times; want %d", p, n, want)
			}
		}
		if n := countKind(t, s, "work"); n != 1 {
			t.Errorf("%d work jobs left; want only the stolen one, kept for its new holder", n)
		}
	})
}
