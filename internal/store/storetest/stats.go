package storetest

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
)

// testBacklogs: the reads of a metrics scrape count jobs, open GitLab
// writes and runs as they are, and a transition tells when the run
// entered the state it left.
func testBacklogs(t *testing.T, h Harness) {
	s := fresh(t, h)
	if jobs, err := s.JobBacklog(ctx()); err != nil || len(jobs) != 0 {
		t.Errorf("backlog of an empty queue = %+v, %v", jobs, err)
	}
	if ws, err := s.WriteBacklog(ctx()); err != nil || len(ws) != 0 {
		t.Errorf("backlog of an empty outbox = %+v, %v", ws, err)
	}
	if n, err := s.CountRunsByState(ctx()); err != nil || len(n) != 0 {
		t.Errorf("runs of an empty database = %v, %v", n, err)
	}

	mustEnqueue(t, s, base, job("a", "1"))
	mustEnqueue(t, s, base.Add(-time.Minute), job("a", "2"), job("b", "3"))
	failed := mustLeaseJobs(t, s, "w", base, 1, "b")
	if err := s.FailJob(ctx(), failed[0].ID, "w", base, "boom"); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.JobBacklog(ctx())
	want := []jobqueue.Backlog{{Kind: "a", Queued: 2, Oldest: base.Add(-time.Minute)}, {Kind: "b", Failed: 1}}
	if err != nil || !reflect.DeepEqual(jobs, want) {
		t.Errorf("job backlog = %+v, %v\nwant %+v", jobs, err, want)
	}

	key := feedback.StatusKey("gl", "acme/infra", "a1", "hoist/web")
	ws := []feedback.Write{statusWrite("gl", "r1", key, 1, base), statusWrite("gl", "r1", key, 2, base)}
	ws[1].CreatedAt = base.Add(time.Second)
	if err := s.EnqueueWrites(ctx(), ws); err != nil {
		t.Fatal(err)
	}
	claimed := mustClaimKeys(t, s, "o", base, 1)
	pending, _ := mustPending(t, s, claimed[0])
	mustResolve(t, s, key, "o", []feedback.Resolution{{ID: pending[0].ID, State: feedback.StateDone, Attempts: 1,
		NextAttemptAt: base}}, nil, base)
	open, err := s.WriteBacklog(ctx())
	if wantW := []feedback.Backlog{{Kind: feedback.KindStatus, Open: 1, Oldest: base.Add(time.Second)}}; err != nil || !reflect.DeepEqual(open, wantW) {
		t.Errorf("write backlog = %+v, %v\nwant %+v", open, err, wantW)
	}

	mustRuns(t, s, newRun("r01", "web", run.Tracked, "a1"), newRun("r02", "web", run.Proposed, "a2"))
	ev, err := s.MoveRun(ctx(), run.Move{RunID: "r01", To: run.Ready, At: base.Add(time.Minute), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.From != run.Queued || !ev.Since.Equal(base) || !ev.Run.UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("move event = from %s since %s (updated %s), want QUEUED since %s", ev.From, ev.Since, ev.Run.UpdatedAt, base)
	}
	counts, err := s.CountRunsByState(ctx())
	if wantR := map[run.State]int{run.Queued: 1, run.Ready: 1}; err != nil || !maps.Equal(counts, wantR) {
		t.Errorf("runs by state = %v, %v; want %v", counts, err, wantR)
	}

	handles := s.Handles()
	if handles["write"] != s.DB() || len(handles) > 2 {
		t.Errorf("handles = %v; want the write handle and at most a read pool", handles)
	}
}
