package gitlab_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// TestSharedClientHasNoLimiter: one client shared by goroutines against a
// GitLab that announces RateLimit-Limit: 60. client-go's own limiter would
// set itself up from the first answer (a data race under -race while other
// requests read it) and then pace the rest to under one a second; with it
// off, pacing is the callers' (Retry-After, RateLimit-Reset) and 20
// requests finish at once.
func TestSharedClientHasNoLimiter(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("RateLimit-Limit", "60")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1,"username":"hoist-bot"}`))
	}))
	t.Cleanup(srv.Close)
	client, err := gitlab.New([]string{"127.0.0.1"}, nil).APIClient(vcs.Endpoint{Integration: "x", APIHost: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, _, err := client.Users.CurrentUser(gl.WithContext(t.Context())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("20 requests took %s: client-go paced them", took)
	}
	if n := calls.Load(); n != 20 {
		t.Errorf("GitLab got %d requests, want 20 (no retries either)", n)
	}
}
