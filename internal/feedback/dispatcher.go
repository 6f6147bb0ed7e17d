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
	// Concurrency bounds the keys written at once; default 8.
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
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   sync.Once
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
		cfg.Concurrency = 8
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

// Start runs the dispatcher until Stop (or ctx ends).
func (d *Dispatcher) Start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.loop(ctx)
	}()
}

// Stop stops claiming, cancels the writes in flight and waits for them.
// Their keys stay leased until the lease runs out, as after a crash; the
// writes themselves stay in the outbox. Safe to call twice, or without
// Start.
func (d *Dispatcher) Stop() {
	d.stop.Do(func() {
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
	})
}

// Notify wakes the dispatcher: writes were just committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) loop(ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		d.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// dispatch claims as many due keys as there are free slots and writes each
// in its own goroutine.
func (d *Dispatcher) dispatch(ctx context.Context) {
	free := cap(d.slots) - len(d.slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	keys, err := d.cfg.Store.ClaimWriteKeys(ctx, d.owner, d.cfg.Clock(), d.cfg.Lease, free, d.pausedIntegrations())
	if err != nil {
		if ctx.Err() == nil {
			d.log.ErrorContext(ctx, "claim gitlab writes", "error", err)
		}
		return
	}
	for _, key := range keys {
		d.slots <- struct{}{}
		d.wg.Add(1)
		go func() {
			defer func() { <-d.slots; d.wg.Done() }()
			if err := d.process(ctx, key); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "gitlab write", "key", key, "error", err)
			}
			d.Notify() // the key may be due again, or a slot is free
		}()
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

// process sends the newest pending write of a key; older pending ones are
// superseded by it, and it is skipped itself when GitLab already has a
// newer one.
func (d *Dispatcher) process(ctx context.Context, key string) error {
	ws, mark, err := d.cfg.Store.PendingWrites(ctx, key)
	if err != nil {
		return err
	}
	now := d.cfg.Clock()
	if len(ws) == 0 {
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, nil, nil, now)
	}
	newest := ws[0]
	for _, w := range ws[1:] {
		if w.After(newest.Mark()) {
			newest = w
		}
	}
	var rs []Resolution
	for _, w := range ws {
		if w.ID != newest.ID {
			rs = append(rs, Resolution{ID: w.ID, State: StateSkipped, Attempts: w.Attempts, NextAttemptAt: w.NextAttemptAt,
				LastError: w.LastError, Result: fmt.Sprintf("superseded by write %d", newest.ID)})
		}
	}
	switch {
	case !newest.After(mark):
		rs = append(rs, Resolution{ID: newest.ID, State: StateSkipped, Attempts: newest.Attempts,
			NextAttemptAt: newest.NextAttemptAt, LastError: newest.LastError, Result: "GitLab already has a newer write"})
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, nil, now)
	case newest.NextAttemptAt.After(now):
		return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, nil, now)
	}
	r, sent := d.attempt(ctx, newest)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the attempt does not count; the lease runs out
	}
	rs = append(rs, r)
	var newMark *Mark
	if sent {
		m := newest.Mark()
		newMark = &m
	}
	return d.cfg.Store.ResolveWrites(ctx, key, d.owner, rs, newMark, d.cfg.Clock())
}

// attempt sends w once and says what to record; sent is true when GitLab
// has it.
func (d *Dispatcher) attempt(ctx context.Context, w Write) (Resolution, bool) {
	r, sent, took := d.try(ctx, w)
	if ctx.Err() == nil { // a stopping server's attempt does not count
		d.cfg.Metrics.GitLabWrite(w.Kind, r.State, w.Attempts > 0, took)
	}
	return r, sent
}

// try is attempt without the counting; it also returns how long GitLab
// took (0 when it was not called).
func (d *Dispatcher) try(ctx context.Context, w Write) (Resolution, bool, time.Duration) {
	r := Resolution{ID: w.ID, Attempts: w.Attempts + 1, LastError: w.LastError}
	var out outcome
	var took time.Duration
	ep, err := d.cfg.Endpoints.Endpoint(ctx, w.IntegrationID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		out = outcome{fail: &failure{message: "integration " + w.IntegrationID + " no longer exists"}}
	case err != nil:
		out = outcome{fail: &failure{retryable: true, message: err.Error()}}
	default:
		// The monotonic clock, not d.cfg.Clock: a latency, never stored.
		start := time.Now()
		out = d.send.send(ctx, ep, w)
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
