package feedback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

// DispatcherConfig configures a Dispatcher. Zero values take defaults.
type DispatcherConfig struct {
	Store Store
	// GitLab performs the writes; Endpoints says how to reach each
	// integration's GitLab.
	GitLab    GitLab
	Endpoints EndpointSource
	Backoff   Backoff
	Clock     func() time.Time
	Logger    *slog.Logger
	// Poll is how often the outbox is checked for due writes besides
	// Notify; default 250ms.
	Poll time.Duration
	// Lease is how long a claimed key stays with this process; a process
	// that dies loses its keys to the others after it. Default 2 minutes
	// (well above the 30 s request timeout).
	Lease time.Duration
	// Concurrency bounds the keys written at once; default 32. Each key
	// mostly waits for GitLab, and the calls in flight to one GitLab are
	// bounded apart (gitlab.DefaultMaxConcurrent). With 8 the write-back
	// topped out at about 450 commit statuses a second against a GitLab
	// answering in 5 ms; with 32, 750 (docs/benchmarks.md, sustained load).
	Concurrency int
	// Rand returns numbers in [0, 1) for jitter; default math/rand.
	Rand func() float64
	// Metrics counts the attempts; nil counts nothing.
	Metrics Metrics
}

// Metrics is told of every attempt to write to GitLab, for monitoring
// (internal/metrics implements it with Prometheus).
type Metrics interface {
	// GitLabWrite is told what became of one attempt (StateDone,
	// StateRetrying or StateFailed), whether it retried an earlier failed
	// attempt, and how long GitLab took (0 when it was not called).
	GitLabWrite(kind Kind, outcome WriteState, retry bool, took time.Duration)
}

// noMetrics stands in when nothing is measured.
type noMetrics struct{}

func (noMetrics) GitLabWrite(Kind, WriteState, bool, time.Duration) {}

// Dispatcher sends the outbox's due writes to GitLab. Each server runs one;
// several servers on one database share the work through key leases.
type Dispatcher struct {
	cfg    DispatcherConfig
	owner  string
	send   *sender
	log    *slog.Logger
	wake   chan struct{}
	slots  chan struct{}
	mu     sync.Mutex
	paused map[string]time.Time // integration → rate limited until

	cancel    context.CancelFunc // ends the writes in flight (and claiming)
	stopClaim context.CancelFunc // ends claiming
	loopDone  chan struct{}
	writes    sync.WaitGroup // the writes in flight
	release   atomic.Bool    // Shutdown: give the keys of canceled writes back
	stop      sync.Once
}

// NewDispatcher returns a Dispatcher; Start runs it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Rand == nil {
		cfg.Rand = defaultRand
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	clock := cfg.Clock
	now := func() time.Time { return clock().UTC() }
	cfg.Clock = now
	return &Dispatcher{
		cfg: cfg, owner: newOwner(), log: cfg.Logger,
		send:   &sender{gitlab: cfg.GitLab, refs: cfg.Store, now: now},
		wake:   make(chan struct{}, 1),
		slots:  make(chan struct{}, cfg.Concurrency),
		paused: map[string]time.Time{},
	}
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Start runs the dispatcher until Stop or Shutdown (or ctx ends).
func (d *Dispatcher) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	claimCtx, stopClaim := context.WithCancel(ctx)
	d.stopClaim, d.loopDone = stopClaim, make(chan struct{})
	go func() {
		defer close(d.loopDone)
		d.loop(claimCtx, ctx)
	}()
}

// Stop stops claiming, cancels the writes in flight and waits for them.
// Their keys stay leased until the lease runs out, as after a crash; the
// writes themselves stay in the outbox. Safe to call twice, after
// Shutdown, or without Start.
func (d *Dispatcher) Stop() {
	d.stop.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.loopDone
			d.writes.Wait()
		}
	})
}

// releaseTimeout bounds giving back the key of a write that Shutdown
// canceled.
const releaseTimeout = 5 * time.Second

// Shutdown stops claiming keys and lets the writes in flight finish until
// ctx ends. Those still in flight then are canceled (the attempt does not
// count) and their keys given back at once, so that another server takes
// them without waiting for the lease to run out. Safe to call twice, after
// Stop, or without Start.
func (d *Dispatcher) Shutdown(ctx context.Context) {
	d.stop.Do(func() {
		if d.cancel == nil {
			return
		}
		d.stopClaim()
		<-d.loopDone
		done := make(chan struct{})
		go func() {
			d.writes.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			d.release.Store(true)
			d.cancel()
			<-done
		}
		d.cancel()
	})
}

// Notify wakes the dispatcher: writes were just committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop claims keys while claimCtx lasts; the writes run under ctx.
func (d *Dispatcher) loop(claimCtx, ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	polled := true
	for {
		d.dispatch(claimCtx, ctx, polled)
		polled = false
		select {
		case <-claimCtx.Done():
			return
		case <-t.C:
			polled = true
		case <-d.wake:
		}
	}
}

// dispatch claims as many due keys as there are free slots and writes each
// in its own goroutine. Woken while writes are in flight, it waits until
// half the slots are free (a poll claims for any free slot): under load
// one claim then serves several keys instead of one per finished write,
// and on SQLite every claim takes the one write connection.
func (d *Dispatcher) dispatch(claimCtx, ctx context.Context, polled bool) {
	free := cap(d.slots) - len(d.slots)
	if free == 0 || claimCtx.Err() != nil {
		return
	}
	if busy := len(d.slots) > 0; busy && !polled && free < (cap(d.slots)+1)/2 {
		return
	}
	keys, err := d.cfg.Store.ClaimWriteKeys(claimCtx, d.owner, d.cfg.Clock(), d.cfg.Lease, free, d.pausedIntegrations())
	if err != nil {
		if claimCtx.Err() == nil {
			d.log.ErrorContext(ctx, "claim gitlab writes", "error", err)
		}
		return
	}
	if len(keys) > 0 {
		// The integrations as they are now, for this round's writes. Only
		// a shortcut: without it each write reads the state itself.
		if scoped, err := d.cfg.Store.CacheScope(ctx); err == nil {
			ctx = scoped
		}
	}
	for _, key := range keys {
		d.slots <- struct{}{}
		d.writes.Add(1)
		go func() {
			defer func() { <-d.slots; d.writes.Done() }()
			if err := d.process(ctx, key); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "gitlab write", "key", key.Key, "error", err)
			}
			if ctx.Err() != nil && d.release.Load() {
				d.giveBack(ctx, key.Key)
			}
			d.Notify() // the key may be due again, or a slot is free
		}()
	}
}

// giveBack releases this dispatcher's lease on key, recording nothing
// else: the canceled write is sent by whoever claims the key next, who
// takes it over (it may have reached GitLab before the cancel).
func (d *Dispatcher) giveBack(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := d.cfg.Store.GiveBackWriteKey(ctx, key, d.owner); err != nil {
		d.log.WarnContext(ctx, "give back gitlab write key; it waits for its lease to run out", "key", key, "error", err)
	}
}

func (d *Dispatcher) pausedIntegrations() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Clock()
	for id, until := range d.paused {
		if !now.Before(until) {
			delete(d.paused, id)
		}
	}
	return slices.Sorted(maps.Keys(d.paused))
}

// pause holds back an integration's writes after GitLab rate limited it:
// GitLab's limits are per user, so the other keys would hit them too.
func (d *Dispatcher) pause(integrationID string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if until.After(d.paused[integrationID]) {
		d.paused[integrationID] = until
	}
}

// process sends the next pending write of a key (nextWrite); older pending
// ones are superseded by it, and it is skipped itself when GitLab already
// has a newer one. Newer ones wait for the next round.
func (d *Dispatcher) process(ctx context.Context, claimed ClaimedKey) error {
	key, ws, mark := claimed.Key, claimed.Writes, claimed.Mark
	now := d.cfg.Clock()
	if len(ws) == 0 {
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, nil, nil, now)
	}
	next := nextWrite(ws)
	var rs []Resolution
	for _, w := range ws {
		if w.ID != next.ID && !w.After(next.Mark()) {
			rs = append(rs, Resolution{ID: w.ID, State: StateSkipped, Attempts: w.Attempts, NextAttemptAt: w.NextAttemptAt,
				LastError: w.LastError, Result: fmt.Sprintf("superseded by write %d", next.ID)})
		}
	}
	switch {
	case !next.After(mark):
		rs = append(rs, Resolution{ID: next.ID, State: StateSkipped, Attempts: next.Attempts,
			NextAttemptAt: next.NextAttemptAt, LastError: next.LastError, Result: "GitLab already has a newer write"})
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, nil, now)
	case next.NextAttemptAt.After(now):
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, nil, now)
	}
	// Sent before, perhaps: an attempt that failed may have reached
	// GitLab, and so may one whose server lost the key unresolved.
	r, sent := d.attempt(ctx, next, next.Attempts > 0 || claimed.TakenOver, claimed.Ref)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the attempt does not count
	}
	rs = append(rs, r)
	var newMark *Mark
	if sent {
		m := next.Mark()
		newMark = &m
	}
	return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, newMark, d.cfg.Clock())
}

// nextWrite is the write of a key to send now: the newest of ws, except
// that an in-progress commit status never supersedes a finished one before
// it. GitLab refuses running → pending and running → running but replaces
// a finished status with anything: had a plan's success ("waiting for
// confirmation") been superseded by the confirmation's pending, GitLab
// would still show running and refuse the apply's pending and running. The
// finished one goes first, the rest at the next round.
func nextWrite(ws []Write) Write {
	sorted := slices.SortedFunc(slices.Values(ws), func(a, b Write) int {
		switch {
		case a.After(b.Mark()):
			return 1
		case b.After(a.Mark()):
			return -1
		}
		return 0
	})
	newest := sorted[len(sorted)-1]
	if newest.Kind != KindStatus || !inProgress(newest.Payload.State) {
		return newest // GitLab takes a finished state from any
	}
	for i := len(sorted) - 2; i >= 0; i-- {
		if !inProgress(sorted[i].Payload.State) {
			return sorted[i]
		}
	}
	return newest
}

// attempt sends w once and says what to record; sent is true when GitLab
// has it. inDoubt: w may have reached GitLab already; ref: the GitLab id
// its key keeps.
func (d *Dispatcher) attempt(ctx context.Context, w Write, inDoubt bool, ref Ref) (Resolution, bool) {
	r, sent, took := d.try(ctx, w, inDoubt, ref)
	if ctx.Err() == nil { // a stopping server's attempt does not count
		d.cfg.Metrics.GitLabWrite(w.Kind, r.State, w.Attempts > 0, took)
	}
	return r, sent
}

// try is attempt without the counting; it also returns how long GitLab
// took (0 when it was not called).
func (d *Dispatcher) try(ctx context.Context, w Write, inDoubt bool, ref Ref) (Resolution, bool, time.Duration) {
	r := Resolution{ID: w.ID, Attempts: w.Attempts + 1, LastError: w.LastError}
	var out outcome
	var took time.Duration
	ep, err := d.cfg.Endpoints.Endpoint(ctx, w.IntegrationID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		out = outcome{fail: &failure{message: "integration " + w.IntegrationID + " no longer exists"}}
	case err != nil:
		out = retry(err)
	default:
		// The monotonic clock, not d.cfg.Clock: a latency, never stored.
		start := time.Now()
		out = d.send.send(ctx, ep, w, inDoubt, ref)
		took = time.Since(start)
	}
	now := d.cfg.Clock()
	if out.fail == nil {
		r.State, r.Result, r.NextAttemptAt = StateDone, out.result, now
		return r, true, took
	}
	r.LastError = out.fail.message
	if !out.fail.retryable {
		r.State, r.NextAttemptAt = StateFailed, now
		d.log.WarnContext(ctx, "gitlab write failed", "run_id", w.RunID, "kind", string(w.Kind), "error", r.LastError)
		return r, false, took
	}
	delay := d.cfg.Backoff.Delay(r.Attempts, out.fail.gitlab, now, d.cfg.Rand)
	if out.fail.noAgent {
		delay = min(delay, d.cfg.Backoff.NoAgent)
	}
	if now.Add(delay).Sub(w.CreatedAt) > d.cfg.Backoff.Budget {
		r.State, r.NextAttemptAt = StateFailed, now
		r.LastError = fmt.Sprintf("gave up after %d attempts over %s: %s", r.Attempts, now.Sub(w.CreatedAt).Round(time.Second), out.fail.message)
		return r, false, took
	}
	r.State, r.NextAttemptAt = StateRetrying, now.Add(delay)
	if out.fail.status == 429 {
		d.pause(w.IntegrationID, r.NextAttemptAt)
	}
	return r, false, took
}
