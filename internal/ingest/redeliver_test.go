package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/webhook"
)

// redeliver asks for a new processing as webhook.Log does.
func redeliver(t *testing.T, s *sqlstore.Store, id string, at time.Time) {
	t.Helper()
	job := func(n int) jobqueue.NewJob { return webhook.RedeliverJob(id, n) }
	if err := s.RedeliverDelivery(context.Background(), id, "user:admin", at, job); err != nil {
		t.Fatalf("redeliver %s: %v", id, err)
	}
}

// runQueued leases the due webhook jobs and handles each, as the queue
// would; it returns how many there were.
func runQueued(t *testing.T, s *sqlstore.Store, p *ingest.Processor, at time.Time) int {
	t.Helper()
	jobs, err := s.LeaseJobs(context.Background(), "test", []string{webhook.ProcessKind}, at, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := p.Handle(context.Background(), j); err != nil {
			t.Fatalf("handle %s: %v", j.Payload, err)
		}
	}
	return len(jobs)
}

func passLine(p webhook.Pass) string {
	line := string(p.Trigger) + " " + string(p.Status)
	for _, r := range []string{"created", "deduplicated", "skipped"} {
		if n := p.Result.Counts()[r]; n > 0 {
			line += " " + r
		}
	}
	return line
}

// TestRedeliveryKeepsEachResult is issue 14 item 7 on the store: a
// redelivery adds a processing with its own outcome instead of overwriting
// the first one; the delivery shows the latest, and both are listed.
func TestRedeliveryKeepsEachResult(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p, s := setup(t, d)
			id, _ := deliver(t, s, t0, "main", "infra/a.tf", 1)
			// Redelivering a delivery that waits for its first processing
			// adds nothing: that processing reads the same body.
			redeliver(t, s, id, t0)
			if n := runQueued(t, s, p, t0.Add(time.Hour)); n != 0 {
				t.Fatalf("redelivering a waiting delivery queued %d jobs", n)
			}
			process(t, p, id)
			redeliver(t, s, id, t0.Add(time.Minute))
			redeliver(t, s, id, t0.Add(2*time.Minute)) // still waiting: the same processing
			waiting, err := s.GetDelivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if waiting.Status != webhook.Received || len(waiting.Processings) != 2 || waiting.Processings[1].Status != webhook.Received ||
				waiting.Processings[0].Result == nil || waiting.Processings[0].Result.Counts()["created"] != 1 {
				t.Fatalf("after redelivering: %s %+v", waiting.Status, waiting.Processings)
			}
			if n := runQueued(t, s, p, t0.Add(time.Hour)); n != 1 {
				t.Fatalf("redeliveries queued %d jobs, want 1", n)
			}

			got, err := s.GetDelivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Processings) != 2 {
				t.Fatalf("processings = %+v", got.Processings)
			}
			first, second := got.Processings[0], got.Processings[1]
			if passLine(first) != "received processed created" || passLine(second) != "redelivered processed deduplicated" {
				t.Errorf("processings = %q, %q", passLine(first), passLine(second))
			}
			if first.Number != 0 || second.Number != 1 || second.RequestedBy != "user:admin" || first.RequestedBy != "" ||
				!first.RequestedAt.Equal(t0) || !second.RequestedAt.Equal(t0.Add(time.Minute)) ||
				first.StartedAt == nil || first.FinishedAt == nil || second.FinishedAt == nil || first.Attempts != 1 || second.Attempts != 1 {
				t.Errorf("processings = %+v", got.Processings)
			}
			if got.Status != webhook.Processed || got.Result == nil || got.Result.Counts()["deduplicated"] != 1 || got.Attempts != 2 {
				t.Errorf("delivery = %s %+v attempts %d, want the latest processing's result", got.Status, got.Result, got.Attempts)
			}
			list, _, err := s.ListDeliveries(ctx, webhook.Filter{All: true}, "", 10)
			if err != nil || len(list) != 1 || len(list[0].Processings) != 2 || passLine(list[0].Processings[0]) != "received processed created" {
				t.Errorf("listed = %+v, %v", list, err)
			}
		})
	}
}

// TestOlderProcessingFinishingLate: a job of an earlier processing that
// runs after a redelivery was asked for (a retry, a slow server) records
// its own outcome without hiding the redelivery the delivery waits for.
func TestOlderProcessingFinishingLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, s := setup(t, "sqlite")
	id, _ := deliver(t, s, t0, "main", "infra/a.tf", 1)
	process(t, p, id)
	redeliver(t, s, id, t0.Add(time.Minute))
	process(t, p, id) // processing 0 again
	got, err := s.GetDelivery(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != webhook.Received || len(got.Processings) != 2 || got.Processings[0].Attempts != 2 ||
		got.Processings[0].Status != webhook.Processed || got.Processings[1].Status != webhook.Received {
		t.Fatalf("delivery %s, processings %+v", got.Status, got.Processings)
	}
	runQueued(t, s, p, t0.Add(time.Hour))
	if got, err = s.GetDelivery(ctx, id); err != nil || got.Status != webhook.Processed || got.Processings[1].Status != webhook.Processed {
		t.Fatalf("after the redelivery's job: %+v, %v", got, err)
	}
}
