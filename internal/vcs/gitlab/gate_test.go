package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestGateBoundsCallsInFlight(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	next := roundTripFunc(func(*http.Request) (*http.Response, error) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inFlight.Add(-1)
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}, nil
	})
	g := newGate(next, 3, time.Now)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://gitlab.example/api/v4/user", nil)
			if _, err := g.RoundTrip(req); err != nil {
				t.Error(err)
			}
		})
	}
	for most.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if m := most.Load(); m != 3 {
		t.Errorf("%d calls were in flight at once, want at most (and here exactly) 3", m)
	}
}

func TestGatePausesWhenGitLabAsks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	reset := strconv.FormatInt(now.Add(30*time.Second).Unix(), 10)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		want   time.Duration // pause from now; 0: none
	}{
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"429 with RateLimit-Reset only", 429, http.Header{"Ratelimit-Reset": {reset}}, 30 * time.Second},
		{"429 without hints", 429, http.Header{}, time.Second},
		{"429 asking for hours", 429, http.Header{"Retry-After": {"36000"}}, maxPause},
		{"quota spent", 200, http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {reset}}, 30 * time.Second},
		{"quota left", 200, http.Header{"Ratelimit-Remaining": {"5"}, "Ratelimit-Reset": {reset}}, 0},
		{"plain answer", 200, http.Header{}, 0},
		{"server error", 503, http.Header{"Retry-After": {"7"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGate(nil, 1, func() time.Time { return now })
			g.observe(&http.Response{StatusCode: tc.status, Header: tc.header})
			got := time.Duration(0)
			if !g.until.IsZero() {
				got = g.until.Sub(now)
			}
			if got != tc.want {
				t.Errorf("pause %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGateWaitsOutAPauseOrItsContext(t *testing.T) {
	t.Parallel()
	calls := 0
	next := roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}, nil
	})
	g := newGate(next, 1, time.Now)
	g.until = time.Now().Add(50 * time.Millisecond)
	start := time.Now()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://gitlab.example/api/v4/user", nil)
	if _, err := g.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 50*time.Millisecond || calls != 1 {
		t.Errorf("call went out after %s (%d calls), want after the 50ms pause", took, calls)
	}
	g.until = time.Now().Add(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://gitlab.example/api/v4/user", nil)
	if _, err := g.RoundTrip(req); err == nil || calls != 1 {
		t.Errorf("paused call: err %v, %d calls; want the context's error and no call", err, calls)
	}
}
