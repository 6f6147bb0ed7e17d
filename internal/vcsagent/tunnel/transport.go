package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxAttempts bounds how many streams one request tries when streams break
// under it (an agent killed mid-flight takes all its streams with it).
const maxAttempts = 10

// RoundTripper returns the transport that sends requests through the
// agents of pool. The request's host is ignored: the agent sends the path
// and query to its --target-base-endpoint.
//
// No agent connected fails at once with *vcsagent.NoAgentError; a refusal
// is *vcsagent.RefusedError. When a stream breaks before the answer, the
// request is sent again on another stream if it is safe to: always when
// the agent never got it, and for GET, HEAD, OPTIONS, PUT and DELETE
// otherwise. A POST that may have reached GitLab is not replayed here; the
// caller's durable queue decides.
func (r *Registry) RoundTripper(pool string) http.RoundTripper {
	return &transport{r: r, pool: pool}
}

type transport struct {
	r    *Registry
	pool string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	return t.r.send(req.Context(), t.pool, req, body)
}

// send is RoundTrip with the body read already (the cluster's transport
// and the relay handler send one body more than once).
func (r *Registry) send(ctx context.Context, pool string, req *http.Request, body []byte) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		s, err := r.acquire(ctx, pool)
		if err != nil {
			return nil, err
		}
		resp, err := s.roundTrip(ctx, req, body)
		var broken *brokenError
		if err == nil || !errors.As(err, &broken) {
			return resp, err
		}
		if broken.delivered && !replayable(req.Method) {
			return nil, &notReplayedError{method: req.Method, err: err}
		}
		if attempt >= maxAttempts {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		r.log.Warn("vcs agent stream broke under a request; sending it on another", "pool_id", pool,
			"agent_id", s.agent.id, "method", req.Method, "attempt", attempt)
	}
}

// notReplayedError is a request that may have reached GitLab on a stream
// that broke before the answer, and that is not idempotent: sending it
// again could apply it twice.
type notReplayedError struct {
	method string
	err    error
}

func (e *notReplayedError) Error() string {
	return fmt.Sprintf("%v; %s not sent again because GitLab may have applied it", e.err, e.method)
}

func (e *notReplayedError) Unwrap() error { return e.err }

// replayable methods are idempotent (RFC 9110 §9.2.2).
func replayable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestBody+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) > MaxRequestBody {
		return nil, fmt.Errorf("request body over %d MiB cannot go through a VCS agent", MaxRequestBody>>20)
	}
	return bytes.Clone(b), nil
}
