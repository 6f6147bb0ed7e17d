// Package gitlab is Hoist's adapter for GitLab's REST API v4, built on the
// official client (gitlab.com/gitlab-org/api/client-go). Every call Hoist
// makes to GitLab goes through a Client: token and repository checks,
// changed files, source archives, webhook registration and the write-back
// (commit statuses, merge request notes, deployments). It owns the HTTP
// client of each integration (CA bundle, redirect and address rules, size
// and time bounds), keeps one per integration, classifies every failure
// once into a *vcs.Error, and turns failures into messages that say what
// to fix. It speaks only package vcs's types.
package gitlab

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Client is the GitLab adapter. It keeps one set of client-go clients per
// integration (vcs.Endpoint.Integration), over one http.Transport, for
// every kind of call; see clientFor for their lifecycle. Safe for
// concurrent use.
type Client struct {
	allowHosts  []string
	log         *slog.Logger
	agents      func(pool string) http.RoundTripper // private://<pool> hosts; see WithAgents
	dialControl func(network, address string, c syscall.RawConn) error
	maxResponse int64 // cap on an API answer's body; see WithCaps
	maxArchive  int64 // cap on a source archive
	timeouts    Timeouts
	// maxConcurrent bounds each integration's API calls in flight; see
	// WithMaxConcurrent.
	maxConcurrent int

	mu      sync.Mutex
	entries map[string]*entry // by integration id
}

// New returns a Client. allowHosts are the hosts the operator allowed to
// resolve to link-local addresses (--allow-gitlab-host); log may be nil.
func New(allowHosts []string, log *slog.Logger, opts ...Option) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{allowHosts: slices.Clone(allowHosts), log: log,
		maxResponse: DefaultMaxResponseBytes, maxArchive: DefaultMaxArchiveBytes, timeouts: DefaultTimeouts(),
		maxConcurrent: DefaultMaxConcurrent,
		entries:       map[string]*entry{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Option configures a Client.
type Option func(*Client)

// WithAgents makes integrations whose API host is private://<pool>[/path]
// reach GitLab through the VCS agents of that pool (SPEC §2.5): transport
// returns the pool's RoundTripper (tunnel.Registry.RoundTripper). Without
// it, private hosts fail with "no VCS agent connected".
func WithAgents(transport func(pool string) http.RoundTripper) Option {
	return func(c *Client) { c.agents = transport }
}

// WithDialControl vets every address the Client dials directly (tests
// make a GitLab unreachable except through VCS agents with it).
func WithDialControl(fn func(network, address string, c syscall.RawConn) error) Option {
	return func(c *Client) { c.dialControl = fn }
}

// WithCaps sets the caps on GitLab's answers: maxResponse on every API
// answer, maxArchive on source archives instead. Zero keeps a default.
func WithCaps(maxResponse, maxArchive int64) Option {
	return func(c *Client) {
		if maxResponse > 0 {
			c.maxResponse = maxResponse
		}
		if maxArchive > 0 {
			c.maxArchive = maxArchive
		}
	}
}

// WithTimeouts sets the Client's timeouts; zero fields keep the defaults.
func WithTimeouts(t Timeouts) Option {
	return func(c *Client) { c.timeouts = t.orDefault() }
}

// callKind tells API calls from downloads, which have other limits.
type callKind int

const (
	apiCall callKind = iota
	download
)

// entry is what the Client keeps for one integration: the endpoint it was
// built for, and a client-go client per kind of call over one transport.
type entry struct {
	ep        vcs.Endpoint
	clients   [2]*gl.Client // by callKind
	closeIdle func()        // closes the transport's idle connections
}

// clientFor returns the client-go client of ep for calls of kind k, and
// release, to call when done with it.
//
// An endpoint of an integration gets the integration's entry: built on
// first use and reused by every later call, so calls share the
// transport's kept-alive connections instead of opening one each. When
// the endpoint differs from the entry's (a new token, host or CA bundle,
// seen by this server or another one) the entry is replaced and the old
// transport's idle connections closed; requests still running on it
// finish, and their connections then time out unused. release does
// nothing then.
//
// An endpoint without an integration gets a client of its own, and
// release closes its idle connections.
func (c *Client) clientFor(ep vcs.Endpoint, k callKind) (client *gl.Client, release func(), err error) {
	if ep.Integration == "" {
		e, err := c.newEntry(ep)
		if err != nil {
			return nil, nil, err
		}
		return e.clients[k], e.closeIdle, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ep.Integration]
	if !ok || e.ep != ep {
		next, err := c.newEntry(ep)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			e.closeIdle()
		}
		c.entries[ep.Integration] = next
		e = next
	}
	return e.clients[k], func() {}, nil
}

// newEntry builds ep's transport and clients. Retries and client-go's
// rate limiter are off: there is one retry and pacing policy, that of the
// callers that retry (the feedback writer honours Retry-After and
// RateLimit-Reset and pauses an integration on 429; the job queue retries
// its jobs). client-go would otherwise set its limiter up from the first
// response's RateLimit-Limit, replacing it while concurrent requests of a
// shared client read it (a data race in v1.46.0).
func (c *Client) newEntry(ep vcs.Endpoint) (*entry, error) {
	rt, baseURL, err := c.route(ep)
	if err != nil {
		return nil, err
	}
	e := &entry{ep: ep, closeIdle: func() {}}
	if t, ok := rt.(*http.Transport); ok {
		e.closeIdle = t.CloseIdleConnections
	}
	// API calls go through the integration's gate (a bound on calls in
	// flight, GitLab's pauses); downloads do not, see WithMaxConcurrent.
	byKind := [2]http.RoundTripper{apiCall: newGate(rt, c.maxConcurrent, time.Now), download: rt}
	for _, k := range []callKind{apiCall, download} {
		client, err := gl.NewClient(ep.Token,
			gl.WithBaseURL(baseURL),
			gl.WithHTTPClient(c.httpClient(byKind[k], k)),
			gl.WithoutRetries(),
			gl.WithCustomLimiter(noLimiter{}),
			gl.WithURLWarningLogger(c.log),
		)
		if err != nil {
			e.closeIdle()
			return nil, apperr.Wrap(apperr.Invalid, err, "api_host: not a usable URL")
		}
		e.clients[k] = client
	}
	return e, nil
}

// Forget drops the client of an integration and closes its idle
// connections: the integration was deleted.
func (c *Client) Forget(integrationID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[integrationID]; ok {
		e.closeIdle()
		delete(c.entries, integrationID)
	}
}

// Close drops every integration's client and closes their idle
// connections. The Client stays usable: a later call builds a new one.
// Safe to call twice.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.entries {
		e.closeIdle()
		delete(c.entries, id)
	}
}

// noLimiter lets every request through at once (see newEntry).
type noLimiter struct{}

func (noLimiter) Wait(context.Context) error { return nil }
