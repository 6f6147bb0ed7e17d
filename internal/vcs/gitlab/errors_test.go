package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	answer := func(status int, kv ...string) *gl.Response {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		req := httptest.NewRequest(http.MethodGet, "https://gitlab.example.com/api/v4/user", nil)
		return &gl.Response{Response: &http.Response{StatusCode: status, Header: h, Request: req}}
	}
	glError := func(r *gl.Response, msg string) error {
		return &gl.ErrorResponse{Response: r.Response, Message: msg}
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name       string
		resp       *gl.Response
		err        error
		kind       vcs.ErrorKind
		status     int
		message    string
		retryAfter string
	}{
		{"not found", answer(404), gl.ErrNotFound, vcs.KindNotFound, 404, "404 Not Found", ""},
		{"unauthorized", answer(401), glError(answer(401), "{message: 401 Unauthorized}"), vcs.KindUnauthorized, 401, "401 {message: 401 Unauthorized}", ""},
		{"forbidden", answer(403), glError(answer(403), "{error: insufficient_scope}"), vcs.KindForbidden, 403, "403 {error: insufficient_scope}", ""},
		{"rate limited", answer(429, "Retry-After", "2"), glError(answer(429), "Retry later"), vcs.KindRateLimited, 429, "429 Retry later", "2"},
		{"conflict", answer(409), glError(answer(409), "locked"), vcs.KindConflict, 409, "409 locked", ""},
		{"down", answer(503), glError(answer(503), "down"), vcs.KindUnavailable, 503, "503 down", ""},
		{"request timeout", answer(408), glError(answer(408), "slow"), vcs.KindUnavailable, 408, "408 slow", ""},
		{"refused as asked", answer(400), glError(answer(400), "bad ref"), vcs.KindInvalid, 400, "400 bad ref", ""},
		{"not GitLab JSON", answer(200), errors.New("invalid character '<'"), vcs.KindBadAnswer, 200, "invalid character '<'", ""},
		{"no answer", nil, fmt.Errorf("Get %q: %w", "http://x", dial), vcs.KindUnreachable, 0, `Get "http://x": dial tcp: connection refused`, ""},
		{"canceled", nil, fmt.Errorf("Get %q: %w", "http://x", context.Canceled), vcs.KindCanceled, 0, `Get "http://x": context canceled`, ""},
		{"no agent", nil, &vcsagent.NoAgentError{Pool: "lab"}, vcs.KindNoAgent, 0, (&vcsagent.NoAgentError{Pool: "lab"}).Error(), ""},
		{"agent refused", nil, &vcsagent.RefusedError{Reason: "path"}, vcs.KindAgentRefused, 0, "vcs agent refused: path", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := gitlab.Classify(tt.resp, tt.err)
			if e.Kind != tt.kind || e.Status != tt.status || e.Message != tt.message || e.RetryAfter != tt.retryAfter {
				t.Errorf("classify = {%s %d %q retry-after %q}, want {%s %d %q retry-after %q}",
					e.Kind, e.Status, e.Message, e.RetryAfter, tt.kind, tt.status, tt.message, tt.retryAfter)
			}
			if e.Error() != tt.err.Error() || !errors.Is(e, tt.err) || vcs.KindOf(fmt.Errorf("wrapped: %w", e)) != tt.kind {
				t.Errorf("classify changed the error or its chain: %q", e.Error())
			}
		})
	}
}

// TestStatusAlreadyInState: GitLab refusing a status transition to the
// state the status is already in is KindUnchanged, with GitLab's words.
func TestStatusAlreadyInState(t *testing.T) {
	t.Parallel()
	f := connSetup(t)
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	st := vcs.CommitStatus{Project: "acme/infra", SHA: f.after, Name: "hoist/infra", State: "running"}
	if err := c.SetCommitStatus(t.Context(), f.ep, st); err != nil {
		t.Fatal(err)
	}
	err := c.SetCommitStatus(t.Context(), f.ep, st)
	var e *vcs.Error
	if !errors.As(err, &e) || e.Kind != vcs.KindUnchanged || e.Status != http.StatusBadRequest {
		t.Fatalf("second running status: %v (%+v), want kind unchanged", err, e)
	}
	if !strings.Contains(e.Message, "Cannot transition status") {
		t.Errorf("message %q lost GitLab's words", e.Message)
	}
}
