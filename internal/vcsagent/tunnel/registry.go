package tunnel

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Registry is the agents connected to this server process, per pool. It
// picks a stream for each request (least-busy agent first, round-robin
// among equals) and implements vcsagent.Agents.
type Registry struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	pools map[string]map[string]*agentConn // pool → agent id → agent
	wake  chan struct{}                    // closed and replaced whenever a stream frees up or goes away
	// changed gets a token (never blocking, so bursts coalesce) whenever
	// a stream connects or goes away: the cluster announces the change.
	changed chan struct{}
	seq     uint64
	closed  bool
}

// agentConn is one agent process: the streams it opened with one id.
type agentConn struct {
	id, name, pool string
	connectedAt    time.Time
	streams        map[*stream]struct{}
	busy           int
	lastPick       uint64
}

// NewRegistry returns an empty registry. log may be nil; now defaults to
// time.Now.
func NewRegistry(log *slog.Logger, now func() time.Time) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Registry{log: log, now: now, pools: map[string]map[string]*agentConn{}, wake: make(chan struct{}),
		changed: make(chan struct{}, 1)}
}

// Changes receives a value after streams connected or went away (several
// changes may give one value).
func (r *Registry) Changes() <-chan struct{} { return r.changed }

func (r *Registry) signalChange() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// notifyLocked wakes every caller waiting for a stream.
func (r *Registry) notifyLocked() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// add registers a new stream of agent id in pool; false when the registry
// is closed.
func (r *Registry) add(pool, agentID, name, tokenHash string, conn *websocket.Conn) (*stream, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false
	}
	agents := r.pools[pool]
	if agents == nil {
		agents = map[string]*agentConn{}
		r.pools[pool] = agents
	}
	a := agents[agentID]
	if a == nil {
		a = &agentConn{id: agentID, name: name, pool: pool, connectedAt: r.now().UTC(), streams: map[*stream]struct{}{}}
		agents[agentID] = a
		r.log.Info("vcs agent connected", "pool_id", pool, "agent_id", agentID, "agent_name", name)
	}
	s := newStream(r, conn, a, tokenHash)
	a.streams[s] = struct{}{}
	r.notifyLocked()
	r.signalChange()
	return s, true
}

// remove forgets a stream whose connection ended.
func (r *Registry) remove(s *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.removed {
		return
	}
	s.removed = true
	a := s.agent
	if s.busy {
		a.busy--
	}
	delete(a.streams, s)
	if len(a.streams) == 0 {
		agents := r.pools[a.pool]
		delete(agents, a.id)
		if len(agents) == 0 {
			delete(r.pools, a.pool)
		}
		r.log.Info("vcs agent disconnected", "pool_id", a.pool, "agent_id", a.id, "agent_name", a.name)
	}
	r.notifyLocked()
	r.signalChange()
}

// acquire returns an idle stream of pool, marked busy, waiting while every
// stream is busy. No agent connected is an immediate *vcsagent.NoAgentError.
func (r *Registry) acquire(ctx context.Context, pool string) (*stream, error) {
	for {
		r.mu.Lock()
		agents := r.pools[pool]
		if len(agents) == 0 || r.closed {
			r.mu.Unlock()
			return nil, &vcsagent.NoAgentError{Pool: pool}
		}
		if s := r.pickLocked(agents); s != nil {
			s.busy = true
			s.agent.busy++
			r.seq++
			s.agent.lastPick = r.seq
			r.mu.Unlock()
			return s, nil
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// pickLocked chooses an idle stream of the least busy agent; among equally
// busy agents the one picked longest ago, so load spreads round-robin.
func (r *Registry) pickLocked(agents map[string]*agentConn) *stream {
	var best *agentConn
	var pick *stream
	for _, a := range agents {
		idle := a.idle()
		if idle == nil {
			continue
		}
		if best == nil || a.busy < best.busy || (a.busy == best.busy && a.lastPick < best.lastPick) {
			best, pick = a, idle
		}
	}
	return pick
}

func (a *agentConn) idle() *stream {
	for s := range a.streams {
		if !s.busy {
			return s
		}
	}
	return nil
}

// release marks a held stream idle again.
func (r *Registry) release(s *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.busy {
		return
	}
	s.busy = false
	if !s.removed {
		s.agent.busy--
	}
	r.notifyLocked()
}

// Connected lists the agents of pool connected to this process, oldest
// first.
func (r *Registry) Connected(pool string) []vcsagent.AgentInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []vcsagent.AgentInfo{}
	for _, a := range r.pools[pool] {
		out = append(out, vcsagent.AgentInfo{ID: a.id, Name: a.name, Streams: len(a.streams), Busy: a.busy, ConnectedAt: a.connectedAt})
	}
	sortAgents(out)
	return out
}

// sortAgents orders agents oldest first, by id among equals.
func sortAgents(agents []vcsagent.AgentInfo) {
	slices.SortFunc(agents, func(x, y vcsagent.AgentInfo) int {
		if c := x.ConnectedAt.Compare(y.ConnectedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
}

// pooledAgent is one connected agent and its pool.
type pooledAgent struct {
	pool string
	vcsagent.AgentInfo
}

// all lists every connected agent of every pool (what the cluster
// announces).
func (r *Registry) all() []pooledAgent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pooledAgent
	for pool, agents := range r.pools {
		for _, a := range agents {
			out = append(out, pooledAgent{pool: pool, AgentInfo: vcsagent.AgentInfo{ID: a.id, Name: a.name,
				Streams: len(a.streams), Busy: a.busy, ConnectedAt: a.connectedAt}})
		}
	}
	return out
}

// Counts returns how many agents are connected to this server, by pool;
// pools without one are absent.
func (r *Registry) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.pools))
	for pool, agents := range r.pools {
		out[pool] = len(agents)
	}
	return out
}

// Disconnect closes the streams of pool that did not authenticate with
// keepTokenHash ("" closes them all): a rotated token stops working at once.
// They leave the pool here, not when their handlers have unwound: meanwhile
// a call could have picked one that is closing.
func (r *Registry) Disconnect(pool, keepTokenHash string) {
	for _, s := range r.streams(pool) {
		if keepTokenHash == "" || s.tokenHash != keepTokenHash {
			r.remove(s)
			s.close(websocket.StatusPolicyViolation, "pool token rotated or pool deleted")
		}
	}
}

func (r *Registry) streams(pool string) []*stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*stream
	for _, a := range r.pools[pool] {
		for s := range a.streams {
			out = append(out, s)
		}
	}
	return out
}

// Close disconnects every agent and refuses new ones (server shutdown;
// hijacked connections are not closed by http.Server.Shutdown). It is safe
// to call more than once.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	var all []*stream
	for _, agents := range r.pools {
		for _, a := range agents {
			for s := range a.streams {
				all = append(all, s)
			}
		}
	}
	r.notifyLocked()
	r.mu.Unlock()
	for _, s := range all {
		s.close(websocket.StatusGoingAway, "server shutting down")
	}
}
