package webhook

import (
	"bytes"
	"sync"
	"time"
)

// Recent hands the deliveries this server just received to its own
// processing, so that a delivery processed where it arrived, soon after,
// is not read back from the database (on SQLite a read there re-reads its
// pages: every commit in between empties a reader's page cache). It is
// only a shortcut: a delivery it does not hold (processed by another
// replica, after a restart, past its bounds) is read from the store as
// before. What it holds never changes once stored (the integration, the
// event, the arrival, the body); the project and ref are the intake's
// (empty for accepted events, which processing fills in).
type Recent struct {
	mu     sync.Mutex
	max    int           // bytes of bodies held at most
	ttl    time.Duration // how long an entry waits to be taken
	now    func() time.Time
	size   int
	byID   map[string]recentEntry
	order  []string // ids, oldest first (taken ones are skipped when swept)
	offset int      // order[:offset] are swept
}

type recentEntry struct {
	d  Delivery
	at time.Time
}

// Recent's bounds: a few seconds of a flood's bodies, and the time a
// delivery normally waits for a worker. Under a longer backlog the oldest
// deliveries, processed first, are the ones held.
const (
	recentMaxBytes = 8 << 20
	recentTTL      = 30 * time.Second
)

// NewRecent returns an empty Recent; clock nil means time.Now.
func NewRecent(clock func() time.Time) *Recent {
	if clock == nil {
		clock = time.Now
	}
	return &Recent{max: recentMaxBytes, ttl: recentTTL, now: clock, byID: map[string]recentEntry{}}
}

// put keeps a copy of what processing reads of d (Store.DeliveryToProcess),
// unless it is full.
func (r *Recent) put(d Delivery) {
	if r == nil {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now)
	if _, held := r.byID[d.ID]; held || r.size+len(d.Body) > r.max {
		return
	}
	// The arrival as the store keeps it (microseconds): processing
	// compares it with runs' times read back from the store.
	r.byID[d.ID] = recentEntry{d: Delivery{ID: d.ID, IntegrationID: d.IntegrationID, Event: d.Event, Project: d.Project,
		Ref: d.Ref, ReceivedAt: d.ReceivedAt.UTC().Truncate(time.Microsecond), Body: bytes.Clone(d.Body)}, at: now}
	r.order = append(r.order, d.ID)
	r.size += len(d.Body)
}

// Take returns and forgets the delivery id if it is held.
func (r *Recent) Take(id string) (Delivery, bool) {
	if r == nil {
		return Delivery{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[id]
	if !ok {
		return Delivery{}, false
	}
	delete(r.byID, id)
	r.size -= len(e.d.Body)
	return e.d, true
}

// sweep drops the entries older than the ttl (never taken: stored by a
// failed batch, a duplicate, or processed by another replica) and the ids
// of taken ones from the front of the order.
func (r *Recent) sweep(now time.Time) {
	for r.offset < len(r.order) {
		id := r.order[r.offset]
		if e, ok := r.byID[id]; ok {
			if now.Sub(e.at) < r.ttl {
				break
			}
			delete(r.byID, id)
			r.size -= len(e.d.Body)
		}
		r.offset++
	}
	// Reclaim the swept front once it is most of the slice.
	if r.offset > 1024 && r.offset*2 > len(r.order) {
		r.order = append(r.order[:0], r.order[r.offset:]...)
		r.offset = 0
	}
}
