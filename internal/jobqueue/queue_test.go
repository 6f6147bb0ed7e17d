package jobqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// forEachDB runs fn as a parallel subtest on SQLite and on PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Open(t, d))
		})
	}
}

// setup returns a queue on s with fast retries and no polling to speak of,
// so a job that runs quickly was woken, not polled; stopped at the end.
func setup(t *testing.T, s *sqlstore.Store, tweak func(*jobqueue.Config)) *jobqueue.Queue {
	t.Helper()
	cfg := jobqueue.Config{Store: s, PollInterval: time.Hour, Backoff: func(int) time.Duration { return time.Millisecond }}
	if tweak != nil {
		tweak(&cfg)
	}
	q := jobqueue.New(cfg)
	t.Cleanup(q.Stop)
	return q
}

func start(t *testing.T, q *jobqueue.Queue) {
	t.Helper()
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

func TestWakeRunsAJobAtOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		got := make(chan jobqueue.Job, 1)
		q.Register("greet", func(_ context.Context, j jobqueue.Job) error { got <- j; return nil })
		start(t, q)
		began := time.Now()
		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "greet", Payload: []byte(`{"name":"ana"}`)}); err != nil {
			t.Fatal(err)
		}
		j := waitFor(t, got, "the job")
		if string(j.Payload) != `{"name":"ana"}` || j.Attempt != 1 || j.LastError != "" {
			t.Errorf("job = %+v, want the payload on attempt 1", j)
		}
		// The poll interval is an hour: only the wake-up explains this (the
		// bound is loose because a loaded CI machine may be slow, not late).
		if d := time.Since(began); d > 10*time.Second {
			t.Errorf("job ran %v after Enqueue", d)
		}
		waitGone(t, s, j.ID)
	})
}

// waitGone polls until a completed job's row is deleted.
func waitGone(t *testing.T, s *sqlstore.Store, id int64) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, fmt.Sprintf("job %d to be deleted", id), func() error {
		var n int
		if err := s.DB().QueryRow(rebind(s, "SELECT COUNT(*) FROM jobs WHERE id = ?"), id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			return errors.New("still stored")
		}
		return nil
	})
}

func rebind(s *sqlstore.Store, q string) string {
	if s.Dialect() != "postgres" {
		return q
	}
	n := 0
	out := []byte{}
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = fmt.Appendf(out, "$%d", n)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

func TestRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		done := make(chan jobqueue.Job, 1)
		q.Register("flaky", func(_ context.Context, j jobqueue.Job) error {
			if j.Attempt < 3 {
				return fmt.Errorf("GitLab answered 502 (attempt %d)", j.Attempt)
			}
			done <- j
			return nil
		})
		start(t, q)
		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "flaky", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		j := waitFor(t, done, "the third attempt")
		if j.Attempt != 3 || j.LastError != "GitLab answered 502 (attempt 2)" {
			t.Errorf("attempt %d saw last error %q", j.Attempt, j.LastError)
		}
	})
}

func TestPermanentAndExpiredFailuresStayVisible(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		var calls atomic.Int32
		q.Register("bad", func(context.Context, jobqueue.Job) error {
			calls.Add(1)
			return jobqueue.Permanent(errors.New("payload names no delivery"))
		})
		q.Register("old", func(context.Context, jobqueue.Job) error { calls.Add(1); return errors.New("still down") })
		gaveUp := make(chan string, 2)
		for _, kind := range []string{"bad", "old"} {
			q.OnFail(kind, func(_ context.Context, j jobqueue.Job, err error) { gaveUp <- j.Kind + ": " + err.Error() })
		}
		start(t, q)
		err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "bad", Payload: []byte(`{}`)},
			jobqueue.NewJob{Kind: "old", Payload: []byte(`{}`), MaxAge: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 10*time.Second, "both jobs to fail", func() error {
			failed, err := s.FailedJobs(t.Context(), "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 2 {
				return fmt.Errorf("failed jobs = %+v", failed)
			}
			msgs := map[string]string{failed[0].Kind: failed[0].LastError, failed[1].Kind: failed[1].LastError}
			if msgs["bad"] != "payload names no delivery" || msgs["old"] != "still down" {
				t.Errorf("failed jobs = %+v", failed)
			}
			return nil
		})
		if n := calls.Load(); n != 2 {
			t.Errorf("handlers ran %d times, want once each", n)
		}
		told := map[string]bool{waitFor(t, gaveUp, "OnFail"): true, waitFor(t, gaveUp, "OnFail"): true}
		if !told["bad: payload names no delivery"] || !told["old: still down"] {
			t.Errorf("OnFail was told %v", told)
		}
	})
}

func TestDedupeKeyKeepsOnePendingJob(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		job := jobqueue.NewJob{Kind: "once", Payload: []byte(`{}`), DedupeKey: "delivery:1"}
		for range 3 {
			if err := q.Enqueue(t.Context(), job); err != nil {
				t.Fatal(err)
			}
		}
		var runs atomic.Int32
		ran := make(chan int64, 4)
		q.Register("once", func(_ context.Context, j jobqueue.Job) error { runs.Add(1); ran <- j.ID; return nil })
		start(t, q)
		waitGone(t, s, waitFor(t, ran, "the job"))
		// Once it is done the key is free again.
		if err := q.Enqueue(t.Context(), job); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ran, "the job enqueued again")
		if n := runs.Load(); n != 2 {
			t.Errorf("ran %d times, want 2", n)
		}
	})
}

func TestStopReleasesRunningJobs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		first := setup(t, s, nil)
		began := make(chan struct{})
		first.Register("slow", func(ctx context.Context, _ jobqueue.Job) error {
			close(began)
			<-ctx.Done()
			return ctx.Err()
		})
		first.Stop() // before Start: a no-op
		start(t, first)
		if err := first.Enqueue(t.Context(), jobqueue.NewJob{Kind: "slow", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, began, "the job to start")
		first.Stop()
		first.Stop() // twice: safe

		second := setup(t, s, nil)
		got := make(chan jobqueue.Job, 1)
		second.Register("slow", func(_ context.Context, j jobqueue.Job) error { got <- j; return nil })
		start(t, second)
		j := waitFor(t, got, "the released job")
		if j.Attempt != 2 || j.LastError != "interrupted: the queue stopped" {
			t.Errorf("released job = %+v", j)
		}
	})
}

// TestDeadWorkersJobsRunAgain: a worker that leased a job and died (it
// never renews) loses it when the lease runs out; an exclusive database
// releases such leases at start.
func TestDeadWorkersJobsRunAgain(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := t.Context()
		now := time.Now()
		if err := s.EnqueueJobs(ctx, now, []jobqueue.NewJob{{Kind: "a", Payload: []byte(`1`)}, {Kind: "b", Payload: []byte(`2`)}}); err != nil {
			t.Fatal(err)
		}
		if jobs, err := s.LeaseJobs(ctx, "dead", []string{"a"}, now, time.Millisecond, 10); err != nil || len(jobs) != 1 {
			t.Fatalf("lease a = %v, %v", jobs, err)
		}
		if jobs, err := s.LeaseJobs(ctx, "dead", []string{"b"}, now, time.Hour, 10); err != nil || len(jobs) != 1 {
			t.Fatalf("lease b = %v, %v", jobs, err)
		}
		if jobs, _ := s.LeaseJobs(ctx, "other", []string{"a", "b"}, now, time.Hour, 10); len(jobs) != 0 {
			t.Fatalf("leased jobs are leased again before expiry: %v", jobs)
		}
		q := setup(t, s, func(c *jobqueue.Config) { c.Exclusive = true })
		got := make(chan string, 2)
		handler := func(_ context.Context, j jobqueue.Job) error { got <- j.Kind; return nil }
		q.Register("a", handler)
		q.Register("b", handler)
		start(t, q)
		seen := map[string]bool{waitFor(t, got, "a job"): true, waitFor(t, got, "another job"): true}
		if !seen["a"] || !seen["b"] {
			t.Errorf("ran %v, want a and b", seen)
		}
	})
}

// TestManyWorkersRunEachJobOnce: two queues (two servers) share the
// database; every job runs exactly once.
func TestManyWorkersRunEachJobOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		const n = 200
		var mu sync.Mutex
		count := map[string]int{}
		all := make(chan struct{})
		handler := func(_ context.Context, j jobqueue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			count[string(j.Payload)]++
			if len(count) == n && count[string(j.Payload)] == 1 {
				close(all)
			}
			return nil
		}
		var queues []*jobqueue.Queue
		for i := range 2 {
			q := setup(t, s, func(c *jobqueue.Config) { c.Workers = 8; c.WorkerID = fmt.Sprintf("w%d", i) })
			q.Register("count", handler)
			start(t, q)
			queues = append(queues, q)
		}
		for i := range n {
			if err := queues[i%2].Enqueue(t.Context(), jobqueue.NewJob{Kind: "count", Payload: fmt.Appendf(nil, "%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, all, "every job")
		for _, q := range queues {
			q.Stop()
		}
		mu.Lock()
		defer mu.Unlock()
		for k, c := range count {
			if c != 1 {
				t.Errorf("job %s ran %d times", k, c)
			}
		}
	})
}

func TestDefaultBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	for attempt, ceiling := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 12: 10 * time.Minute, 99: 10 * time.Minute} {
		for range 50 {
			if d := jobqueue.DefaultBackoff(attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
}

// TestShutdownLetsRunningJobsFinish: a shutting-down queue fetches nothing
// new, the job it runs finishes within the grace, and one that does not is
// released to run again at once.
func TestShutdownLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, s *sqlstore.Store) {
		q := setup(t, s, nil)
		began, finish := make(chan int64, 1), make(chan struct{})
		var runs atomic.Int32
		q.Register("slow", func(ctx context.Context, j jobqueue.Job) error {
			runs.Add(1)
			began <- j.ID
			select {
			case <-finish:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		start(t, q)
		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "slow", Payload: []byte(`1`)}); err != nil {
			t.Fatal(err)
		}
		id := waitFor(t, began, "the job to start")
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			q.Shutdown(t.Context())
		}()
		apptest.Eventually(t, 10*time.Second, "the shutdown to begin", func() error {
			if !jobqueue.ShutdownBegun(q) {
				return errors.New("still fetching")
			}
			return nil
		})
		// Enqueued while the queue shuts down: left for another server.
		if err := q.Enqueue(t.Context(), jobqueue.NewJob{Kind: "slow", Payload: []byte(`2`)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stopped:
			t.Fatal("Shutdown returned before its running job finished")
		case <-time.After(50 * time.Millisecond):
		}
		close(finish)
		waitFor(t, stopped, "Shutdown to return")
		waitGone(t, s, id)
		if n := runs.Load(); n != 1 {
			t.Errorf("%d jobs ran, want only the one running when the shutdown began", n)
		}

		// A job that outlasts the grace is released for the next server.
		second := setup(t, s, nil)
		second.Register("slow", func(ctx context.Context, j jobqueue.Job) error {
			began <- j.ID
			<-ctx.Done()
			return ctx.Err()
		})
		start(t, second)
		waitFor(t, began, "the second job to start")
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		second.Shutdown(ctx)
		third := setup(t, s, nil)
		got := make(chan jobqueue.Job, 1)
		third.Register("slow", func(_ context.Context, j jobqueue.Job) error { got <- j; return nil })
		start(t, third)
		if j := waitFor(t, got, "the released job"); j.Attempt != 2 || j.LastError != "interrupted: the queue stopped" {
			t.Errorf("released job = %+v", j)
		}
	})
}
