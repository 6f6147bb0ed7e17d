package ingest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/webhook"
)

// outbox records the events it is handed, checking that it runs inside
// the transaction writing them, and refuses them when refuse is set.
type outbox struct {
	t      *testing.T
	store  *sqlstore.Store
	refuse bool
	got    []run.Event
}

func (o *outbox) OnRunEvents(ctx context.Context, evs []run.Event) error {
	for _, ev := range evs {
		r, err := o.store.GetRun(ctx, ev.Run.ID)
		if err != nil || r.State != ev.To {
			o.t.Errorf("run %s in the outbox's transaction: %s, %v; want %s", ev.Run.ID, r.State, err, ev.To)
		}
	}
	o.got = append(o.got, evs...)
	if o.refuse {
		return errors.New("outbox refused")
	}
	return nil
}

// TestOutboxCommitsWithTheRuns: the events of the runs a delivery creates
// and cancels go to the outbox in the transaction that writes them, in
// order; when the outbox fails, neither the runs nor the delivery's
// outcome are written.
func TestOutboxCommitsWithTheRuns(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			_, s := setup(t, d)
			out := &outbox{t: t, store: s}
			p := ingest.New(ingest.Config{Store: s, Files: noGitLab{t}, Parse: gitlab.ParseEvent, Outbox: out,
				Clock: func() time.Time { return t0.Add(time.Hour) }})
			first, sha1 := deliver(t, s, t0, "feature", "infra/a.tf", 1)
			second, sha2 := deliver(t, s, t0.Add(time.Second), "feature", "infra/b.tf", 2)
			process(t, p, first)
			process(t, p, second)
			old, cur := runAt(t, s, sha1), runAt(t, s, sha2)
			want := []run.Event{{Run: old, To: run.Queued}, {Run: cur, To: run.Queued}, {Run: old, From: run.Queued, To: run.Canceled}}
			if len(out.got) != len(want) {
				t.Fatalf("outbox got %+v; want %d events", out.got, len(want))
			}
			for i, w := range want {
				if g := out.got[i]; g.Run.ID != w.Run.ID || g.From != w.From || g.To != w.To || g.Attached {
					t.Errorf("event %d = %s %s → %s; want %s %s → %s", i, g.Run.ID, g.From, g.To, w.Run.ID, w.From, w.To)
				}
			}

			out.refuse = true
			third, sha3 := deliver(t, s, t0.Add(2*time.Second), "feature", "infra/c.tf", 3)
			err := p.Handle(context.Background(), jobqueue.Job{ID: 3, Kind: webhook.ProcessKind, Attempt: 1,
				Payload: webhook.ProcessJob(third).Payload})
			if err == nil {
				t.Fatal("processing succeeded although the outbox refused")
			}
			runs, _, err := s.ListRuns(context.Background(), run.Filter{StackID: "infra"}, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if r.CommitSHA == sha3 {
					t.Errorf("run %s at %s was written without its GitLab writes", r.ID, sha3)
				}
			}
			if r := runAt(t, s, sha2); r.State != run.Queued {
				t.Errorf("run at %s is %s; want QUEUED: its cancellation was not committed", sha2, r.State)
			}
			if got, err := s.GetDelivery(context.Background(), third); err != nil || got.Status == webhook.Processed {
				t.Errorf("delivery %s: %s, %v; want it not processed", third, got.Status, err)
			}
		})
	}
}
