package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// projectCacheTTL bounds how long a numeric project id keeps its path: a
// project moved to another namespace is re-checked within it.
const projectCacheTTL = 10 * time.Minute

// forwarder checks each request against the allow-list and
// --allowed-projects, sends it to the target GitLab, and logs it.
type forwarder struct {
	target  string // base endpoint without trailing slash
	client  *http.Client
	allowed *regexp.Regexp
	log     *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	paths map[string]cachedPath // numeric project id → path_with_namespace
}

type cachedPath struct {
	path string
	at   time.Time
}

// handle is the tunnel.Handler of the agent: one log line per request with
// method, path (never the query, headers or body), outcome and duration.
func (f *forwarder) handle(ctx context.Context, req tunnel.Request) (*http.Response, error) {
	start := f.now()
	resp, err := f.forward(ctx, req)
	path := req.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	attrs := []slog.Attr{slog.String("method", req.Method), slog.String("path", clip(path)),
		slog.Duration("duration", f.now().Sub(start))}
	var refused *vcsagent.RefusedError
	switch {
	case errors.As(err, &refused):
		f.log.LogAttrs(ctx, slog.LevelWarn, "refused", append(attrs, slog.String("reason", refused.Reason))...)
	case err != nil:
		f.log.LogAttrs(ctx, slog.LevelError, "forward failed", append(attrs, slog.String("error", err.Error()))...)
	default:
		f.log.LogAttrs(ctx, slog.LevelInfo, "forwarded", append(attrs, slog.Int("status", resp.StatusCode))...)
	}
	return resp, err
}

func (f *forwarder) forward(ctx context.Context, req tunnel.Request) (*http.Response, error) {
	project, err := match(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	if project != "" {
		name := project
		if isNumeric(project) {
			var answer *http.Response
			name, answer, err = f.resolve(ctx, req, project)
			if err != nil || answer != nil {
				return answer, err
			}
		}
		if !f.allowed.MatchString(name) {
			return nil, refuse("project %s is outside --allowed-projects %s", name, f.allowed)
		}
	}
	return f.send(ctx, req.Method, req.Path, req.Header, req.Body)
}

func (f *forwarder) send(ctx context.Context, method, path string, h http.Header, body []byte) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, method, f.target+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range h {
		r.Header[k] = v
	}
	resp, err := f.client.Do(r)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the target's; the path is logged apart
		}
		return nil, fmt.Errorf("%s: %w", f.target, err)
	}
	return resp, nil
}

// resolve maps a numeric project id to its namespace/project with the
// request's own credentials (GET /projects/:id), cached. When GitLab does
// not answer 200, its answer is returned as the request's answer (a 404
// for an unknown project, a 401 for a bad token).
func (f *forwarder) resolve(ctx context.Context, req tunnel.Request, id string) (string, *http.Response, error) {
	f.mu.Lock()
	c, ok := f.paths[id]
	f.mu.Unlock()
	if ok && f.now().Sub(c.at) < projectCacheTTL {
		return c.path, nil, nil
	}
	i := strings.Index(req.Path, apiRoot)
	resp, err := f.send(ctx, http.MethodGet, req.Path[:i+len(apiRoot)]+"projects/"+id, authOnly(req.Header), nil)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", resp, nil
	}
	defer resp.Body.Close()
	var p struct {
		PathWithNamespace string `json:"path_with_namespace"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&p); err != nil || p.PathWithNamespace == "" {
		return "", nil, refuse("cannot tell which project id %s is (GET /projects/%s answered no path_with_namespace)", id, id)
	}
	f.mu.Lock()
	f.paths[id] = cachedPath{path: p.PathWithNamespace, at: f.now()}
	f.mu.Unlock()
	return p.PathWithNamespace, nil, nil
}

// authOnly keeps the credentials and content negotiation of a request.
func authOnly(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Private-Token", "Authorization", "Job-Token", "Accept", "User-Agent"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}
