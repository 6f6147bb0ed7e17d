// Package ingest processes stored webhook deliveries into runs (SPEC §4):
// it translates the delivery into a provider-neutral event, works out the
// changed files (from the payload when it is complete, from GitLab's
// compare and merge request diff APIs otherwise), loads the repository's
// stacks, lets the push policy decide (trigger.Decide), reads the runs of
// the stacks that get one, plans (trigger.PlanDecided), and writes the
// runs, cancellations, merge request links, tracked-commit moves and the
// delivery's result in one transaction. It runs as a job of the job
// queue, so GitLab failures are retried with backoff.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Store is what processing reads and writes.
type Store interface {
	// InTx runs fn in one transaction: the store methods fn calls with its
	// ctx, and the Outbox's, join it.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// InGroupTx is InTx whose transaction may be shared with other
	// callers' (sqlstore's group commit): fn's writes commit with theirs,
	// or roll back alone. fn runs without ctx's cancellation, maybe on
	// another goroutine.
	InGroupTx(ctx context.Context, fn func(ctx context.Context) error) error
	// DeliveryToProcess returns what processing reads of a delivery: its
	// ID, IntegrationID, Event, Project, Ref, ReceivedAt and Body (from
	// the read pool); the other fields are left zero.
	DeliveryToProcess(ctx context.Context, id string) (webhook.Delivery, error)
	// ClaimDelivery counts an attempt of processing n of a delivery and
	// returns the delivery with its body.
	ClaimDelivery(ctx context.Context, id string, n int, now time.Time) (webhook.Delivery, error)
	// FinishDelivery writes a processing's outcome and the run changes in
	// one transaction; a concurrent duplicate run is an apperr.Conflict.
	FinishDelivery(ctx context.Context, o webhook.Outcome, c run.Changes) (run.Applied, error)
	RunsForEvent(ctx context.Context, stackIDs []string, sha, branch string, mrIID int64, active []run.State) ([]run.EventRun, error)
	ListStacksByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]stack.Stack, error)
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
	// CacheScope returns ctx with the store's cached tables' state as of
	// now: the reads of one delivery's processing check it once
	// (sqlstore's read cache).
	CacheScope(ctx context.Context) (context.Context, error)
}

// Files reads changed files from the provider (gitlab.Client).
type Files interface {
	CompareFiles(ctx context.Context, ep vcs.Endpoint, projectID int64, from, to string) ([]string, error)
	MergeRequestFiles(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) ([]string, error)
	DefaultBranch(ctx context.Context, ep vcs.Endpoint, projectID int64) (string, error)
}

// Consumer is told about every translated event of a delivery after its
// runs are written: the extension point for what else reacts to events
// (the scheduler's wake-up). It must be idempotent: a delivery is processed
// again when redelivered. It runs after the delivery's job was completed
// with its runs, so an error is logged, not retried.
type Consumer func(ctx context.Context, integrationID string, ev *vcs.Event) error

// PushPolicyFunc builds the push policy of one delivery's event (see
// Config.PushPolicy); base is Config.Decide.
type PushPolicyFunc func(ctx context.Context, deliveryID string, ev *vcs.Event, files []string, stacks []stack.Stack, base trigger.Decider) (trigger.Decider, error)

// TagFunc handles a tag push for the modules of its repository and returns
// the delivery log's line for each. An error is retried like a GitLab
// failure; versions published before it are then reported as refused.
type TagFunc func(ctx context.Context, integrationID string, ev vcs.Event) ([]webhook.ModuleResult, error)

// Config configures a Processor.
type Config struct {
	Store  Store
	Files  Files
	Box    *secret.Box // opens integration tokens
	Parse  func(event string, body []byte) (vcs.Event, error)
	Decide trigger.Decider // nil means trigger.Default
	// PushPolicy, when set, returns the decider for one event's candidate
	// stacks: the push policies (internal/policy) that apply to them,
	// evaluated over Decide's decisions and recorded. Its error is retried
	// like a GitLab failure. Nil: Decide alone.
	PushPolicy PushPolicyFunc
	RunCap     int // 0 means trigger.DefaultRunCap
	// Consumers run, in order, after the runs of each event are written.
	Consumers []Consumer
	// Tags publishes module versions from tag pushes
	// (module.Service.OnTagPush, adapted); its lines go into the delivery
	// log. Nil: tag pushes concern no module.
	Tags   TagFunc
	Logger *slog.Logger
	Clock  func() time.Time
	// Outbox records the GitLab writes of the runs an event creates,
	// cancels or links to a merge request, in the transaction that writes
	// them. Nil: no GitLab write-back.
	Outbox run.Outbox
	// Metrics counts processings and the run transitions they commit;
	// nil counts nothing.
	Metrics Metrics
	// Commands acts on merge request comment commands (command.go); nil:
	// comments only go into the delivery log.
	Commands *Commands
	// Recent holds the deliveries this server's intake just received
	// (webhook.Recent); a first attempt takes its delivery from there
	// instead of the store when it can. Nil: always the store.
	Recent interface {
		Take(id string) (webhook.Delivery, bool)
	}
}

// Metrics is what processing reports for monitoring (internal/metrics
// implements it with Prometheus).
type Metrics interface {
	run.Metrics
	// DeliveryProcessed is told of every processing attempt's outcome.
	DeliveryProcessed(integrationID, event string, outcome Outcome)
}

// Outcome is how one attempt to process a delivery ended.
type Outcome string

// The outcomes of a processing attempt.
const (
	OutcomeProcessed Outcome = "processed" // its runs are written
	OutcomeIgnored   Outcome = "ignored"   // an event that triggers nothing
	OutcomeFailed    Outcome = "failed"    // for good: bad input or the run cap
	OutcomeRetry     Outcome = "retry"     // a transient failure: the queue tries again, up to the job's max age
)

// noMetrics stands in when nothing is measured.
type noMetrics struct{}

func (noMetrics) DeliveryProcessed(string, string, Outcome) {}
func (noMetrics) RunPhaseDone(run.State, time.Duration)     {}

// Processor processes deliveries.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	indexes indexes
}

// New returns a Processor.
func New(cfg Config) *Processor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Processor{cfg: cfg, log: cfg.Logger}
}

// Register makes q run this Processor for webhook.ProcessKind jobs.
func (p *Processor) Register(q *jobqueue.Queue) {
	q.Register(webhook.ProcessKind, p.Handle)
	q.OnFail(webhook.ProcessKind, p.gaveUp)
}

// delivery is what a first attempt processes of delivery id.
func (p *Processor) delivery(ctx context.Context, id string) (webhook.Delivery, error) {
	if p.cfg.Recent != nil {
		if d, ok := p.cfg.Recent.Take(id); ok {
			return d, nil
		}
	}
	return p.cfg.Store.DeliveryToProcess(ctx, id)
}

// maxConflicts bounds re-planning when another server wrote a run for the
// same commit at the same moment.
const maxConflicts = 3

// Handle is the job handler: process one delivery. Transient failures
// (GitLab down, rate limits) are recorded on the delivery and returned,
// for the queue to retry; bad input fails the delivery for good.
func (p *Processor) Handle(ctx context.Context, j jobqueue.Job) error {
	pl, err := webhook.ParseProcessPayload(j.Payload)
	if err != nil {
		return jobqueue.Permanent(err)
	}
	a := attempt{job: j, n: pl.Processing, started: p.now(), claim: j.Attempt <= 1}
	// The stacks, the integration and the policies as they are now, for
	// the whole processing.
	if ctx, err = p.cfg.Store.CacheScope(ctx); err != nil {
		return err
	}
	var d webhook.Delivery
	if a.claim {
		// A first attempt reads the delivery (handed over by this server's
		// intake, else on the read pool) and is counted in the transaction
		// that records its outcome: on SQLite every write transaction
		// takes the one write connection.
		d, err = p.delivery(ctx, pl.DeliveryID)
	} else {
		// A retry shows "processing" and its attempts while it runs.
		d, err = p.cfg.Store.ClaimDelivery(ctx, pl.DeliveryID, pl.Processing, a.started)
	}
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted with its integration: nothing to do
	}
	if err != nil {
		return err
	}
	log := p.log.With("delivery_id", d.ID, "processing", pl.Processing, "integration_id", d.IntegrationID, "event", d.Event)
	var status webhook.Status
	for range maxConflicts {
		status, err = p.process(ctx, a, d, log)
		if !apperr.Is(err, apperr.Conflict) {
			break
		}
		log.Info("a run for this commit was written concurrently; planning again")
	}
	if errors.Is(err, jobqueue.ErrLeaseLost) {
		return err // another worker holds the job now: write nothing
	}
	count := func(o Outcome) { p.cfg.Metrics.DeliveryProcessed(d.IntegrationID, webhook.EventLabel(d.Event), o) }
	if err == nil {
		if status == webhook.Ignored {
			count(OutcomeIgnored)
		} else {
			count(OutcomeProcessed)
		}
		return nil
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		count(OutcomeFailed)
		return jobqueue.Permanent(perm.err)
	}
	count(OutcomeRetry)
	// Show the error while the queue retries.
	o := webhook.Outcome{ID: d.ID, Processing: pl.Processing, Status: webhook.Processing, Project: d.Project, Ref: d.Ref,
		Error: "will retry: " + apperr.MessageOf(err), At: p.now()}
	if _, ferr := p.record(ctx, a, o, run.Changes{}, false); ferr != nil {
		log.Warn("record delivery error", "error", ferr)
	}
	// GitLab said when to come back (429): no sooner than that, whatever
	// the queue's own backoff would say.
	var ve *vcs.Error
	if errors.As(err, &ve) && ve.Kind == vcs.KindRateLimited {
		if d, ok := ve.AskedWait(p.now()); ok {
			return jobqueue.RetryAfter(d, err)
		}
	}
	return err
}

// gaveUp marks a delivery whose job gave up as failed.
func (p *Processor) gaveUp(ctx context.Context, j jobqueue.Job, err error) {
	pl, perr := webhook.ParseProcessPayload(j.Payload)
	if perr != nil {
		return
	}
	o := webhook.Outcome{ID: pl.DeliveryID, Processing: pl.Processing, Status: webhook.Failed, Error: apperr.MessageOf(err), At: p.now()}
	if _, ferr := p.cfg.Store.FinishDelivery(ctx, o, run.Changes{}); ferr != nil && !apperr.Is(ferr, apperr.NotFound) {
		p.log.Error("mark delivery failed", "delivery_id", pl.DeliveryID, "error", ferr)
	}
}

func (p *Processor) now() time.Time { return p.cfg.Clock().UTC() }

// permanentError is a failure retrying cannot fix; the delivery is marked
// failed before it is returned.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// fail records a permanent failure on the delivery (with what is known of
// it) and returns it as permanent. The job stays, failed, for operators:
// the queue marks it so.
func (p *Processor) fail(ctx context.Context, a attempt, o webhook.Outcome, cause error) error {
	o.Status, o.Error, o.At = webhook.Failed, apperr.MessageOf(cause), p.now()
	if _, err := p.record(ctx, a, o, run.Changes{}, false); err != nil {
		return fmt.Errorf("record failure of delivery %s: %w", o.ID, err)
	}
	return &permanentError{err: cause}
}
