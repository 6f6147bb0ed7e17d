package hooks

import (
	"context"
	"errors"
	"sync"
)

// Queue delivers events asynchronously, like GitLab's Sidekiq workers:
// in order for each hook, one request at a time per hook, and hooks
// independently of each other so that a slow receiver only delays its own
// deliveries.
type Queue struct {
	deliverer   *Deliverer
	onDelivered func(Delivery)

	wake chan struct{} // nudges the dispatcher after Enqueue
	wg   sync.WaitGroup

	mu      sync.Mutex
	lanes   map[int]*lane // by hook ID
	pending int           // queued or in flight
	idle    chan struct{} // closed whenever pending == 0
	started bool
	stopped bool
	cancel  context.CancelFunc
}

type lane struct {
	jobs    []job
	running bool
}

type job struct {
	hook Hook
	msg  Message
}

// NewQueue returns a queue that sends with d (nil means a zero Deliverer)
// and reports every finished delivery, successful or not, to onDelivered
// (which may be nil; it is called from several goroutines). It delivers
// nothing until Start.
func NewQueue(d *Deliverer, onDelivered func(Delivery)) *Queue {
	if d == nil {
		d = &Deliverer{}
	}
	idle := make(chan struct{})
	close(idle)
	return &Queue{
		deliverer:   d,
		onDelivered: onDelivered,
		wake:        make(chan struct{}, 1),
		lanes:       map[int]*lane{},
		idle:        idle,
	}
}

// Start begins delivering, until ctx ends or Stop is called.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started || q.stopped {
		return errors.New("hooks queue: already started or stopped")
	}
	q.started = true
	ctx, q.cancel = context.WithCancel(ctx)
	q.wg.Add(1)
	go q.dispatch(ctx)
	return nil
}

// Stop cancels deliveries in flight, waits for the workers to return and
// drops what is still queued. It is safe to call more than once.
func (q *Queue) Stop() {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.stopped = true
	cancel := q.cancel
	q.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	q.wg.Wait()

	q.mu.Lock()
	defer q.mu.Unlock()
	for id, l := range q.lanes {
		q.finishLocked(len(l.jobs))
		delete(q.lanes, id)
	}
}

// Enqueue queues body for every hook that wants event and returns how
// many deliveries were queued. All of them share one X-Gitlab-Event-UUID.
// After Stop it queues nothing.
func (q *Queue) Enqueue(hooks []Hook, event string, body []byte) int {
	msg := Message{Event: event, Body: body, EventUUID: q.deliverer.uuid()}
	q.mu.Lock()
	n := 0
	for _, h := range hooks {
		if q.stopped || !h.Wants(event) {
			continue
		}
		l := q.lanes[h.ID]
		if l == nil {
			l = &lane{}
			q.lanes[h.ID] = l
		}
		l.jobs = append(l.jobs, job{hook: h, msg: msg})
		if q.pending == 0 {
			q.idle = make(chan struct{})
		}
		q.pending++
		n++
	}
	q.mu.Unlock()
	if n > 0 {
		select {
		case q.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return n
}

// Wait blocks until nothing is queued or in flight (or the queue is
// stopped), or until ctx ends.
func (q *Queue) Wait(ctx context.Context) error {
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatch starts a worker for every hook with queued deliveries and no
// worker yet, each time Enqueue wakes it.
func (q *Queue) dispatch(ctx context.Context) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		for _, l := range q.lanes {
			if len(l.jobs) > 0 && !l.running {
				l.running = true
				q.wg.Add(1)
				go q.runLane(ctx, l)
			}
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
	}
}

// runLane delivers one hook's queue in order until it is empty.
func (q *Queue) runLane(ctx context.Context, l *lane) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(l.jobs) == 0 || ctx.Err() != nil {
			l.running = false
			q.mu.Unlock()
			return
		}
		j := l.jobs[0]
		l.jobs = l.jobs[1:]
		q.mu.Unlock()

		del := q.deliverer.Send(ctx, j.hook, j.msg)
		if q.onDelivered != nil {
			q.onDelivered(del)
		}

		q.mu.Lock()
		q.finishLocked(1)
		q.mu.Unlock()
	}
}

// finishLocked marks n deliveries done and wakes waiters when none are
// left. q.mu must be held.
func (q *Queue) finishLocked(n int) {
	if n == 0 {
		return
	}
	q.pending -= n
	if q.pending == 0 {
		close(q.idle)
	}
}
