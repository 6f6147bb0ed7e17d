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
// processes at once by default. A worker mostly waits (for GitLab's
// changed files, for its group commit), holding no database connection
// meanwhile, and on SQLite the workers' outcomes share group commits, so
// more workers widen processing. Measured on a 2-core machine
// (docs/benchmarks.md, sustained load, 10 s of 16 senders), once the
// intake's fsync and the checkpoints left the write connection
// (2026-12-07): 32 workers acknowledged 1,720 – 1,760 deliveries/s and
// processed 926 – 942/s (8.5 s to drain), 64: 1,080 – 1,190 and
// 1,050 – 1,160/s (no backlog), 128: no better than 64. A flood is
// processed as it arrives, and a run starts seconds sooner; the intake
// still answers in a few milliseconds. On PostgreSQL (20 connections per
// server) processing keeps up with either. --webhook-workers.
const DefaultWebhookWorkers = 64

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
	recent := webhook.NewRecent(cfg.Clock)
	w := &webhooks{
		queue: queue,
		intake: webhook.NewIntake(webhook.Config{Store: store, Box: box, Logger: log, Clock: cfg.Clock,
			Wake: wake, Metrics: m, Recent: recent}),
		log: webhook.NewLog(webhook.LogConfig{Store: store, Integrations: store, Access: spaces, Wake: wake, Clock: cfg.Clock}),
		processor: ingest.New(ingest.Config{Store: store, Files: gl, Box: box, Outbox: outbox,
			Parse: gitlab.ParseEvent, Tags: tags, PushPolicy: push, Logger: log, Clock: cfg.Clock, Consumers: consumers, Metrics: m,
			Recent: recent,
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
