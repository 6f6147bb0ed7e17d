package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/webhook"
)

func mustClaim(t *testing.T, s *sqlstore.Store, id string, n int, at time.Time) webhook.Delivery {
	t.Helper()
	d, err := s.ClaimDelivery(ctx(), id, n, at)
	if err != nil {
		t.Fatalf("claim processing %d of %s: %v", n, id, err)
	}
	return d
}

func mustFinish(t *testing.T, s *sqlstore.Store, o webhook.Outcome, c run.Changes) run.Applied {
	t.Helper()
	a, err := s.FinishDelivery(ctx(), o, c)
	if err != nil {
		t.Fatalf("finish processing %d of %s: %v", o.Processing, o.ID, err)
	}
	return a
}

func mustGetDelivery(t *testing.T, s *sqlstore.Store, id string) webhook.Delivery {
	t.Helper()
	d, err := s.GetDelivery(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testDeliveryProcessings: a delivery's processing is claimed (an attempt
// more each time), finished with the run changes it implies in one
// transaction, and retried; the delivery shows its latest processing.
func testDeliveryProcessings(t *testing.T, h Harness) {
	s := deliveryFixture(t, h)
	mustDeliver(t, s, newDelivery("d1", "gl", "k1", webhook.Received), newDelivery("d2", "gl", "k2", webhook.Received))
	mustRuns(t, s, newRun("r0", "web", run.Proposed, "old"))
	t1, t2, t3, t4 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second), base.Add(4*time.Second)

	d := mustClaim(t, s, "d1", 0, t1)
	if d.Status != webhook.Processing || d.Attempts != 1 || string(d.Body) != `{"id":"d1"}` {
		t.Errorf("claimed = %s, %d attempts, body %q", d.Status, d.Attempts, d.Body)
	}
	_, err := s.ClaimDelivery(ctx(), "nope", 0, t1)
	wantCode(t, err, apperr.NotFound)
	want := webhook.Pass{Number: 0, Trigger: webhook.TriggerReceived, RequestedAt: base, StartedAt: &t1, Status: webhook.Processing, Attempts: 1}
	if got := mustGetDelivery(t, s, "d1").Processings; !reflect.DeepEqual(got, []webhook.Pass{want}) {
		t.Errorf("processings = %+v\nwant %+v", got, want)
	}

	// A failed attempt to be retried: no end yet, the error shown.
	mustFinish(t, s, webhook.Outcome{ID: "d1", Status: webhook.Processing, Error: "GitLab answered 502", At: t2}, run.Changes{})
	d = mustGetDelivery(t, s, "d1")
	if p := d.Processings[0]; d.Status != webhook.Processing || d.Error != "GitLab answered 502" || p.FinishedAt != nil || p.Error != d.Error {
		t.Errorf("after a failed attempt: %s %q, processing %+v", d.Status, d.Error, p)
	}
	d = mustClaim(t, s, "d1", 0, t3)
	if p := mustGetDelivery(t, s, "d1").Processings[0]; d.Attempts != 2 || p.Attempts != 2 || !p.StartedAt.Equal(t1) {
		t.Errorf("second attempt: delivery %d attempts, processing %+v; want 2, started at the first", d.Attempts, p)
	}

	// The outcome and its run changes commit together.
	r1 := newRun("r1", "web", run.Proposed, "new")
	r1.DeliveryID = "d1"
	result := &webhook.Result{Summary: "push to main: 1 created", RunsCreated: []webhook.RunRef{{ID: "r1", StackID: "web", Type: "PROPOSED"}},
		Stacks: []webhook.StackResult{{StackID: "web", Result: "created", RunID: "r1", Reason: "push"}}}
	a := mustFinish(t, s, webhook.Outcome{ID: "d1", Status: webhook.Processed, Project: "acme/app", Ref: "feature", Result: result, At: t4},
		run.Changes{At: t4, Actor: "gitlab/push:ana", Create: []run.Run{r1}, Cancel: []run.Cancel{{RunID: "r0", States: []run.State{run.Queued}}}})
	if !slices.Equal(a.Created, []string{"r1"}) || !slices.Equal(a.Canceled, []string{"r0"}) {
		t.Errorf("applied = %+v", a)
	}
	d = mustGetDelivery(t, s, "d1")
	if d.Status != webhook.Processed || d.Error != "" || d.Project != "acme/app" || d.Ref != "feature" || d.Result == nil ||
		d.Result.Summary != result.Summary || !slices.Equal(d.Result.RunsCanceled, []string{"r0"}) || !d.UpdatedAt.Equal(t4) {
		t.Errorf("processed delivery = %+v (result %+v); want the outcome, with the canceled runs", d, d.Result)
	}
	if p := d.Processings[0]; p.FinishedAt == nil || !p.FinishedAt.Equal(t4) || p.Status != webhook.Processed || !reflect.DeepEqual(p.Result, d.Result) {
		t.Errorf("finished processing = %+v", p)
	}

	t.Run("outcomes that count their attempt", func(t *testing.T) { testClaimedOutcomes(t, h) })
	t.Run("refused outcomes write nothing", func(t *testing.T) { testRefusedOutcomes(t, s, result) })
	t.Run("redeliveries", func(t *testing.T) { testRedeliveries(t, s) })
}

// testClaimedOutcomes: an outcome with Started counts the attempt it
// ends, as ClaimDelivery would have, in the same writes: processing 0's
// row appears finished, requested when the delivery arrived; a
// redelivery's row, there since it was asked for, takes its start and
// outcome; a retry of either counts one attempt more.
func testClaimedOutcomes(t *testing.T, h Harness) {
	s := deliveryFixture(t, h)
	mustDeliver(t, s, newDelivery("c1", "gl", "k1", webhook.Received))
	t1, t2, t3, t4 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second), base.Add(4*time.Second)
	mustFinish(t, s, webhook.Outcome{ID: "c1", Status: webhook.Processing, Error: "GitLab answered 502", At: t2, Started: t1}, run.Changes{})
	d := mustGetDelivery(t, s, "c1")
	want := webhook.Pass{Number: 0, Trigger: webhook.TriggerReceived, RequestedAt: base, StartedAt: &t1, Status: webhook.Processing,
		Attempts: 1, Error: "GitLab answered 502"}
	if d.Status != webhook.Processing || d.Attempts != 1 || len(d.Processings) != 1 || !reflect.DeepEqual(d.Processings[0], want) {
		t.Errorf("a first attempt's outcome: %s, %d attempts, processings %+v\nwant %+v", d.Status, d.Attempts, d.Processings, want)
	}
	mustFinish(t, s, webhook.Outcome{ID: "c1", Status: webhook.Ignored, Result: &webhook.Result{Summary: "note"}, At: t4, Started: t3}, run.Changes{})
	d = mustGetDelivery(t, s, "c1")
	if p := d.Processings[0]; d.Status != webhook.Ignored || d.Attempts != 2 || p.Attempts != 2 || !p.StartedAt.Equal(t1) ||
		p.FinishedAt == nil || !p.FinishedAt.Equal(t4) || p.Error != "" || p.Result == nil || p.Result.Summary != "note" {
		t.Errorf("a retry's outcome: %s, %d attempts, processing %+v", d.Status, d.Attempts, p)
	}
	job := func(n int) jobqueue.NewJob { return webhook.RedeliverJob("c1", n) }
	if err := s.RedeliverDelivery(ctx(), "c1", "user:admin", t4, job); err != nil {
		t.Fatal(err)
	}
	t5, t6 := base.Add(5*time.Second), base.Add(6*time.Second)
	mustFinish(t, s, webhook.Outcome{ID: "c1", Processing: 1, Status: webhook.Processed, Result: &webhook.Result{Summary: "again"}, At: t6, Started: t5},
		run.Changes{})
	d = mustGetDelivery(t, s, "c1")
	if len(d.Processings) != 2 {
		t.Fatalf("processings after a redelivery = %+v", d.Processings)
	}
	if p := d.Processings[1]; d.Status != webhook.Processed || d.Attempts != 3 || p.Trigger != webhook.TriggerRedelivered ||
		p.RequestedBy != "user:admin" || !p.RequestedAt.Equal(t4) || p.StartedAt == nil || !p.StartedAt.Equal(t5) || p.Attempts != 1 {
		t.Errorf("a redelivery's outcome: %s, %d attempts, processing %+v", d.Status, d.Attempts, p)
	}
	_, err := s.FinishDelivery(ctx(), webhook.Outcome{ID: "nope", Status: webhook.Processed, At: t6, Started: t5}, run.Changes{})
	wantCode(t, err, apperr.NotFound)
}

// testRefusedOutcomes: an outcome whose run changes conflict, or whose
// delivery is gone, writes neither; an outcome without a project keeps
// the stored one.
func testRefusedOutcomes(t *testing.T, s *sqlstore.Store, result *webhook.Result) {
	t1, t2, t3 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second)
	mustClaim(t, s, "d2", 0, t1)
	dup := newRun("r2", "web", run.Proposed, "new")
	dup.DeliveryID = "d2" // the same stack, SHA and type as r1
	_, err := s.FinishDelivery(ctx(), webhook.Outcome{ID: "d2", Status: webhook.Processed, Result: result, At: t2},
		run.Changes{At: t2, Create: []run.Run{dup}})
	wantCode(t, err, apperr.Conflict)
	_, err = s.FinishDelivery(ctx(), webhook.Outcome{ID: "nope", Status: webhook.Processed, At: t2},
		run.Changes{At: t2, Create: []run.Run{newRun("r3", "web", run.Proposed, "x")}})
	wantCode(t, err, apperr.NotFound)
	for _, id := range []string{"r2", "r3"} {
		_, err := s.GetRun(ctx(), id)
		wantCode(t, err, apperr.NotFound)
	}
	if d := mustGetDelivery(t, s, "d2"); d.Status != webhook.Processing || d.Result != nil {
		t.Errorf("d2 after a refused outcome = %+v", d)
	}
	// A job that gave up knows no project: the stored one stays.
	mustFinish(t, s, webhook.Outcome{ID: "d2", Status: webhook.Failed, Error: "gave up", At: t3}, run.Changes{})
	if d := mustGetDelivery(t, s, "d2"); d.Status != webhook.Failed || d.Project != "acme/infra" || d.Ref != "main" {
		t.Errorf("d2 after giving up = %+v", d)
	}
}

// testRedeliveries: a redelivery adds a processing and its job unless one
// waits already; a late older processing does not hide the newer one.
func testRedeliveries(t *testing.T, s *sqlstore.Store) {
	t5, t6, t7 := base.Add(5*time.Second), base.Add(6*time.Second), base.Add(7*time.Second)
	calls := 0
	job := func(n int) jobqueue.NewJob { calls++; return webhook.RedeliverJob("d1", n) }
	wantCode(t, s.RedeliverDelivery(ctx(), "nope", "user:admin", t5, job), apperr.NotFound)
	jobPayloads(t, s, webhook.ProcessKind) // out of the way: only the redelivery's job is due below
	for range 2 {
		if err := s.RedeliverDelivery(ctx(), "d1", "user:admin", t5, job); err != nil {
			t.Fatal(err)
		}
	}
	d := mustGetDelivery(t, s, "d1")
	want := webhook.Pass{Number: 1, Trigger: webhook.TriggerRedelivered, RequestedBy: "user:admin", RequestedAt: t5, Status: webhook.Received}
	if calls != 1 || d.Status != webhook.Received || d.Error != "" || len(d.Processings) != 2 || !reflect.DeepEqual(d.Processings[1], want) {
		t.Fatalf("after redelivering twice: %d jobs, %s, processings %+v; want one new processing waiting", calls, d.Status, d.Processings)
	}
	if got := jobPayloads(t, s, webhook.ProcessKind); !slices.Equal(got, []string{`{"delivery_id":"d1","processing":1}`}) {
		t.Errorf("jobs = %v", got)
	}
	// Processing 0 running again late (a retry) records its own outcome
	// only.
	if d := mustClaim(t, s, "d1", 0, t6); d.Status != webhook.Received {
		t.Errorf("a late claim of processing 0 shows %s", d.Status)
	}
	mustFinish(t, s, webhook.Outcome{ID: "d1", Processing: 0, Status: webhook.Failed, Error: "late", At: t6}, run.Changes{})
	d = mustGetDelivery(t, s, "d1")
	if d.Status != webhook.Received || d.Error != "" || d.Processings[0].Status != webhook.Failed || d.Processings[0].Attempts != 3 {
		t.Errorf("after the late processing: %s %q, processings %+v", d.Status, d.Error, d.Processings)
	}
	if d := mustClaim(t, s, "d1", 1, t7); d.Status != webhook.Processing || d.Attempts != 4 {
		t.Errorf("claim of the redelivery: %s, %d attempts", d.Status, d.Attempts)
	}
	mustFinish(t, s, webhook.Outcome{ID: "d1", Processing: 1, Status: webhook.Ignored, At: t7}, run.Changes{})
	d = mustGetDelivery(t, s, "d1")
	if p := d.Processings[1]; d.Status != webhook.Ignored || p.Status != webhook.Ignored || !p.StartedAt.Equal(t7) || p.Attempts != 1 {
		t.Errorf("after the redelivery: %s, processing %+v", d.Status, p)
	}
}
