package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/webhook"
)

// webhookPath is where GitLab sends an integration's webhooks (SPEC §2.4);
// outside /api/v1 and its API-key authentication: the secret authenticates.
const webhookPath = "/webhooks/gitlab/"

// webhooks is the intake of GitLab webhooks, the job queue that processes
// them (and other background work), and the delivery log.
type webhooks struct {
	queue     *jobqueue.Queue
	intake    *webhook.Intake
	log       *webhook.Log
	processor *ingest.Processor
}

func newWebhooks(cfg Config, store *sqlstore.Store, box *secret.Box, spaces *space.Service, checker *gitlab.Checker,
	outbox run.Outbox, tags ingest.TagFunc, consumers ...ingest.Consumer) *webhooks {
	log := cfg.Logger
	exclusive := store.Dialect() == "sqlite"
	queue := jobqueue.New(jobqueue.Config{Store: store, Logger: log.With("component", "jobqueue"), Clock: cfg.Clock,
		Exclusive: exclusive})
	w := &webhooks{
		queue: queue,
		intake: webhook.NewIntake(webhook.Config{Store: store, Box: box, Logger: log, Clock: cfg.Clock,
			Wake: queue.Wake}),
		log: webhook.NewLog(webhook.LogConfig{Store: store, Integrations: store, Access: spaces, Wake: queue.Wake, Clock: cfg.Clock}),
		processor: ingest.New(ingest.Config{Store: store, Files: checker, Box: box, Outbox: outbox,
			Parse: gitlab.ParseEvent, Tags: tags, Logger: log, Clock: cfg.Clock, Consumers: consumers}),
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

// withWebhooks routes POST /webhooks/gitlab/{id} to the intake, ahead of
// every other handler (no sessions, no API keys, no request log per
// delivery: the intake logs what matters).
func withWebhooks(next http.Handler, intake *webhook.Intake) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+webhookPath+"{id}", intake)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, webhookPath) && r.Method == http.MethodPost {
			mux.ServeHTTP(rw, r)
			return
		}
		next.ServeHTTP(rw, r)
	})
}
