package webhook

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// ErrStopped is returned for deliveries submitted after the intake stopped.
var ErrStopped = errors.New("webhook intake stopped")

// batcher is the group commit: requests hand their delivery to a writer
// goroutine, which stores every delivery waiting at that moment (up to
// max) in one transaction and answers each request once it committed and
// is durable. No timer: while one batch commits and syncs the next
// gathers, so under load batches grow and at rest a lone delivery commits
// at once. The wait for durability (an fsync on SQLite) holds the
// batcher, not the database's write connection, which other writers use
// meanwhile. The next batch waits for it rather than committing beside
// it: it would commit only what arrived during a commit, and many small
// commits cost a sixth more CPU a delivery than fewer larger ones
// (docs/benchmarks.md), for acknowledgements barely sooner: syncs run one
// at a time, so a batch committed during one waits for it anyway.
type batcher struct {
	store  Store
	log    *slog.Logger
	max    int
	wake   func() // tells the job queue that jobs were committed
	in     chan *pending
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

type pending struct {
	d    NewDelivery
	done chan result // buffered: the writer never blocks on it
}

type result struct {
	ins Inserted
	err error
}

func newBatcher(store Store, log *slog.Logger, maxBatch, writers int, wake func()) *batcher {
	b := &batcher{store: store, log: log, max: maxBatch, wake: wake,
		in: make(chan *pending, maxBatch*writers), stop: make(chan struct{})}
	for range writers {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

// submit stores d and returns once it is durable (or failed). A caller
// that gives up (ctx done) may still see d stored: a retry of the same
// delivery is then answered as a duplicate.
func (b *batcher) submit(ctx context.Context, d NewDelivery) (Inserted, error) {
	p := &pending{d: d, done: make(chan result, 1)}
	select {
	case b.in <- p:
	case <-b.stop:
		return Inserted{}, ErrStopped
	case <-ctx.Done():
		return Inserted{}, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r.ins, r.err
	case <-ctx.Done():
		return Inserted{}, ctx.Err()
	}
}

// close stops the writers once every submitted delivery is written. Call
// it after the HTTP server stopped handing in new ones. Safe to repeat.
func (b *batcher) close() {
	b.closed.Do(func() { close(b.stop) })
	b.wg.Wait()
}

func (b *batcher) loop() {
	defer b.wg.Done()
	batch := make([]*pending, 0, b.max)
	for {
		var first *pending
		select {
		case first = <-b.in:
		case <-b.stop:
			// Drain what was handed in before the stop.
			select {
			case first = <-b.in:
			default:
				return
			}
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < b.max {
			select {
			case p := <-b.in:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		b.write(batch)
	}
}

// write stores one batch. If the batch fails as a whole, each delivery is
// tried alone, so one bad delivery (its integration deleted meanwhile)
// cannot fail the others.
func (b *batcher) write(batch []*pending) {
	ds := make([]NewDelivery, len(batch))
	for i, p := range batch {
		ds[i] = p.d
	}
	// Not the requests' contexts: a batch is shared, and a request that gave
	// up must not abort the others' commit.
	ctx := context.Background()
	ins, err := b.store.InsertDeliveries(ctx, ds)
	if err == nil {
		if err = b.store.Durable(); err != nil {
			b.log.Error("webhook deliveries stored but not acknowledged: they may not survive a power loss", "deliveries", len(batch), "error", err)
		} else {
			b.wakeIfQueued(ins)
		}
		for i, p := range batch {
			p.done <- result{ins: ins[i], err: err}
		}
		return
	}
	if len(batch) > 1 {
		b.log.Warn("webhook batch failed; storing its deliveries one by one", "deliveries", len(batch), "error", err)
	}
	for _, p := range batch {
		one, err := b.store.InsertDeliveries(ctx, []NewDelivery{p.d})
		if err == nil {
			err = b.store.Durable()
		}
		if err != nil {
			p.done <- result{err: err}
			continue
		}
		b.wakeIfQueued(one)
		p.done <- result{ins: one[0]}
	}
}

func (b *batcher) wakeIfQueued(ins []Inserted) {
	for _, in := range ins {
		if !in.Duplicate && in.Status == Received {
			b.wake()
			return
		}
	}
}
