package jobqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"
)

// Config configures a Queue. Zero values take the defaults.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Clock  func() time.Time
	// Workers is how many jobs run at once (default 4).
	Workers int
	// PollInterval bounds how long a job enqueued by another process (or
	// one whose retry time came) waits to be noticed (default 1 s); jobs
	// enqueued through this process wake the queue at once.
	PollInterval time.Duration
	// Lease is how long a worker holds a job without renewing it (default
	// 30 s); running jobs renew it every third of that. A dead worker's
	// jobs run again once their lease runs out.
	Lease time.Duration
	// Backoff is the delay before attempt n+1 after n failed attempts;
	// default: 1 s doubling to 10 min, with jitter.
	Backoff func(attempt int) time.Duration
	// Exclusive says the database serves this process alone (SQLite): at
	// start every lease belongs to a dead process and is released at once.
	Exclusive bool
	// WorkerID names this process's leases (default host-pid-random).
	WorkerID string
}

// Queue runs the handlers of registered job kinds.
type Queue struct {
	cfg      Config
	log      *slog.Logger
	handlers map[string]Handler
	onFail   map[string]FailFunc
	kinds    []string
	wake     chan struct{}

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc // ends the running jobs (and fetching)
	quit    chan struct{}      // closed by Shutdown: fetch no more
	done    chan struct{}
}

// New returns a stopped Queue.
func New(cfg Config) *Queue {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = defaultWorkerID()
	}
	return &Queue{cfg: cfg, log: cfg.Logger, handlers: map[string]Handler{}, onFail: map[string]FailFunc{}, wake: make(chan struct{}, 1)}
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// DefaultBackoff waits 1 s after the first failure, doubling up to 10 min,
// each delay drawn at random from its upper half so that jobs failing
// together (a GitLab outage) do not retry in lockstep.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = time.Second, 10 * time.Minute
	d := ceiling
	if attempt < 20 {
		d = min(base<<max(attempt-1, 0), ceiling)
	}
	return d/2 + mrand.N(d/2+1)
}

// Register sets the handler of a kind. Register before Start.
func (q *Queue) Register(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		panic("jobqueue: Register after Start")
	}
	if _, dup := q.handlers[kind]; !dup {
		q.kinds = append(q.kinds, kind)
	}
	q.handlers[kind] = h
}

// FailFunc learns that a job gave up (a permanent error, or its max age
// ran out), after the job was marked failed: the place to make the
// failure visible where users look.
type FailFunc func(ctx context.Context, j Job, err error)

// OnFail sets the FailFunc of a kind. Call it before Start.
func (q *Queue) OnFail(kind string, f FailFunc) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		panic("jobqueue: OnFail after Start")
	}
	q.onFail[kind] = f
}

// Enqueue writes jobs in a transaction of their own and wakes the queue.
// To enqueue together with other writes, use the store's transactional
// method and call Wake after the commit.
func (q *Queue) Enqueue(ctx context.Context, jobs ...NewJob) error {
	for _, j := range jobs {
		if err := j.Check(); err != nil {
			return err
		}
	}
	if err := q.cfg.Store.EnqueueJobs(ctx, q.cfg.Clock(), jobs); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	q.Wake()
	return nil
}

// Wake tells the queue that jobs were committed: it looks for work now
// instead of at the next poll. It never blocks.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Start runs the queue until Stop or until ctx ends. Starting twice is an
// error.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobqueue: already started")
	}
	if q.cfg.Exclusive {
		n, err := q.cfg.Store.ReleaseJobLeases(ctx)
		if err != nil {
			return fmt.Errorf("jobqueue: release stale leases: %w", err)
		}
		if n > 0 {
			q.log.Info("released job leases of a previous run", "jobs", n)
		}
	}
	q.started = true
	ctx, q.cancel = context.WithCancel(ctx)
	q.quit, q.done = make(chan struct{}), make(chan struct{})
	go q.loop(ctx, q.quit)
	return nil
}

// Stop stops fetching jobs, cancels the running ones (they are released
// to run again) and waits for them. It is safe to call more than once and
// before Start.
func (q *Queue) Stop() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace
	q.Shutdown(ctx)
}

// Shutdown stops fetching jobs and lets the running ones finish until ctx
// ends; those still running then are canceled and released to run again
// at once, here after a restart or on another server. It waits for them.
// It is safe to call more than once, with Stop, and before Start.
func (q *Queue) Shutdown(ctx context.Context) {
	q.mu.Lock()
	cancel, quit, done := q.cancel, q.quit, q.done
	q.cancel = nil
	q.mu.Unlock()
	if cancel == nil {
		return
	}
	close(quit)
	select {
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	<-done
}

// loop fetches due jobs whenever worker slots are free and there may be
// work: after a wake-up, a poll tick, or a fetch that filled every slot,
// until quit is closed; then it waits for the running jobs (which ctx
// cancels). It leases for any free slot: waiting for half the slots to
// free up (fewer lease statements) cost more in lost concurrency than it
// saved on SQLite's writer (docs/benchmarks.md).
func (q *Queue) loop(ctx context.Context, quit <-chan struct{}) {
	defer close(q.done)
	var running sync.WaitGroup
	defer running.Wait()
	slots := make(chan struct{}, q.cfg.Workers)
	freed := make(chan struct{}, q.cfg.Workers)
	tick := time.NewTicker(q.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		default:
		}
		free := q.cfg.Workers - len(slots)
		more := false
		if free > 0 {
			jobs, err := q.cfg.Store.LeaseJobs(ctx, q.cfg.WorkerID, q.kinds, q.cfg.Clock(), q.cfg.Lease, free)
			if err != nil && ctx.Err() == nil {
				q.log.Error("lease jobs", "error", err)
			}
			for _, j := range jobs {
				j.held = &holding{store: q.cfg.Store, worker: q.cfg.WorkerID}
				slots <- struct{}{}
				running.Add(1)
				go func() {
					defer running.Done()
					q.run(ctx, j)
					<-slots
					select { // one pending signal is enough
					case freed <- struct{}{}:
					default:
					}
				}()
			}
			more = len(jobs) == free
		}
		if more {
			continue // a full batch: there may be more due already
		}
		select {
		case <-ctx.Done():
			return
		case <-quit:
			return
		case <-q.wake:
		case <-tick.C:
		case <-freed:
			// A slot freed after a full batch: look again.
		}
	}
}
