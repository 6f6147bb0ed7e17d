package app

import (
	"context"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// writeBack is the GitLab write-back of SPEC §5: every run transition
// enqueues its commit status, merge request note and deployment writes in
// the outbox (through the store's run transition hook), and the dispatcher
// sends them.
type writeBack struct {
	service    *feedback.Service
	dispatcher *feedback.Dispatcher
}

func newWriteBack(cfg Config, store *sqlstore.Store, box *secret.Box, publicURL string) *writeBack {
	log := cfg.Logger.With("component", "gitlab-writes")
	d := feedback.NewDispatcher(feedback.DispatcherConfig{Store: store, Clock: cfg.Clock, Logger: log,
		Lease: cfg.GitLabWriteLease, GitLab: cfg.gitlab, Endpoints: feedback.NewEndpoints(store, box)})
	svc := feedback.NewService(feedback.Config{Store: store, Stacks: store, Resources: store.RunResources,
		PublicURL: publicURL, Clock: cfg.Clock, Logger: log, Notify: d.Notify})
	store.SetRunHooks(svc)
	return &writeBack{service: svc, dispatcher: d}
}

func (w *writeBack) start(ctx context.Context) { w.dispatcher.Start(ctx) }

func (w *writeBack) stop() { w.dispatcher.Stop() }
