package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Timings of the cluster (docs/design/replicas.md).
const (
	// DefaultHeartbeat is how often a server rewrites its presence rows.
	DefaultHeartbeat = 10 * time.Second
	// DefaultPresenceLifetime is how long a row counts without a
	// heartbeat: three missed beats mean the server is gone.
	DefaultPresenceLifetime = 30 * time.Second
	// DefaultPresenceCache is how long a server reuses what it read of the
	// other servers' presence: a burst of calls costs one query.
	DefaultPresenceCache = time.Second
	// DefaultPeerDownFor is how long a peer whose address refused a
	// connection is skipped.
	DefaultPeerDownFor = 5 * time.Second
)

// PresenceStore keeps which agents each server process holds
// (sqlstore.Store implements it).
type PresenceStore interface {
	// SetAgentPresence replaces the rows of serverID with rows.
	SetAgentPresence(ctx context.Context, serverID string, rows []vcsagent.Presence) error
	// ListAgentPresence returns the rows seen at seenSince or later.
	ListAgentPresence(ctx context.Context, seenSince time.Time) ([]vcsagent.Presence, error)
	DeleteAgentPresence(ctx context.Context, serverID string) error
	// PurgeAgentPresence removes the rows not seen since seenBefore.
	PurgeAgentPresence(ctx context.Context, seenBefore time.Time) (int64, error)
}

// ClusterConfig configures a Cluster. Zero durations take the defaults.
type ClusterConfig struct {
	Local *Registry
	// Presence is where servers announce their agents; nil when this
	// process is alone on its database (SQLite): the cluster is then the
	// local registry and nothing more.
	Presence PresenceStore
	ServerID string // random per process
	// Address is the base URL other servers relay to this one at
	// (--advertise-url).
	Address string
	// RelayKey authenticates relayed requests between servers; every
	// server of the database derives the same one (RelayKey).
	RelayKey string
	// Transport carries relayed requests to the other servers (nil: a
	// transport with dial and handshake timeouts; tests pass their own).
	Transport http.RoundTripper
	Logger    *slog.Logger
	Clock     func() time.Time

	Heartbeat, PresenceLifetime, PresenceCache, PeerDownFor time.Duration
}

// Cluster is the agents of every server process on one database. It sends
// a pool's requests through this process's agents when it has one, and
// else relays them to a server that has (relay.go); it announces this
// process's agents to the others and lists everyone's. It implements
// vcsagent.Agents.
type Cluster struct {
	cfg   ClusterConfig
	local *Registry
	log   *slog.Logger
	now   func() time.Time
	rt    http.RoundTripper

	fetch    sync.Mutex // one presence query at a time; the others wait for its answer
	mu       sync.Mutex
	rows     []vcsagent.Presence // others' rows, as last read
	readAt   time.Time
	down     map[string]time.Time // peer address → skipped until
	stop     context.CancelFunc
	stopped  chan struct{}
	stopOnce sync.Once
}

var _ vcsagent.Agents = (*Cluster)(nil)

// NewCluster returns a cluster over cfg.Local; Start announces it.
func NewCluster(cfg ClusterConfig) *Cluster {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.Heartbeat, DefaultHeartbeat}, {&cfg.PresenceLifetime, DefaultPresenceLifetime},
		{&cfg.PresenceCache, DefaultPresenceCache}, {&cfg.PeerDownFor, DefaultPeerDownFor}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewRelayTransport(nil)
	}
	return &Cluster{cfg: cfg, local: cfg.Local, log: cfg.Logger, now: cfg.Clock, rt: rt, down: map[string]time.Time{}}
}

// Start announces this process's agents until Stop: at once, on every
// connect and disconnect, and every heartbeat; each heartbeat also purges
// the rows of servers gone without a word. Without a presence store it
// does nothing.
func (c *Cluster) Start(ctx context.Context) {
	if c.cfg.Presence == nil {
		return
	}
	ctx, c.stop = context.WithCancel(context.WithoutCancel(ctx))
	c.stopped = make(chan struct{})
	go c.announce(ctx)
}

// Stop stops announcing and deletes this process's rows, so the others stop
// relaying here at once (a clean shutdown; after the local registry
// closed). Safe to call more than once, and without Start.
func (c *Cluster) Stop(ctx context.Context) {
	c.stopOnce.Do(func() {
		if c.stop == nil {
			return
		}
		c.stop()
		<-c.stopped
		if err := c.cfg.Presence.DeleteAgentPresence(ctx, c.cfg.ServerID); err != nil {
			c.log.Warn("could not remove this server's VCS agents from the database; the others ignore them within the presence lifetime",
				"error", err.Error())
		}
	})
	if t, ok := c.rt.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

func (c *Cluster) announce(ctx context.Context) {
	defer close(c.stopped)
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	failing := false
	for {
		err := c.publish(ctx)
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return
		}
		// Log transitions only: a database outage would log every 10 s.
		if err != nil && !failing {
			c.log.Warn("could not announce this server's VCS agents; other servers may not relay through them", "error", err.Error())
		} else if err == nil && failing {
			c.log.Info("announcing this server's VCS agents again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-c.local.Changes():
		case <-t.C:
			c.purge(ctx)
		}
	}
}

// publish writes this process's agents, seen now.
func (c *Cluster) publish(ctx context.Context) error {
	now := c.now().UTC()
	agents := c.local.all()
	rows := make([]vcsagent.Presence, 0, len(agents))
	for _, a := range agents {
		rows = append(rows, vcsagent.Presence{ServerID: c.cfg.ServerID, Address: c.cfg.Address, Pool: a.pool, AgentID: a.ID,
			AgentName: a.Name, Streams: a.Streams, ConnectedAt: a.ConnectedAt, SeenAt: now})
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.Heartbeat)
	defer cancel()
	return c.cfg.Presence.SetAgentPresence(wctx, c.cfg.ServerID, rows)
}

func (c *Cluster) purge(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.Heartbeat)
	defer cancel()
	if n, err := c.cfg.Presence.PurgeAgentPresence(pctx, c.now().Add(-c.cfg.PresenceLifetime)); err == nil && n > 0 {
		c.log.Info("forgot the VCS agents of servers that stopped without saying so", "rows", n)
	}
}

// others returns the live presence rows of the other servers, read at most
// once per PresenceCache.
func (c *Cluster) others(ctx context.Context) ([]vcsagent.Presence, error) {
	if c.cfg.Presence == nil {
		return nil, nil
	}
	c.fetch.Lock()
	defer c.fetch.Unlock()
	c.mu.Lock()
	rows, fresh := c.rows, c.now().Sub(c.readAt) < c.cfg.PresenceCache
	c.mu.Unlock()
	if fresh {
		return rows, nil
	}
	all, err := c.cfg.Presence.ListAgentPresence(ctx, c.now().Add(-c.cfg.PresenceLifetime))
	if err != nil {
		return nil, err
	}
	rows = make([]vcsagent.Presence, 0, len(all))
	for _, p := range all {
		if p.ServerID != c.cfg.ServerID {
			rows = append(rows, p)
		}
	}
	c.mu.Lock()
	c.rows, c.readAt = rows, c.now()
	c.mu.Unlock()
	return rows, nil
}

// peers returns the addresses of the other live servers holding an agent of
// pool, without those that refused a connection lately, in random order so
// that servers without an agent spread their calls.
func (c *Cluster) peers(ctx context.Context, pool string) ([]string, error) {
	rows, err := c.others(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, p := range rows {
		if p.Pool != pool || seen[p.Address] || p.Address == c.cfg.Address || now.Before(c.down[p.Address]) {
			continue
		}
		seen[p.Address] = true
		out = append(out, p.Address)
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// markDown skips addr for PeerDownFor.
func (c *Cluster) markDown(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[addr] = c.now().Add(c.cfg.PeerDownFor)
	for a, until := range c.down { // forget old entries: addresses change with deployments
		if c.now().After(until) {
			delete(c.down, a)
		}
	}
}

// Connected lists the agents of pool connected to any live server, merged
// by agent (an agent's streams may be spread over several servers: their
// counts add up, the earliest connection counts). Busy streams are known
// for this process's streams only. When the others cannot be read, the
// list holds this process's agents.
func (c *Cluster) Connected(ctx context.Context, pool string) []vcsagent.AgentInfo {
	out := c.local.Connected(pool)
	rows, err := c.others(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "could not read the other servers' VCS agents; listing this server's", "pool_id", pool, "error", err.Error())
		return out
	}
	var mine []vcsagent.Presence
	for _, p := range rows {
		if p.Pool == pool {
			mine = append(mine, p)
		}
	}
	return merge(out, mine)
}

// AgentsByPool lists the connected agents of every pool that has one, on
// every live server, merged as Connected merges them. Unlike Connected it
// fails when the other servers' agents cannot be read: whoever decides
// that a pool has no agent (agent_pool_empty) must not decide it on this
// server's agents alone.
func (c *Cluster) AgentsByPool(ctx context.Context) (map[string][]vcsagent.AgentInfo, error) {
	rows, err := c.others(ctx)
	if err != nil {
		return nil, fmt.Errorf("the other servers' VCS agents: %w", err)
	}
	local := map[string][]vcsagent.AgentInfo{}
	for _, a := range c.local.all() {
		local[a.pool] = append(local[a.pool], a.AgentInfo)
	}
	remote := map[string][]vcsagent.Presence{}
	for _, p := range rows {
		remote[p.Pool] = append(remote[p.Pool], p)
	}
	out := make(map[string][]vcsagent.AgentInfo, len(local)+len(remote))
	for pool, as := range local {
		out[pool] = merge(as, remote[pool])
	}
	for pool, ps := range remote {
		if _, ok := out[pool]; !ok {
			out[pool] = merge(nil, ps)
		}
	}
	return out, nil
}

// merge adds the presence rows of one pool to that pool's local agents, by
// agent: an agent's streams may be spread over several servers (their
// counts add up, the earliest connection counts).
func merge(out []vcsagent.AgentInfo, rows []vcsagent.Presence) []vcsagent.AgentInfo {
	at := make(map[string]int, len(out))
	for i, a := range out {
		at[a.ID] = i
	}
	for _, p := range rows {
		i, ok := at[p.AgentID]
		if !ok {
			at[p.AgentID] = len(out)
			out = append(out, vcsagent.AgentInfo{ID: p.AgentID, Name: p.AgentName, Streams: p.Streams, ConnectedAt: p.ConnectedAt})
			continue
		}
		out[i].Streams += p.Streams
		if p.ConnectedAt.Before(out[i].ConnectedAt) {
			out[i].ConnectedAt = p.ConnectedAt
		}
	}
	sortAgents(out)
	return out
}

// Disconnect closes this process's streams of pool that did not
// authenticate with keepTokenHash; the other servers' streams re-check
// their token within a keepalive tick.
func (c *Cluster) Disconnect(pool, keepTokenHash string) { c.local.Disconnect(pool, keepTokenHash) }

// RoundTripper returns the transport of pool's requests: through this
// process's agents when one is connected (waiting while all their streams
// are busy), else relayed to the other servers holding one, each tried in
// turn. It keeps the local transport's promises: *vcsagent.NoAgentError
// only when no live server could take the request, *vcsagent.RefusedError
// for a refusal, and a request that may have reached GitLab is sent again
// only when it is idempotent.
func (c *Cluster) RoundTripper(pool string) http.RoundTripper {
	return &clusterTransport{c: c, pool: pool}
}

type clusterTransport struct {
	c    *Cluster
	pool string
}

func (t *clusterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	resp, err := t.c.local.send(ctx, t.pool, req, body)
	if !errors.Is(err, vcsagent.ErrNoAgent) || t.c.cfg.Presence == nil {
		return resp, err
	}
	noAgent := err
	peers, err := t.c.peers(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("%w (the other servers' agents could not be looked up: %v)", noAgent, err)
	}
	for _, addr := range peers {
		resp, next, err := t.c.relay(ctx, addr, t.pool, req, body)
		if !next {
			return resp, err
		}
	}
	return nil, noAgent
}
