package app

import (
	"cmp"
	"context"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/webhook"
)

// webhookPath is where GitLab sends an integration's webhooks (SPEC §2.4);
// outside /api/v1 and its API-key authentication: the secret authenticates.
const webhookPath = "/webhooks/gitlab/"

// DefaultWebhookWorkers is how many jobs (webhook deliveries) a server
// processes at once by default. On SQLite the deliveries' outcomes are
// group-committed (docs/design/transactions.md), so more workers no longer
// starve the intake as they did (32 workers: 230 against 889 deliveries/s
// acknowledged), but they still take the one writer's turns from it, and
// on the shared 2-core benchmark machine the figures with 4, 16 and 32
// workers overlap (docs/benchmarks.md, sustained load). The default stays
// until a quiet machine says otherwise; more workers pay off when GitLab
// is slow rather than the database busy, or on PostgreSQL:
// --webhook-workers.
const DefaultWebhookWorkers = 4

// DefaultGitLabMaxConcurrent is gitlab.DefaultMaxConcurrent, for the
// server's flag.
const DefaultGitLabMaxConcurrent = gitlab.DefaultMaxConcurrent

// webhooks is the intake of GitLab webhooks, the job queue that processes
// them (and other background work), and the delivery log.
type webhooks struct {
	queue     *jobqueue.Queue
	intake    *webhook.Intake
	log       *webhook.Log
	processor *ingest.Processor
}

func newWebhooks(cfg Config, store *sqlstore.Store, box *secret.Box, spaces *space.Service, gl *gitlab.Client,
	outbox *feedback.Service, m *metrics.Metrics, tags ingest.TagFunc, push ingest.PushPolicyFunc, consumers ...ingest.Consumer) *webhooks {
	log := cfg.Logger
	exclusive := store.Dialect() == "sqlite"
	queue := jobqueue.New(jobqueue.Config{Store: store, Logger: log.With("component", "jobqueue"), Clock: cfg.Clock,
		Exclusive: exclusive, PollInterval: cfg.JobPoll, Lease: cfg.LeaseTTL,
		Workers: cmp.Or(cfg.WebhookWorkers, DefaultWebhookWorkers)})
	// A delivery's job is taken by whichever server is free first: wake
	// this one, and the others through the database.
	wakes := store.Wakes()
	wakes.Subscribe(sqlstore.TopicJobs, queue.Wake)
	wake := func() {
		queue.Wake()
		wakes.Publish(sqlstore.TopicJobs)
	}
	w := &webhooks{
		queue: queue,
		intake: webhook.NewIntake(webhook.Config{Store: store, Box: box, Logger: log, Clock: cfg.Clock,
			Wake: wake, Metrics: m}),
		log: webhook.NewLog(webhook.LogConfig{Store: store, Integrations: store, Access: spaces, Wake: wake, Clock: cfg.Clock}),
		processor: ingest.New(ingest.Config{Store: store, Files: gl, Box: box, Outbox: outbox,
			Parse: gitlab.ParseEvent, Tags: tags, PushPolicy: push, Logger: log, Clock: cfg.Clock, Consumers: consumers, Metrics: m,
			Commands: &ingest.Commands{Members: gl, Claims: store, Ack: commandAcks{outbox}, Locks: store,
				Checks: gl, OwnStatus: feedback.OwnStatus}}),
	}
	w.processor.Register(queue)
	return w
}

// start starts processing (deliveries stored by an earlier run included).
func (w *webhooks) start(ctx context.Context) error { return w.queue.Start(context.WithoutCancel(ctx)) }

// stop finishes storing the deliveries in flight and stops processing;
// call it after the HTTP server stopped.
func (w *webhooks) stop() {
	w.intake.Close()
	w.queue.Stop()
}

// commandAcks queues the acknowledgement of a merge request command in
// the outbox (ingest.Acknowledger).
type commandAcks struct{ outbox *feedback.Service }

func (c commandAcks) Acknowledge(ctx context.Context, a ingest.Ack) error {
	return c.outbox.EnqueueCommandFeedback(ctx, feedback.CommandFeedback{IntegrationID: a.IntegrationID, Project: a.Project,
		MergeRequestIID: a.MergeRequestIID, NoteID: a.NoteID, Emoji: a.Emoji, Reply: a.Reply})
}
