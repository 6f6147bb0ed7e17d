package worker_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/worker"
)

// sourceServer poses as the server's source endpoint: it sends chunks
// with a pause before each but the first, then sets the error trailer
// when trailer is not empty. left is closed when the client goes away
// before the end.
func sourceServer(t *testing.T, chunks []string, pause time.Duration, trailer string) (url string, left <-chan struct{}) {
	t.Helper()
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/workers/runs/r1/source" || r.Header.Get("Hoist-Lease") != "l1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Trailer", api.SourceErrorTrailer)
		w.WriteHeader(http.StatusOK)
		for i, c := range chunks {
			if i > 0 {
				select {
				case <-time.After(pause):
				case <-r.Context().Done():
					close(gone)
					return
				}
			}
			_, _ = w.Write([]byte(c))
			_ = http.NewResponseController(w).Flush()
		}
		if trailer != "" {
			w.Header().Set(api.SourceErrorTrailer, trailer)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, gone
}

func TestClientSource(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	bytesOf := func(n int) []string { return strings.Split(strings.Repeat("x", n), "") }
	tests := []struct {
		name    string
		chunks  []string
		pause   time.Duration
		trailer string
		wantErr string
		atLeast time.Duration
	}{
		{name: "a trickle never idle for the limit", chunks: bytesOf(15), pause: 100 * time.Millisecond, atLeast: 2 * idle},
		{name: "a stall", chunks: []string{"x", "y"}, pause: time.Minute, wantErr: "stalled: no data for 500ms"},
		{name: "an error after the first bytes", chunks: []string{"partial"},
			trailer: "GitLab's answer to GET /api/v4/projects/:id/repository/archive.tar.gz is larger than the 1 KiB cap (--max-archive-size)",
			wantErr: "larger than the 1 KiB cap (--max-archive-size)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := sourceServer(t, tt.chunks, tt.pause, tt.trailer)
			c := &worker.Client{BaseURL: url, PoolToken: "p", SourceIdle: idle}
			var w bytes.Buffer
			start := time.Now()
			err := c.Source(t.Context(), "r1", "l1", &w)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || w.String() != strings.Join(tt.chunks, "") {
				t.Fatalf("got %q, %v", w.String(), err)
			}
			if took := time.Since(start); took < tt.atLeast {
				t.Errorf("took %s, want at least %s", took, tt.atLeast)
			}
		})
	}
}

// TestClientSourceCanceled: the run's context ends the download at once,
// and the server sees its client go.
func TestClientSourceCanceled(t *testing.T) {
	t.Parallel()
	url, left := sourceServer(t, []string{"a", "b"}, time.Minute, "")
	c := &worker.Client{BaseURL: url, PoolToken: "p"}
	ctx, cancel := context.WithCancel(t.Context())
	w := &signalWriter{wrote: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- c.Source(ctx, "r1", "l1", w) }()
	<-w.wrote
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Source did not return after the cancel")
	}
	select {
	case <-left:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see the worker go")
	}
}

// signalWriter closes wrote at its first write.
type signalWriter struct {
	wrote chan struct{}
	n     int
}

func (s *signalWriter) Write(p []byte) (int, error) {
	if s.n == 0 {
		close(s.wrote)
	}
	s.n += len(p)
	return len(p), nil
}
