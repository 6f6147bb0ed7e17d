package notify

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// periodic runs a check at once, then every interval, until stopped or
// its context ends: the loop of the token and pool watches.
type periodic struct {
	interval time.Duration
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	running  atomic.Bool
}

func newPeriodic(interval time.Duration) periodic {
	return periodic{interval: interval, stop: make(chan struct{}), done: make(chan struct{})}
}

// start runs check in a goroutine of its own; report gets each error,
// except those of a context that ended.
func (p *periodic) start(ctx context.Context, check func(context.Context) error, report func(context.Context, error)) {
	p.running.Store(true)
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			if err := check(ctx); err != nil && ctx.Err() == nil {
				report(ctx, err)
			}
			select {
			case <-ctx.Done():
				return
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop stops the checks and waits for one in flight. Safe to call twice,
// or without start.
func (p *periodic) Stop() {
	p.once.Do(func() {
		close(p.stop)
		if p.running.Load() {
			<-p.done
		}
	})
}
