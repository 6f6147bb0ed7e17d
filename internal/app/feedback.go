package app

import (
	"context"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// writeBack is the GitLab write-back of SPEC §5: every run transition
// enqueues its commit status, merge request note and deployment writes in
// the outbox (the service is the Outbox of the run service and of the
// delivery processing, which call it in their transactions), and the
// dispatcher sends them.
type writeBack struct {
	service    *feedback.Service
	dispatcher *feedback.Dispatcher
}

func newWriteBack(cfg Config, store *sqlstore.Store, box *secret.Box, gl *gitlab.Client, publicURL string,
	m *metrics.Metrics) *writeBack {
	log := cfg.Logger.With("component", "gitlab-writes")
	d := feedback.NewDispatcher(feedback.DispatcherConfig{Store: store, Clock: cfg.Clock, Logger: log,
		Lease: cfg.GitLabWriteLease, GitLab: gl, Endpoints: feedback.NewEndpoints(store, box), Metrics: m})
	// Whichever server is free sends a write: wake this one's dispatcher,
	// and the others' through the database.
	wakes := store.Wakes()
	wakes.Subscribe(sqlstore.TopicWrites, d.Notify)
	notify := func() {
		d.Notify()
		wakes.Publish(sqlstore.TopicWrites)
	}
	svc := feedback.NewService(feedback.Config{Store: store, Stacks: store, Resources: store.RunResources, Merges: store, Automerge: store,
		PublicURL: publicURL, Clock: cfg.Clock, Logger: log, Notify: notify})
	return &writeBack{service: svc, dispatcher: d}
}

func (w *writeBack) start(ctx context.Context) { w.dispatcher.Start(ctx) }

func (w *writeBack) stop() { w.dispatcher.Stop() }
