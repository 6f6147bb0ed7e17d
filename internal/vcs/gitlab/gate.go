package gitlab

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/vcs"
)

// DefaultMaxConcurrent is how many API calls one integration's GitLab
// gets from this server at once unless WithMaxConcurrent says otherwise:
// enough to hide a few milliseconds of GitLab latency behind webhook
// processing and the write-back together, few enough that a backlog of
// thousands of deliveries does not become thousands of simultaneous
// requests against one GitLab (whose rate limits are per user, so per
// integration token).
const DefaultMaxConcurrent = 16

// WithMaxConcurrent bounds the API calls in flight to one integration's
// GitLab (callers beyond it wait their turn); n <= 0 keeps
// DefaultMaxConcurrent. Source archive downloads are not counted: they
// are long and rare, and would hold a slot for their whole transfer.
func WithMaxConcurrent(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxConcurrent = n
		}
	}
}

// gate is the RoundTripper in front of one integration's API calls: at
// most cap(slots) requests in flight, and none while GitLab asked for a
// pause. A 429 pauses the integration until its Retry-After (else its
// RateLimit-Reset); an answer saying the quota is spent (RateLimit-Remaining
// 0) pauses it until RateLimit-Reset. GitLab's limits are per user, so one
// integration's calls share them whichever part of Hoist makes them; the
// callers still retry the refused call themselves (the job queue, the
// write-back), the gate only keeps the others from running into the same
// wall.
type gate struct {
	next  http.RoundTripper
	slots chan struct{}
	now   func() time.Time

	mu    sync.Mutex
	until time.Time // no call before this
}

// maxPause bounds a pause, whatever GitLab's headers say: a wrong clock
// or a hostile answer must not stop an integration for hours.
const maxPause = 5 * time.Minute

func newGate(next http.RoundTripper, n int, now func() time.Time) *gate {
	return &gate{next: next, slots: make(chan struct{}, n), now: now}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := g.wait(ctx); err != nil {
		closeBody(req)
		return nil, err
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		closeBody(req)
		return nil, ctx.Err()
	}
	resp, err := g.next.RoundTrip(req)
	<-g.slots
	if err == nil {
		g.observe(resp)
	}
	return resp, err
}

// wait blocks while the integration is paused.
func (g *gate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		d := g.until.Sub(g.now())
		g.mu.Unlock()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// observe pauses the integration when GitLab's answer asks for it.
func (g *gate) observe(resp *http.Response) {
	now := g.now()
	var d time.Duration
	var ok bool
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		d, ok = vcs.AskedWait(resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Reset"), now)
		if !ok {
			d, ok = time.Second, true // a 429 without a hint: a short breath
		}
	case strings.TrimSpace(resp.Header.Get("RateLimit-Remaining")) == "0":
		d, ok = vcs.AskedWait("", resp.Header.Get("RateLimit-Reset"), now)
	}
	if !ok || d <= 0 {
		return
	}
	until := now.Add(min(d, maxPause))
	g.mu.Lock()
	if until.After(g.until) {
		g.until = until
	}
	g.mu.Unlock()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
