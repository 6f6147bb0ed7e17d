package gitlab_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// feed is what a fake GitLab sends: size bytes in chunks of chunk bytes,
// with every between chunks; a JSON feed is a string that never ends
// ({"id":1,"name":"xxx…).
type feed struct {
	size, chunk int
	every       time.Duration
	withLength  bool
	contentType string
}

// fakeGitLab serves f on every path and records how much it sent and
// whether the client left before the end.
type fakeGitLab struct {
	url  string
	sent atomic.Int64
	left chan struct{} // closed when a client leaves an answer early
}

func newFakeGitLab(t *testing.T, f feed) *fakeGitLab {
	t.Helper()
	g := &fakeGitLab{left: make(chan struct{})}
	var once atomic.Bool
	leave := func() {
		if once.CompareAndSwap(false, true) {
			close(g.left)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.withLength {
			w.Header().Set("Content-Length", strconv.Itoa(f.size))
		}
		w.Header().Set("Content-Type", f.contentType)
		buf, prefix := bytes.Repeat([]byte{'x'}, f.chunk), ""
		if f.contentType == "application/json" {
			prefix = `{"id":1,"name":"`
		}
		for sent := 0; sent < f.size; {
			b := buf[:min(f.chunk, f.size-sent)]
			if sent < len(prefix) {
				b = []byte(prefix[sent:min(len(prefix), sent+len(b))])
			}
			n, err := w.Write(b)
			sent += n
			g.sent.Add(int64(n))
			if err != nil {
				leave()
				return
			}
			_ = http.NewResponseController(w).Flush()
			if f.every > 0 {
				select {
				case <-time.After(f.every):
				case <-r.Context().Done():
					leave()
					return
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// waitLeft fails unless the client left the answer within limit.
func (g *fakeGitLab) waitLeft(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-g.left:
	case <-time.After(limit):
		t.Fatalf("the fake GitLab still sends after %s (%d bytes out)", limit, g.sent.Load())
	}
}

func TestAPIAnswerCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		caps    int64 // 0: the default
		feed    feed
		wantCap string
	}{
		{"200 MB streamed, default cap", 0, feed{size: 200 << 20, chunk: 64 << 10}, "32 MiB"},
		{"streamed over a low cap", 1 << 20, feed{size: 64 << 20, chunk: 64 << 10}, "1 MiB"},
		{"announced over a low cap", 1 << 20, feed{size: 64 << 20, chunk: 64 << 10, withLength: true}, "1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.feed.contentType = "application/json"
			g := newFakeGitLab(t, tt.feed)
			c := gitlab.New(nil, nil, gitlab.WithCaps(tt.caps, 0))
			_, err := c.CheckToken(t.Context(), vcs.Endpoint{APIHost: g.url, Token: testToken})
			wantRefusal(t, err, "api_host", "GitLab's answer to GET /api/v4/personal_access_tokens/self is larger than the "+tt.wantCap+" cap (--max-gitlab-response)",
				"check that "+g.url+" is GitLab's API")
			g.waitLeft(t, 5*time.Second)
			if limit := int64(tt.feed.size) / 2; g.sent.Load() > limit {
				t.Errorf("the fake sent %d bytes: the answer was drained, not cut", g.sent.Load())
			}
		})
	}
}

// archive downloads project acme/infra's archive from apiHost.
func archive(ctx context.Context, c *gitlab.Client, apiHost string) (int, error) {
	var w bytes.Buffer
	err := c.Archive(ctx, vcs.Endpoint{APIHost: apiHost, Token: testToken}, "acme/infra", strings.Repeat("a", 40), "", &w)
	return w.Len(), err
}

// wantArchiveError checks that err is an invalid error whose client-safe
// message contains every fragment.
func wantArchiveError(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("err = %v, want apperr invalid", err)
	}
	for _, f := range fragments {
		if msg := apperr.MessageOf(err); !strings.Contains(msg, f) {
			t.Errorf("message %q does not contain %q", msg, f)
		}
	}
	if strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("%q blames reachability", err.Error())
	}
}

func TestArchiveCap(t *testing.T) {
	t.Parallel()
	t.Run("over the archive cap", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, feed{size: 8 << 20, chunk: 32 << 10})
		n, err := archive(t.Context(), gitlab.New(nil, nil, gitlab.WithCaps(0, 64<<10)), g.url)
		wantArchiveError(t, err, "GitLab's answer to GET /api/v4/projects/:id/repository/archive.tar.gz is larger than the 64 KiB cap (--max-archive-size)")
		if n > 64<<10 {
			t.Errorf("%d bytes written past the cap", n)
		}
		g.waitLeft(t, 5*time.Second)
	})
	t.Run("exempt from the API cap", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, feed{size: 1 << 20, chunk: 32 << 10})
		n, err := archive(t.Context(), gitlab.New(nil, nil, gitlab.WithCaps(64<<10, 4<<20)), g.url)
		if err != nil || n != 1<<20 {
			t.Fatalf("archive of 1 MiB under a 64 KiB API cap: %d bytes, %v", n, err)
		}
	})
}

// TestArchiveTimeouts: a download has no total time, only a bound on
// silences; API calls keep theirs. The timeouts are shortened: idle 500ms,
// API total 1s, and a body trickling a byte every 100ms for 1.5s.
func TestArchiveTimeouts(t *testing.T) {
	t.Parallel()
	short := gitlab.WithTimeouts(gitlab.Timeouts{API: time.Second, APIHeader: time.Second,
		DownloadHeader: 500 * time.Millisecond, Idle: 500 * time.Millisecond})
	trickle := feed{size: 15, chunk: 1, every: 100 * time.Millisecond}

	t.Run("a trickle outlasts the API total and succeeds", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, trickle)
		start := time.Now()
		n, err := archive(t.Context(), gitlab.New(nil, nil, short), g.url)
		if err != nil || n != 15 {
			t.Fatalf("trickled archive: %d bytes, %v", n, err)
		}
		if took := time.Since(start); took <= time.Second {
			t.Fatalf("took %s, not longer than the API total of 1s", took)
		}
	})
	t.Run("the same trickle fails an API call", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, feed{size: trickle.size, chunk: 1, every: trickle.every, contentType: "application/json"})
		_, err := gitlab.New(nil, nil, short).ResolveCommit(t.Context(), vcs.Endpoint{APIHost: g.url, Token: testToken}, "acme/infra", "abc1234")
		wantRefusal(t, err, "api_host", "GitLab at "+g.url+" did not finish its answer to GET /api/v4/projects/:id/repository/commits/:sha within 1s")
	})
	t.Run("a stall fails as stalled", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, feed{size: 2, chunk: 1, every: time.Minute})
		start := time.Now()
		_, err := archive(t.Context(), gitlab.New(nil, nil, short), g.url)
		wantArchiveError(t, err, "GitLab at "+g.url+" stopped sending its answer to GET /api/v4/projects/:id/repository/archive.tar.gz: the transfer stalled (no data for 500ms)")
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the stall was noticed after %s", took)
		}
		g.waitLeft(t, 5*time.Second)
	})
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(srv.Close)
		_, err := archive(t.Context(), gitlab.New(nil, nil, short), srv.URL)
		wantRefusal(t, err, "api_host", "GitLab at "+srv.URL+" did not answer GET /api/v4/projects/:id/repository/archive.tar.gz within 500ms")
	})
	t.Run("canceling stops the transfer", func(t *testing.T) {
		t.Parallel()
		g := newFakeGitLab(t, feed{size: 1 << 20, chunk: 1 << 10, every: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := archive(ctx, gitlab.New(nil, nil), g.url)
			done <- err
		}()
		apptest.Eventually(t, 10*time.Second, "the download to be under way", func() bool { return g.sent.Load() >= 4<<10 })
		cancel()
		canceled := time.Now()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Archive did not return after the cancel")
		}
		g.waitLeft(t, time.Second)
		if took := time.Since(canceled); took > time.Second {
			t.Errorf("the transfer stopped %s after the cancel", took)
		}
	})
}
