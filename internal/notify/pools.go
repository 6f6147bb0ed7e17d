package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// PoolState is what the servers last recorded of a VCS agent pool's
// agents, across replicas.
type PoolState string

// Pool states; "" is a pool that never had an agent.
const (
	PoolUp    PoolState = "up"
	PoolEmpty PoolState = "empty"
)

// PoolWatch is a VCS agent pool with the record of its agents that
// agent_pool_empty compares with the presence of agents.
type PoolWatch struct {
	PoolID, Name, SpaceID string
	State                 PoolState
	ChangedAt             time.Time // when State was set
	LastAgentID           string    // the agent seen last
	LastAgentName         string
	LastSeenAt            time.Time // when an agent was last seen, to within the check interval
}

// PoolStore is the record agent_pool_empty keeps per pool (sqlstore
// implements it). The two changes are compare-and-sets: whichever server
// makes one enqueues the notification in the same transaction.
type PoolStore interface {
	// AgentPoolWatches returns every pool with its record (State "" when
	// none).
	AgentPoolWatches(ctx context.Context) ([]PoolWatch, error)
	// SeeAgentPool records that agentID of the pool was connected at at:
	// the pool is up. recovered is true when this call moved it from
	// empty to up, with emptySince when it became empty. A deleted pool
	// records nothing.
	SeeAgentPool(ctx context.Context, poolID, agentID, agentName string, at time.Time) (recovered bool, emptySince time.Time, err error)
	// EmptyAgentPool moves the pool from up to empty at at when no agent
	// was seen after seenBefore; false when another server did first or an
	// agent was seen meanwhile.
	EmptyAgentPool(ctx context.Context, poolID string, seenBefore, at time.Time) (bool, error)
}

// AgentLister lists the connected agents of every pool, on every live
// server of the database (tunnel.Cluster implements it). An error means
// the other servers' agents could not be read: nothing is judged then.
type AgentLister interface {
	AgentsByPool(ctx context.Context) (map[string][]vcsagent.AgentInfo, error)
}

// Defaults of the pool watch.
const (
	// DefaultPoolCheck is how often a server compares the agents with the
	// record.
	DefaultPoolCheck = 10 * time.Second
	// DefaultPoolGrace is how long a pool must be without any agent before
	// agent_pool_empty: an agent reconnecting (to this server or another,
	// after a server's restart) within it raises nothing.
	DefaultPoolGrace = time.Minute
)

// PoolRef is the VCS agent pool an agent_pool_* notification is about.
type PoolRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Agents is how many agents are connected now (0 for agent_pool_empty).
	Agents int `json:"agents"`
	// LastAgent is, for agent_pool_empty, the agent seen last, and when.
	LastAgent *AgentRef `json:"last_agent,omitempty"`
	// EmptySince is, for agent_pool_recovered, when the pool was found
	// empty.
	EmptySince *time.Time `json:"empty_since,omitempty"`
	// Agent is, for agent_pool_recovered, an agent connected now.
	Agent *AgentRef `json:"agent,omitempty"`
}

// AgentRef is one VCS agent process.
type AgentRef struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	SeenAt *time.Time `json:"seen_at,omitempty"`
}

// PoolWatcher raises agent_pool_empty and agent_pool_recovered. Every
// server runs one; the store's compare-and-sets make each change notified
// once across them.
type PoolWatcher struct {
	svc     *Service
	store   PoolStore
	agents  AgentLister
	grace   time.Duration
	started time.Time // no pool is judged empty before started+grace: agents reconnect after a restart

	periodic
}

// WatchPools returns a PoolWatcher checking every interval (0:
// DefaultPoolCheck) and finding a pool empty after grace without agents
// (0: DefaultPoolGrace; at least three intervals: while agents are
// connected, a pool's last sighting is refreshed when it is an interval
// old, so it may lag by up to two).
func (s *Service) WatchPools(store PoolStore, agents AgentLister, interval, grace time.Duration) *PoolWatcher {
	if interval <= 0 {
		interval = DefaultPoolCheck
	}
	if grace <= 0 {
		grace = DefaultPoolGrace
	}
	grace = max(grace, 3*interval)
	return &PoolWatcher{svc: s, store: store, agents: agents, grace: grace, periodic: newPeriodic(interval)}
}

// Start checks at once, then every interval, until Stop or ctx ends.
// The server stops it before it disconnects its own agents at shutdown,
// so that its own leaving is judged by the others, who still see theirs.
func (w *PoolWatcher) Start(ctx context.Context) {
	w.started = w.svc.now()
	w.start(ctx, w.Check, func(ctx context.Context, err error) {
		w.svc.log.WarnContext(ctx, "check VCS agent pools", "error", err)
	})
}

// Check compares the connected agents of every pool with its record once.
func (w *PoolWatcher) Check(ctx context.Context) error {
	if w.started.IsZero() {
		w.started = w.svc.now()
	}
	byPool, err := w.agents.AgentsByPool(ctx)
	if err != nil {
		return fmt.Errorf("agent pools: %w", err)
	}
	watches, err := w.store.AgentPoolWatches(ctx)
	if err != nil {
		return fmt.Errorf("agent pools: %w", err)
	}
	var errs []error
	for _, p := range watches {
		if err := w.checkPool(ctx, p, byPool[p.PoolID]); err != nil {
			errs = append(errs, fmt.Errorf("agent pool %s: %w", p.PoolID, err))
		}
	}
	return errors.Join(errs...)
}

// agentLabel names an agent in a summary: its host name, or its id when it
// reported none.
func agentLabel(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func (w *PoolWatcher) checkPool(ctx context.Context, p PoolWatch, agents []vcsagent.AgentInfo) error {
	// At the databases' precision: the time recorded is the time sent
	// (created_at of agent_pool_empty, empty_since of the recovery).
	now := w.svc.now().Truncate(time.Microsecond)
	if len(agents) > 0 {
		// Another server (or this one) refreshed the sighting lately: no
		// write, so that N servers cost one write per pool and interval.
		if p.State == PoolUp && now.Sub(p.LastSeenAt) < w.interval {
			return nil
		}
		a := agents[0]
		return w.svc.cfg.Store.InTx(ctx, func(ctx context.Context) error {
			recovered, since, err := w.store.SeeAgentPool(ctx, p.PoolID, a.ID, a.Name, now)
			if err != nil || !recovered {
				return err
			}
			w.svc.log.InfoContext(ctx, "vcs agent pool has an agent again", "pool_id", p.PoolID, "agents", len(agents))
			return w.svc.notify(ctx, Notification{Event: AgentPoolRecovered, Space: p.SpaceID, CreatedAt: now, URL: w.svc.poolURL(p.PoolID),
				Summary: fmt.Sprintf("VCS agent pool %s has %d connected agent(s) again", p.Name, len(agents)),
				Pool: &PoolRef{ID: p.PoolID, Name: p.Name, Agents: len(agents), EmptySince: &since,
					Agent: &AgentRef{ID: a.ID, Name: a.Name}}})
		})
	}
	if p.State != PoolUp {
		return nil // never had an agent, or already notified
	}
	quietSince := p.LastSeenAt
	if w.started.After(quietSince) {
		quietSince = w.started
	}
	if now.Sub(quietSince) < w.grace {
		return nil
	}
	return w.svc.cfg.Store.InTx(ctx, func(ctx context.Context) error {
		ok, err := w.store.EmptyAgentPool(ctx, p.PoolID, now.Add(-w.grace), now)
		if err != nil || !ok {
			return err
		}
		w.svc.log.WarnContext(ctx, "vcs agent pool has no connected agent", "pool_id", p.PoolID,
			"last_agent", p.LastAgentName, "last_seen_at", p.LastSeenAt)
		seen := p.LastSeenAt
		return w.svc.notify(ctx, Notification{Event: AgentPoolEmpty, Space: p.SpaceID, CreatedAt: now, URL: w.svc.poolURL(p.PoolID),
			Summary: fmt.Sprintf("VCS agent pool %s has no connected agent: GitLab calls of its integrations fail until one connects (last agent %s seen %s)",
				p.Name, agentLabel(p.LastAgentName, p.LastAgentID), seen.Format(time.RFC3339)),
			Pool: &PoolRef{ID: p.PoolID, Name: p.Name, LastAgent: &AgentRef{ID: p.LastAgentID, Name: p.LastAgentName, SeenAt: &seen}}})
	})
}

// poolURL is the web page listing the pools (there is no page per pool).
func (s *Service) poolURL(string) string { return s.cfg.PublicURL + "/source-control/vcs-agent-pools" }
