package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func mustEnqueue(t *testing.T, s *sqlstore.Store, now time.Time, jobs ...jobqueue.NewJob) {
	t.Helper()
	if err := s.EnqueueJobs(ctx(), now, jobs); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

func mustLeaseJobs(t *testing.T, s *sqlstore.Store, worker string, now time.Time, limit int, kinds ...string) []jobqueue.Job {
	t.Helper()
	jobs, err := s.LeaseJobs(ctx(), worker, kinds, now, time.Minute, limit)
	if err != nil {
		t.Fatalf("lease jobs: %v", err)
	}
	return jobs
}

// payloads returns the jobs' payloads sorted: LeaseJobs takes the oldest
// due jobs, but returns them in no particular order.
func payloads(jobs []jobqueue.Job) []string {
	out := []string{}
	for _, j := range jobs {
		out = append(out, string(j.Payload))
	}
	slices.Sort(out)
	return out
}

func job(kind, payload string) jobqueue.NewJob {
	return jobqueue.NewJob{Kind: kind, Payload: []byte(payload)}
}

// testJobs: jobs are leased when due, oldest due first, by kind, up to
// the limit, one holder at a time.
func testJobs(t *testing.T, h Harness) {
	s := fresh(t, h)
	later := job("a", "later")
	later.RunAt = base.Add(time.Hour)
	short := job("a", "short")
	short.MaxAge = time.Minute
	mustEnqueue(t, s, base, job("a", "first"), later, job("b", "other kind"), short)
	mustEnqueue(t, s, base.Add(-time.Second), job("a", "due earlier"))
	// A batch with a bad job is refused whole.
	if err := s.EnqueueJobs(ctx(), base, []jobqueue.NewJob{job("a", "lost"), {Payload: []byte("no kind")}}); err == nil {
		t.Error("a job without a kind was accepted")
	}
	if jobs, err := s.LeaseJobs(ctx(), "w", nil, base, time.Minute, 10); err != nil || jobs != nil {
		t.Errorf("lease of no kinds = %v, %v", jobs, err)
	}
	got := mustLeaseJobs(t, s, "w1", base, 2, "a")
	if want := []string{"due earlier", "first"}; !slices.Equal(payloads(got), want) {
		t.Errorf("leased %v, want %v (oldest due first, up to the limit)", payloads(got), want)
	}
	i := slices.IndexFunc(got, func(j jobqueue.Job) bool { return string(j.Payload) == "first" })
	if i < 0 {
		t.Fatal("the job due at base was not leased")
	}
	first := got[i]
	if first.Kind != "a" || first.Attempt != 1 || first.LastError != "" || !first.CreatedAt.Equal(base) || !first.GiveUpAt.Equal(base.Add(jobqueue.DefaultMaxAge)) {
		t.Errorf("leased job = %+v", first)
	}
	got = mustLeaseJobs(t, s, "w2", base, 10, "a")
	if !slices.Equal(payloads(got), []string{"short"}) || !got[0].GiveUpAt.Equal(base.Add(time.Minute)) {
		t.Errorf("second lease = %+v; want the rest that is due: not the leased, the later or the refused", got)
	}
	if got := mustLeaseJobs(t, s, "w3", base, 10, "b", "c"); !slices.Equal(payloads(got), []string{"other kind"}) {
		t.Errorf("lease of kind b = %v", payloads(got))
	}
	testJobHolder(t, s)
}

// testJobHolder: extend, retry, fail and complete act only for the job's
// holder; a lease that ran out passes to the next worker, who then holds
// the job.
func testJobHolder(t *testing.T, s *sqlstore.Store) {
	mustEnqueue(t, s, base, job("h", "held"))
	got := mustLeaseJobs(t, s, "w1", base, 10, "h")
	if len(got) != 1 {
		t.Fatalf("leased %v", payloads(got))
	}
	id := got[0].ID
	if ok, err := s.ExtendJobLease(ctx(), id, "w2", base.Add(time.Hour)); err != nil || ok {
		t.Errorf("another worker extended the lease: %v, %v", ok, err)
	}
	if ok, err := s.ExtendJobLease(ctx(), id, "w1", base.Add(2*time.Minute)); err != nil || !ok {
		t.Errorf("the holder could not extend: %v, %v", ok, err)
	}
	if got := mustLeaseJobs(t, s, "w2", base.Add(90*time.Second), 10, "h"); len(got) != 0 {
		t.Errorf("an extended lease was taken over: %v", payloads(got))
	}
	if got := mustLeaseJobs(t, s, "w2", base.Add(2*time.Minute), 10, "h"); len(got) != 1 || got[0].Attempt != 2 {
		t.Fatalf("after the lease ran out: %+v; want the job, attempt 2", got)
	}
	if ok, _ := s.ExtendJobLease(ctx(), id, "w1", base.Add(time.Hour)); ok {
		t.Error("the worker that lost the lease extended it")
	}
	// The first holder's late calls do nothing.
	for _, err := range []error{
		s.RetryJob(ctx(), id, "w1", base, "not mine"),
		s.FailJob(ctx(), id, "w1", base, "not mine"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.CompleteJob(ctx(), id, "w1"); err != nil || ok {
		t.Fatalf("CompleteJob by the worker that lost the lease = %v, %v; want false (nothing deleted)", ok, err)
	}
	if ok, _ := s.ExtendJobLease(ctx(), id, "w2", base.Add(3*time.Minute)); !ok {
		t.Fatal("the job was released or failed by a worker that no longer held it")
	}
	if err := s.RetryJob(ctx(), id, "w2", base.Add(5*time.Minute), "GitLab answered 502"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.ExtendJobLease(ctx(), id, "w2", base.Add(time.Hour)); ok {
		t.Error("a released job's lease was extended")
	}
	if got := mustLeaseJobs(t, s, "w3", base.Add(4*time.Minute), 10, "h"); len(got) != 0 {
		t.Error("a retried job ran before its time")
	}
	got = mustLeaseJobs(t, s, "w3", base.Add(5*time.Minute), 10, "h")
	if len(got) != 1 || got[0].Attempt != 3 || got[0].LastError != "GitLab answered 502" {
		t.Fatalf("retried job = %+v; want attempt 3 with the last error", got)
	}
	if ok, err := s.CompleteJob(ctx(), id, "w3"); err != nil || !ok {
		t.Fatalf("CompleteJob by its holder = %v, %v; want true", ok, err)
	}
	if got := mustLeaseJobs(t, s, "w4", base.Add(24*time.Hour), 10, "h"); len(got) != 0 {
		t.Error("a completed job ran again")
	}
	// At start, an exclusive database releases every lease at once.
	mustEnqueue(t, s, base, job("c", "1"), job("c", "2"))
	mustLeaseJobs(t, s, "dead", base, 10, "c")
	if n, err := s.ReleaseJobLeases(ctx()); err != nil || n < 2 {
		t.Errorf("ReleaseJobLeases = %d, %v", n, err)
	}
	if got := mustLeaseJobs(t, s, "w5", base, 10, "c"); len(got) != 2 || got[0].Attempt != 2 {
		t.Errorf("after the release: %+v", got)
	}
}

// testFailedJobs: a failed job stays for operators, newest first, and
// frees its dedupe key; a pending key keeps one job.
func testFailedJobs(t *testing.T, h Harness) {
	s := fresh(t, h)
	once := jobqueue.NewJob{Kind: "x", Payload: []byte("1"), DedupeKey: "delivery:1"}
	mustEnqueue(t, s, base, once, once, job("y", "2"))
	got := mustLeaseJobs(t, s, "w", base, 10, "x", "y")
	if len(got) != 2 {
		t.Fatalf("leased %v; want the deduplicated job once and the other", payloads(got))
	}
	mustEnqueue(t, s, base, once) // still pending: skipped
	for i, j := range got {
		if err := s.FailJob(ctx(), j.ID, "w", base.Add(time.Duration(i)*time.Minute), "bad "+j.Kind); err != nil {
			t.Fatal(err)
		}
	}
	failed, err := s.FailedJobs(ctx(), "", 10)
	if err != nil || len(failed) != 2 {
		t.Fatalf("FailedJobs = %+v, %v", failed, err)
	}
	want := jobqueue.FailedJob{Job: jobqueue.Job{ID: got[1].ID, Kind: "y", Payload: []byte("2"), Attempt: 1, CreatedAt: base,
		GiveUpAt: base.Add(jobqueue.DefaultMaxAge), LastError: "bad y"}, FailedAt: base.Add(time.Minute)}
	if !reflect.DeepEqual(failed[0], want) || failed[1].Kind != "x" {
		t.Errorf("FailedJobs = %+v\nwant %+v first", failed, want)
	}
	if failed, _ := s.FailedJobs(ctx(), "x", 10); len(failed) != 1 || failed[0].LastError != "bad x" {
		t.Errorf("failed jobs of kind x = %+v", failed)
	}
	if failed, _ := s.FailedJobs(ctx(), "", 1); len(failed) != 1 || failed[0].Kind != "y" {
		t.Errorf("one failed job = %+v", failed)
	}
	if got := mustLeaseJobs(t, s, "w", base.Add(time.Hour), 10, "x", "y"); len(got) != 0 {
		t.Errorf("failed jobs leased again: %v", payloads(got))
	}
	mustEnqueue(t, s, base, once) // the key is free again
	if got := mustLeaseJobs(t, s, "w", base, 10, "x"); len(got) != 1 || got[0].Attempt != 1 {
		t.Errorf("after the failure the key takes a new job: %+v", got)
	}
}

// testJobLeaseRace: two servers leasing at once hand every job out once.
func testJobLeaseRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const n = 60
	var jobs []jobqueue.NewJob
	for i := range n {
		jobs = append(jobs, job("k", fmt.Sprint(i)))
	}
	mustEnqueue(t, s1, base, jobs...)
	claimRace(t, s1, s2, 6, n, func(s *sqlstore.Store, worker int) ([]string, error) {
		got, err := s.LeaseJobs(ctx(), fmt.Sprint("w", worker), []string{"k"}, base, time.Hour, 4)
		return payloads(got), err
	})
}
