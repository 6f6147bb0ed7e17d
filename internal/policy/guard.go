package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMemory bounds how much one evaluation may grow the server's heap
// (issue 17's "memory bound"). Hoist's own policies over a 5,000-file push
// or a 1,000-resource plan grow it by under 1 MiB; 128 MiB leaves room for
// policies over the largest plans (32 MiB of JSON) and for what the rest
// of the server allocates meanwhile, while a policy that builds a huge
// value is stopped long before it threatens the server.
const DefaultMemory = 128 << 20

// ErrMemory is the cause of an evaluation stopped by the memory bound.
var ErrMemory = errors.New("policy evaluation stopped: it used more memory than allowed")

// checkEvery is how many of OPA's cancellation checks pass between two
// readings of the heap: a reading costs about 0.4 µs, a check is made
// before every expression (tens of nanoseconds of work each), so reading
// every 64th costs a few percent of an evaluation.
const checkEvery = 64

// sampleEvery is how often a timer reads the heap while an evaluation
// runs, for what the checks do not see: a built-in call runs without
// asking (concat of a long array, a replace), so 64 steps of such calls
// can allocate far more than 64 steps of ordinary ones. Evaluations that
// end sooner never start it.
const sampleEvery = time.Millisecond

// heapMetric is the bytes of heap objects, live or not yet swept: it moves
// as soon as an evaluation allocates, unlike the live heap that only a
// finished garbage collection updates.
const heapMetric = "/memory/classes/heap/objects:bytes"

// guard is the topdown.Cancel of one evaluation. OPA asks Cancelled before
// evaluating every expression and inside its long-running built-ins
// (numbers.range checks it for every number), which makes it the one
// place an embedder can stop an evaluation from within: every checkEvery
// calls, and every sampleEvery from a timer, the heap is read and the
// evaluation stopped when the heap has grown by more than limit since it
// began. The heap is the process's: Go does not count allocations per
// goroutine, so an evaluation running while something else in the server
// allocates that much is stopped too (and fails closed);
// docs/design/policy-limits.md.
type guard struct {
	limit uint64
	start uint64
	// One sample for the evaluating goroutine, one for the timer's:
	// metrics.Read writes into them.
	sample, timerSample [1]metrics.Sample

	calls    atomic.Uint64
	stopped  atomic.Bool
	overHeap atomic.Bool
	grew     atomic.Uint64 // the growth seen when overHeap was set
}

func newGuard(limit int64) *guard {
	g := &guard{limit: uint64(limit)}
	g.sample[0].Name, g.timerSample[0].Name = heapMetric, heapMetric
	g.start = readHeap(g.sample[:])
	return g
}

func readHeap(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0 // not supported by this runtime: the bound never trips
	}
	return s[0].Value.Uint64()
}

// Cancel stops the evaluation (the timeout or the caller's context).
func (g *guard) Cancel() { g.stopped.Store(true) }

// Cancelled reports whether the evaluation must stop, checking the heap
// every checkEvery calls.
func (g *guard) Cancelled() bool {
	if g.stopped.Load() {
		return true
	}
	if g.calls.Add(1)%checkEvery != 0 {
		return false
	}
	return g.check(g.sample[:])
}

// check reads the heap into s and stops the evaluation when it grew past
// the limit.
func (g *guard) check(s []metrics.Sample) bool {
	if now := readHeap(s); now > g.start && now-g.start > g.limit {
		g.grew.Store(now - g.start)
		g.overHeap.Store(true)
		g.stopped.Store(true)
		return true
	}
	return false
}

// watch makes ctx's end (the timeout, the caller) stop the evaluation and
// starts the timer; the returned func stops both.
func (g *guard) watch(ctx context.Context) func() {
	stopCtx := context.AfterFunc(ctx, g.Cancel)
	var mu sync.Mutex // orders the timer's Reset against the stop
	done := false
	mu.Lock()
	var t *time.Timer
	t = time.AfterFunc(sampleEvery, func() {
		stop := g.check(g.timerSample[:])
		mu.Lock()
		defer mu.Unlock()
		if !done && !stop {
			t.Reset(sampleEvery)
		}
	})
	mu.Unlock()
	return func() {
		stopCtx()
		mu.Lock()
		done = true
		mu.Unlock()
		t.Stop()
	}
}

// err is why the guard stopped the evaluation, or nil when it was not
// the memory bound.
func (g *guard) err() error {
	if !g.overHeap.Load() {
		return nil
	}
	return fmt.Errorf("%w: the heap grew by %.1f MiB during it, more than the %d MiB bound",
		ErrMemory, float64(g.grew.Load())/(1<<20), g.limit>>20)
}
