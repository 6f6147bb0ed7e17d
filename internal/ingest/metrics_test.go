package ingest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/webhook"
)

// recorder keeps what a Processor reports (one goroutine: no lock).
type recorder struct {
	outcomes []string
	phases   []string
}

func (r *recorder) DeliveryProcessed(integrationID, event string, o ingest.Outcome) {
	r.outcomes = append(r.outcomes, integrationID+"|"+event+"|"+string(o))
}

func (r *recorder) RunPhaseDone(phase run.State, d time.Duration) {
	r.phases = append(r.phases, string(phase)+" "+d.String())
}

// TestProcessingIsCounted: each processing attempt reports its outcome,
// and the runs it cancels report the time they spent queued.
func TestProcessingIsCounted(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	p, s := setupMetered(t, "sqlite", 0, rec)
	first, _ := deliver(t, s, t0, "feature", "infra/a.tf", 1)
	second, _ := deliver(t, s, t0.Add(time.Second), "feature", "infra/b.tf", 2)
	process(t, p, first)
	process(t, p, second) // cancels the first delivery's run
	bad, _ := deliver(t, s, t0.Add(2*time.Second), "feature", "infra/c.tf", 3)
	if _, err := s.DB().Exec("UPDATE webhook_delivery_bodies SET body = ? WHERE delivery_id = ?", []byte(`{"object_kind":"tag_push"}`), bad); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), jobqueue.Job{ID: 1, Kind: webhook.ProcessKind, Attempt: 1,
		Payload: webhook.ProcessJob(bad).Payload}); err == nil {
		t.Fatal("an unusable payload was processed")
	}
	want := []string{"acme|Push Hook|processed", "acme|Push Hook|processed", "acme|Push Hook|failed"}
	if !slices.Equal(rec.outcomes, want) {
		t.Errorf("outcomes = %v, want %v", rec.outcomes, want)
	}
	// The processor's clock stands still: the run was queued for 0s.
	if want := []string{"QUEUED 0s"}; !slices.Equal(rec.phases, want) {
		t.Errorf("phases = %v, want %v", rec.phases, want)
	}
}
