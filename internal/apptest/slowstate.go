package apptest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// SlowState poses as another configuration's state behind OpenTofu's http
// backend: a plan reading it through terraform_remote_state (DataSource)
// waits until Release, so a test knows the run is in PLANNING and keeps it
// there.
type SlowState struct {
	srv      *httptest.Server
	gate     chan struct{}
	once     sync.Once
	requests atomic.Int32
}

// NewSlowState starts a SlowState; it is released and closed when the
// test ends.
func NewSlowState(t testing.TB) *SlowState {
	t.Helper()
	s := &SlowState{gate: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		select {
		case <-s.gate:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":4,"serial":1,"lineage":"slow","outputs":{},"resources":[]}`))
	}))
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// DataSource is the configuration block that reads the slow state; a
// configuration holding it plans only once released.
func (s *SlowState) DataSource() string {
	return `data "terraform_remote_state" "slow" {
  backend = "http"
  config  = { address = "` + s.srv.URL + `/state" }
}
`
}

// Release lets every plan through from now on.
func (s *SlowState) Release() { s.once.Do(func() { close(s.gate) }) }

// Requests is how many times plans asked for the state so far.
func (s *SlowState) Requests() int { return int(s.requests.Load()) }

// WaitRequests waits at most timeout until plans asked for the state n
// times in all.
func (s *SlowState) WaitRequests(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, fmt.Sprintf("plan %d to reach the slow state", n), func() bool {
		return s.Requests() >= n
	})
}
