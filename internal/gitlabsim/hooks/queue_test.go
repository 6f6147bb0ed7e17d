package hooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recorder collects the deliveries a queue reports.
type recorder struct {
	mu   sync.Mutex
	dels []Delivery
	ch   chan Delivery
}

func newRecorder() *recorder { return &recorder{ch: make(chan Delivery, 256)} }

func (r *recorder) record(d Delivery) {
	r.mu.Lock()
	r.dels = append(r.dels, d)
	r.mu.Unlock()
	r.ch <- d
}

func (r *recorder) all() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.dels...)
}

// setupQueue starts a queue that delivers through d and stops it when the
// test ends.
func setupQueue(t *testing.T, d *Deliverer) (*Queue, *recorder) {
	t.Helper()
	rec := newRecorder()
	q := NewQueue(d, rec.record)
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Stop)
	return q, rec
}

func waitIdle(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("queue not idle: %v", err)
	}
}

func TestQueueDeliversInOrderPerHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]string{} // path -> bodies in arrival order
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.URL.Path] = append(seen[r.URL.Path], string(body))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	q, rec := setupQueue(t, testDeliverer())

	hooks := []Hook{
		{ID: 1, URL: srv.URL + "/a", PushEvents: true},
		{ID: 2, URL: srv.URL + "/b", PushEvents: true, TagPushEvents: true},
		{ID: 3, URL: srv.URL + "/c", MergeRequestsEvents: true}, // not subscribed to pushes
	}
	const n = 30
	for i := range n {
		if got := q.Enqueue(hooks, EventPush, []byte(strconv.Itoa(i))); got != 2 {
			t.Fatalf("Enqueue queued %d deliveries, want 2", got)
		}
	}
	waitIdle(t, q)

	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/a", "/b"} {
		if len(seen[path]) != n {
			t.Fatalf("%s received %d deliveries, want %d", path, len(seen[path]), n)
		}
		for i, body := range seen[path] {
			if body != strconv.Itoa(i) {
				t.Fatalf("%s delivery %d had body %q: out of order", path, i, body)
			}
		}
	}
	if len(seen["/c"]) != 0 {
		t.Errorf("hook without push events received %d pushes", len(seen["/c"]))
	}
	dels := rec.all()
	if len(dels) != 2*n {
		t.Fatalf("OnDelivered called %d times, want %d", len(dels), 2*n)
	}
	eventUUIDs := map[string]int{}
	for _, d := range dels {
		if !d.Succeeded() {
			t.Errorf("delivery %d failed: %d %q", d.ID, d.StatusCode, d.Err)
		}
		eventUUIDs[d.EventUUID]++
	}
	if len(eventUUIDs) != n {
		t.Errorf("%d distinct event UUIDs, want %d (one per event, shared by both hooks)", len(eventUUIDs), n)
	}
}

func TestQueueSlowHookDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	fast, got := receiver(t, http.StatusOK, "")
	// A timeout far beyond the test's own bounds, so the slow hook only
	// finishes when released.
	d := testDeliverer()
	d.Timeout = time.Minute
	q, rec := setupQueue(t, d)
	t.Cleanup(func() { close(release) }) // before q.Stop and slow.Close

	hooks := []Hook{{ID: 1, URL: slow.URL, PushEvents: true}, {ID: 2, URL: fast.URL, PushEvents: true}}
	q.Enqueue(hooks, EventPush, pushBody(t))
	q.Enqueue(hooks, EventPush, pushBody(t))

	timeout := time.After(5 * time.Second)
	for range 2 {
		select {
		case <-got:
		case <-timeout:
			t.Fatal("fast hook not delivered while the slow one hangs")
		}
	}
	select {
	case d := <-rec.ch:
		if d.HookID != 2 {
			t.Errorf("first finished delivery was for hook %d, want the fast hook 2", d.HookID)
		}
	case <-timeout:
		t.Fatal("no delivery reported")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := q.Wait(ctx); err == nil {
		t.Error("Wait returned while the slow hook still holds a delivery")
	}
	for i := range 2 { // finish the slow hook's two requests, in turn
		select {
		case release <- struct{}{}:
		case <-timeout:
			t.Fatalf("slow hook request %d never arrived", i+1)
		}
	}
	waitIdle(t, q)
	if n := len(rec.all()); n != 4 {
		t.Errorf("%d deliveries reported, want 4", n)
	}
}

func TestQueueLifecycle(t *testing.T) {
	t.Parallel()
	srv, _ := receiver(t, http.StatusOK, "")
	hooks := []Hook{{ID: 1, URL: srv.URL, NoteEvents: true}}
	rec := newRecorder()
	q := NewQueue(nil, rec.record)

	// Queued before Start: delivered once started.
	if n := q.Enqueue(hooks, EventNote, []byte("{}")); n != 1 {
		t.Fatalf("Enqueue before Start queued %d, want 1", n)
	}
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(t.Context()); err == nil {
		t.Error("second Start: want error")
	}
	waitIdle(t, q)
	if n := len(rec.all()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}

	q.Stop()
	q.Stop() // tolerated
	if n := q.Enqueue(hooks, EventNote, []byte("{}")); n != 0 {
		t.Errorf("Enqueue after Stop queued %d, want 0", n)
	}
	waitIdle(t, q)
	if err := q.Start(t.Context()); err == nil {
		t.Error("Start after Stop: want error")
	}
}

func TestQueueStopDropsQueued(t *testing.T) {
	t.Parallel()
	q := NewQueue(testDeliverer(), nil)
	hooks := []Hook{{ID: 1, URL: "http://127.0.0.1:1/never", PushEvents: true}}
	if n := q.Enqueue(hooks, EventPush, []byte("{}")); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
	q.Stop() // never started: the queued delivery is dropped
	waitIdle(t, q)
}
