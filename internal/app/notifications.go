package app

import (
	"context"

	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// notifications are issue 21's notification targets: the service (the
// run service's Notifications, called in its transactions; the drift code
// calls DriftChanged the same way), the dispatcher that sends the outbox,
// the periodic check of integration token expiry, and the watch of VCS
// agent pools (agent_pool_empty).
type notifications struct {
	service    *notify.Service
	dispatcher *notify.Dispatcher
	tokens     *notify.TokenWatch
	pools      *notify.PoolWatcher
}

func newNotifications(cfg Config, store *sqlstore.Store, box *secret.Box, access notify.AccessResolver, publicURL string,
	m *metrics.Metrics, agents notify.AgentLister) (*notifications, error) {
	allow, err := notify.ParseAllowList(cfg.NotifyAllowHosts)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "notifications")
	n := &notifications{}
	n.service = notify.NewService(notify.Config{Store: store, Access: access, Spaces: store, Stacks: store, Integrations: store,
		Box: box, PublicURL: publicURL, Clock: cfg.Clock, Logger: log, Notify: func() { n.dispatcher.Notify() }, AllowHosts: allow})
	n.dispatcher = notify.NewDispatcher(notify.DispatcherConfig{Service: n.service, Store: store, Clock: cfg.Clock, Metrics: m})
	n.tokens = n.service.WatchTokens(cfg.TokenCheckInterval)
	n.pools = n.service.WatchPools(store, agents, cfg.AgentPoolCheck, cfg.AgentPoolGrace)
	if allow.Enabled() {
		log.Info("notification targets limited to the allow-list", "notify_allow_hosts", allow.String())
	}
	return n, nil
}

func (n *notifications) start(ctx context.Context) {
	n.dispatcher.Start(ctx)
	n.tokens.Start(ctx)
	n.pools.Start(ctx)
}

// stop stops the watches and the dispatcher. The server calls it before it
// disconnects its own VCS agents, so that its leaving is judged by the
// servers that stay (agent_pool_empty counts every server's agents).
func (n *notifications) stop() {
	n.pools.Stop()
	n.tokens.Stop()
	n.dispatcher.Stop()
}

// driftNotices tells notification targets that a stack's drift mark
// changed (drift_detected, drift_cleared), in the transaction that
// records the mark.
type driftNotices struct{ svc *notify.Service }

func (d driftNotices) DriftChanged(ctx context.Context, st stack.Stack, dr stack.Drift) error {
	changes := make([]notify.ResourceChange, 0, len(dr.Changes))
	for _, c := range dr.Changes {
		changes = append(changes, notify.ResourceChange{Address: c.Address, Action: c.Action})
	}
	return d.svc.DriftChanged(ctx, st.ID, dr.Drifted, changes)
}
