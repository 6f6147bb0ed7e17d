package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/ulid"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/webhook"
)

const projectID = 14

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// hookSecretSealed stands for the integration's sealed webhook secret;
// deliveries are stored only when checked against it.
var hookSecretSealed = []byte("sealed webhook secret")

// noGitLab is the Files of tests whose payloads are complete: any call
// fails the test.
type noGitLab struct{ t *testing.T }

func (n noGitLab) CompareFiles(context.Context, vcs.Endpoint, int64, string, string) ([]string, error) {
	n.t.Error("unexpected compare call")
	return nil, fmt.Errorf("no GitLab here")
}

func (n noGitLab) MergeRequestFiles(context.Context, vcs.Endpoint, int64, int64) ([]string, error) {
	n.t.Error("unexpected merge request diffs call")
	return nil, fmt.Errorf("no GitLab here")
}

func (n noGitLab) DefaultBranch(context.Context, vcs.Endpoint, int64) (string, error) {
	n.t.Error("unexpected project call")
	return "", fmt.Errorf("no GitLab here")
}

// setup returns a processor on a real database holding integration
// "acme" and stack "infra" (branch main, root infra/) of acme/infra.
func setup(t *testing.T, dialect string) (*ingest.Processor, *sqlstore.Store) {
	t.Helper()
	return setupWith(t, dialect, 0)
}

// setupWith is setup with a run cap and, when it is set, a second stack
// "infra-2" also rooted at infra/.
func setupWith(t *testing.T, dialect string, runCap int) (*ingest.Processor, *sqlstore.Store) {
	t.Helper()
	return setupMetered(t, dialect, runCap, nil)
}

// setupMetered is setupWith with the processor reporting to m.
func setupMetered(t *testing.T, dialect string, runCap int, m ingest.Metrics) (*ingest.Processor, *sqlstore.Store) {
	t.Helper()
	s := dbtest.Open(t, dialect)
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSpace(ctx, space.Space{ID: space.RootID, Name: "root", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	e := audit.Entry{At: t0, Actor: "user:admin", Action: "create", ResourceType: "x", ResourceID: "x"}
	err = s.CreateIntegration(ctx, integration.Integration{ID: "acme", Provider: integration.GitLab, Name: "acme", SpaceID: space.RootID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com",
		TokenSealed: box.Seal([]byte("t"), secret.AAD("integration", "acme", "token")), WebhookSecretSealed: hookSecretSealed,
		CreatedAt: t0, UpdatedAt: t0}, e)
	if err != nil {
		t.Fatal(err)
	}
	err = s.CreateStack(ctx, stack.Stack{ID: "infra", Name: "infra", SpaceID: space.RootID, IntegrationID: "acme",
		Repository: "acme/infra", ProjectID: projectID, Branch: "main", ProjectRoot: "infra", Tool: stack.OpenTofu,
		WorkerPool: stack.DefaultWorkerPool, CreatedAt: t0, UpdatedAt: t0}, e)
	if err != nil {
		t.Fatal(err)
	}
	if runCap > 0 {
		err = s.CreateStack(ctx, stack.Stack{ID: "infra-2", Name: "infra-2", SpaceID: space.RootID, IntegrationID: "acme",
			Repository: "acme/infra", ProjectID: projectID, Branch: "main", ProjectRoot: "infra", Tool: stack.OpenTofu,
			WorkerPool: stack.DefaultWorkerPool, CreatedAt: t0, UpdatedAt: t0}, e)
		if err != nil {
			t.Fatal(err)
		}
	}
	p := ingest.New(ingest.Config{Store: s, Files: noGitLab{t}, Box: box, Parse: gitlab.ParseEvent, RunCap: runCap,
		Clock: func() time.Time { return t0.Add(time.Hour) }, Metrics: m})
	return p, s
}

// deliver stores a complete push of one commit to branch touching path,
// received at, and returns the delivery id and the commit.
func deliver(t *testing.T, s *sqlstore.Store, at time.Time, branch, path string, n int) (id, sha string) {
	t.Helper()
	sha = fmt.Sprintf("%040x", n)
	body, _ := json.Marshal(map[string]any{
		"object_kind": "push", "ref": "refs/heads/" + branch, "before": strings.Repeat("a", 40), "after": sha,
		"checkout_sha": sha, "user_username": "ana", "total_commits_count": 1,
		"project": map[string]any{"id": projectID, "path_with_namespace": "acme/infra", "default_branch": "main"},
		"commits": []map[string]any{{"id": sha, "added": []string{path}, "modified": []string{}, "removed": []string{}}},
	})
	id = ulid.New(at)
	_, err := s.InsertDeliveries(context.Background(), []webhook.NewDelivery{{Delivery: webhook.Delivery{
		ID: id, IntegrationID: "acme", DedupeKey: "k-" + id, Event: "Push Hook", Body: body, Status: webhook.Received,
		ReceivedAt: at, UpdatedAt: at}, CheckedSecret: hookSecretSealed}})
	if err != nil {
		t.Fatal(err)
	}
	return id, sha
}

func process(t *testing.T, p *ingest.Processor, id string) {
	t.Helper()
	if err := p.Handle(context.Background(), jobqueue.Job{ID: 1, Kind: webhook.ProcessKind, Attempt: 1,
		Payload: webhook.ProcessJob(id).Payload}); err != nil {
		t.Fatalf("process %s: %v", id, err)
	}
}

func runAt(t *testing.T, s *sqlstore.Store, sha string) run.Run {
	t.Helper()
	runs, _, err := s.ListRuns(context.Background(), run.Filter{StackID: "infra"}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.CommitSHA == sha {
			return r
		}
	}
	t.Fatalf("no run at %s among %+v", sha, runs)
	return run.Run{}
}

// TestNewerCommitCancelsOlderRun: in order, the second push to a branch
// cancels the first one's queued proposed run, with a history row.
func TestNewerCommitCancelsOlderRun(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			p, s := setup(t, d)
			first, sha1 := deliver(t, s, t0, "feature", "infra/a.tf", 1)
			second, sha2 := deliver(t, s, t0.Add(time.Second), "feature", "infra/b.tf", 2)
			process(t, p, first)
			process(t, p, second)
			old := runAt(t, s, sha1)
			if old.State != run.Canceled || runAt(t, s, sha2).State != run.Queued {
				t.Errorf("states: old %s, new %s", old.State, runAt(t, s, sha2).State)
			}
			history, err := s.RunHistory(context.Background(), old.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(history) != 2 || history[0].State != run.Queued || history[1].State != run.Canceled ||
				!strings.Contains(history[1].Note, "superseded") || history[1].Actor != "gitlab/push:ana" {
				t.Errorf("history = %+v", history)
			}
			got, err := s.GetDelivery(context.Background(), second)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != webhook.Processed || got.Result == nil || len(got.Result.RunsCanceled) != 1 || got.Result.RunsCanceled[0] != old.ID {
				t.Errorf("second delivery = %s %+v", got.Status, got.Result)
			}
		})
	}
}

// TestLateDeliveryDoesNotCancelNewerRun: the older push processed last
// (a retry, a slow worker) gets its run but cancels nothing newer.
func TestLateDeliveryDoesNotCancelNewerRun(t *testing.T) {
	t.Parallel()
	p, s := setup(t, "sqlite")
	older, sha1 := deliver(t, s, t0, "feature", "infra/a.tf", 1)
	newer, sha2 := deliver(t, s, t0.Add(time.Second), "feature", "infra/b.tf", 2)
	process(t, p, newer)
	process(t, p, older)
	if st := runAt(t, s, sha2).State; st != run.Queued {
		t.Errorf("the newer commit's run is %s after the older delivery was processed", st)
	}
	if st := runAt(t, s, sha1).State; st != run.Queued {
		t.Errorf("the older commit's run is %s", st)
	}
	// Processing a delivery again changes nothing.
	process(t, p, newer)
	runs, _, err := s.ListRuns(context.Background(), run.Filter{StackID: "infra"}, "", 100)
	if err != nil || len(runs) != 2 {
		t.Errorf("runs after reprocessing = %d, %v", len(runs), err)
	}
}

// TestUnusablePayloadFailsTheDelivery: a payload GitLab would never send
// fails at once, visibly, without retries.
func TestUnusablePayloadFailsTheDelivery(t *testing.T) {
	t.Parallel()
	p, s := setup(t, "sqlite")
	id := ulid.New(t0)
	_, err := s.InsertDeliveries(context.Background(), []webhook.NewDelivery{{Delivery: webhook.Delivery{
		ID: id, IntegrationID: "acme", DedupeKey: "k", Event: "Push Hook", Body: []byte(`{"object_kind":"tag_push"}`),
		Status: webhook.Received, ReceivedAt: t0, UpdatedAt: t0}, CheckedSecret: hookSecretSealed}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Handle(context.Background(), jobqueue.Job{ID: 1, Kind: webhook.ProcessKind, Attempt: 1, Payload: webhook.ProcessJob(id).Payload})
	if err == nil || !strings.Contains(err.Error(), "object_kind") {
		t.Fatalf("Handle = %v, want the payload's fault", err)
	}
	got, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != webhook.Failed || !strings.Contains(got.Error, "object_kind") {
		t.Errorf("delivery = %s %q", got.Status, got.Error)
	}
}

// TestRunCapFailsVisibly: an event due more runs than the cap creates
// none; the delivery fails with the reason and every stack's line.
func TestRunCapFailsVisibly(t *testing.T) {
	t.Parallel()
	p, s := setupWith(t, "sqlite", 1)
	id, _ := deliver(t, s, t0, "feature", "infra/a.tf", 1)
	err := p.Handle(context.Background(), jobqueue.Job{ID: 1, Kind: webhook.ProcessKind, Attempt: 1, Payload: webhook.ProcessJob(id).Payload})
	if err == nil {
		t.Fatal("Handle = nil, want the run cap error")
	}
	runs, _, err := s.ListRuns(context.Background(), run.Filter{}, "", 10)
	if err != nil || len(runs) != 0 {
		t.Fatalf("runs = %d, %v; want none", len(runs), err)
	}
	got, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != webhook.Failed || !strings.Contains(got.Error, "cap of 1") || got.Result == nil || len(got.Result.Stacks) != 2 {
		t.Fatalf("delivery = %s %q %+v", got.Status, got.Error, got.Result)
	}
	for _, l := range got.Result.Stacks {
		if l.Result != "capped" {
			t.Errorf("stack %s: %s, want capped", l.StackID, l.Result)
		}
	}
}

// TestSkippedLinesAreBounded: a delivery's result keeps a line for every
// stack that got a run and for the first MaxSkippedLines skipped ones;
// the other skipped stacks are counted, and still counted as skipped.
func TestSkippedLinesAreBounded(t *testing.T) {
	t.Parallel()
	p, s := setup(t, "sqlite")
	const others = ingest.MaxSkippedLines + 3
	e := audit.Entry{At: t0, Actor: "user:admin", Action: "create", ResourceType: "x", ResourceID: "x"}
	for i := range others {
		id := fmt.Sprintf("other-%03d", i)
		if err := s.CreateStack(context.Background(), stack.Stack{ID: id, Name: id, SpaceID: space.RootID, IntegrationID: "acme",
			Repository: "acme/infra", ProjectID: projectID, Branch: "main", ProjectRoot: "other/" + id, Tool: stack.OpenTofu,
			WorkerPool: stack.DefaultWorkerPool, CreatedAt: t0, UpdatedAt: t0}, e); err != nil {
			t.Fatal(err)
		}
	}
	id, _ := deliver(t, s, t0, "feature", "infra/a.tf", 1)
	process(t, p, id)
	got, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Result
	if r == nil {
		t.Fatalf("delivery %s has no result", got.Status)
	}
	lines := map[string]int{}
	for _, l := range r.Stacks {
		lines[l.Result]++
	}
	if lines["created"] != 1 || lines["skipped"] != ingest.MaxSkippedLines || r.StacksOmitted != others-ingest.MaxSkippedLines {
		t.Errorf("lines %v, %d omitted; want 1 created, %d skipped, %d omitted", lines, r.StacksOmitted,
			ingest.MaxSkippedLines, others-ingest.MaxSkippedLines)
	}
	if c := r.Counts(); c["created"] != 1 || c["skipped"] != others {
		t.Errorf("counts = %v, want 1 created and %d skipped", c, others)
	}
	if want := fmt.Sprintf("%d", others+1); !strings.Contains(r.Summary, want) {
		t.Errorf("summary %q does not count the %s stacks", r.Summary, want)
	}
}
