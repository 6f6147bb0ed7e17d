package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
)

// rrProxy is the load balancer in front of the replicas of a test: it
// spreads requests round-robin over the backends that pass a health check
// of GET /readyz every 100 ms (haproxy's `option httpchk`), and sends a
// request whose connection was refused to the next backend (haproxy's
// `option redispatch`), since such a request never reached a server. It
// records every 5xx it answered, and which backend it came from.
type rrProxy struct {
	srv      *httptest.Server
	backends []string // base URLs; fixed, so a restarted replica keeps its place
	up       []atomic.Bool
	next     atomic.Uint64
	client   *http.Client

	mu      sync.Mutex
	answers []proxyAnswer
	downs   map[int][]time.Time // when the proxy saw each backend go down
}

// proxyAnswer is one request the proxy answered with a 5xx.
type proxyAnswer struct {
	method, path string
	backend      int // -1: no backend reached
	status       int
	start, end   time.Time
	err          string
}

// maxProxiedBody bounds what the proxy buffers of a request (to resend it).
const maxProxiedBody = 8 << 20

func newRRProxy(t *testing.T, backends ...string) *rrProxy {
	t.Helper()
	p := &rrProxy{backends: backends, up: make([]atomic.Bool, len(backends)),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, ResponseHeaderTimeout: 2 * time.Minute},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go p.check(ctx, done)
	t.Cleanup(func() {
		cancel()
		<-done
		p.srv.Close()
		p.client.CloseIdleConnections()
	})
	return p
}

// check polls every backend's /readyz until ctx ends.
func (p *rrProxy) check(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	c := &http.Client{Timeout: time.Second}
	for {
		for i, b := range p.backends {
			req, _ := http.NewRequestWithContext(ctx, "GET", b+"/readyz", nil)
			resp, err := c.Do(req)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			p.setUp(i, ok)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond): // the health-check interval
		}
	}
}

// pick returns the next healthy backend after the round-robin counter,
// skipping tried ones; -1 when none is left.
func (p *rrProxy) pick(tried map[int]bool) int {
	n := len(p.backends)
	start := int(p.next.Add(1) % uint64(n))
	for k := range n {
		i := (start + k) % n
		if p.up[i].Load() && !tried[i] {
			return i
		}
	}
	return -1
}

func (p *rrProxy) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody+1))
	if err != nil || len(body) > maxProxiedBody {
		http.Error(w, "request body unreadable or too large", http.StatusRequestEntityTooLarge)
		return
	}
	tried := map[int]bool{}
	for {
		i := p.pick(tried)
		if i < 0 {
			p.fail(w, r, -1, start, "no healthy backend")
			return
		}
		tried[i] = true
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.backends[i]+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		req.Header.Set("X-Forwarded-For", "127.0.0.1")
		resp, err := p.client.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				p.setUp(i, false) // down until the next check says otherwise
				continue
			}
			p.fail(w, r, i, start, err.Error())
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		// A client that hangs up is not the backend's failure; a backend
		// that dies in the middle of its answer is.
		src := &readErr{r: resp.Body}
		_, _ = io.Copy(w, src)
		resp.Body.Close()
		if resp.StatusCode >= 500 || src.err != nil {
			msg := ""
			if src.err != nil {
				msg = "answer cut: " + src.err.Error()
			}
			p.record(proxyAnswer{method: r.Method, path: r.URL.Path, backend: i, status: resp.StatusCode, start: start, end: time.Now(), err: msg})
		}
		return
	}
}

func (p *rrProxy) fail(w http.ResponseWriter, r *http.Request, backend int, start time.Time, msg string) {
	http.Error(w, "proxy: "+msg, http.StatusBadGateway)
	p.record(proxyAnswer{method: r.Method, path: r.URL.Path, backend: backend, status: http.StatusBadGateway, start: start, end: time.Now(), err: msg})
}

// setUp records backend i's health, and when it goes down.
func (p *rrProxy) setUp(i int, up bool) {
	if p.up[i].Swap(up) && !up {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.downs == nil {
			p.downs = map[int][]time.Time{}
		}
		p.downs[i] = append(p.downs[i], time.Now())
	}
}

// downAfter is the first time at or after t that the proxy saw backend i
// go down; the zero time when it has not.
func (p *rrProxy) downAfter(i int, t time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.downs[i] {
		if !d.Before(t) {
			return d
		}
	}
	return time.Time{}
}

func (p *rrProxy) record(a proxyAnswer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers = append(p.answers, a)
}

// failures returns the 5xx answers so far.
func (p *rrProxy) failures() []proxyAnswer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxyAnswer(nil), p.answers...)
}

// waitUp waits until the proxy's health check sees backend i up (or down).
func (p *rrProxy) waitUp(t *testing.T, i int, up bool) {
	t.Helper()
	apptest.Eventually(t, time.Minute, fmt.Sprintf("the proxy to see backend %d up=%v", i, up), func() bool {
		return p.up[i].Load() == up
	})
}

func (a proxyAnswer) String() string {
	return fmt.Sprintf("%s %s → backend %d: %d %s (%s–%s)", a.method, a.path, a.backend, a.status, a.err,
		a.start.Format("15:04:05.000"), a.end.Format("15:04:05.000"))
}

// readErr remembers the error reading r ended with, other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
