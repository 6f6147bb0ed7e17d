// Package gitlab is Hoist's adapter for GitLab's REST API v4, built on the
// official client (gitlab.com/gitlab-org/api/client-go). It owns the HTTP
// client of each integration (CA bundle, redirect and address rules) and
// turns GitLab's failures into messages that say what to fix.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"syscall"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// RequiredScope is the token scope Hoist needs: it writes commit statuses,
// merge request notes and deployments, which only `api` allows.
const RequiredScope = "api"

// Checker checks GitLab tokens and builds API clients for integrations.
type Checker struct {
	allowHosts  []string
	log         *slog.Logger
	agents      func(pool string) http.RoundTripper // private://<pool> hosts; see WithAgents
	dialControl func(network, address string, c syscall.RawConn) error
	maxResponse int64 // cap on an API answer's body; see WithCaps
	maxArchive  int64 // cap on a source archive
	timeouts    Timeouts
}

// NewChecker returns a Checker. allowHosts are the hosts the operator allowed
// to resolve to link-local addresses (--allow-gitlab-host); log may be nil.
func NewChecker(allowHosts []string, log *slog.Logger, opts ...CheckerOption) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Checker{allowHosts: slices.Clone(allowHosts), log: log,
		maxResponse: DefaultMaxResponseBytes, maxArchive: DefaultMaxArchiveBytes, timeouts: DefaultTimeouts()}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewClient returns a client-go client for ep with the integration's HTTP
// client. Retries and client-go's rate limiter are off: there is one retry
// and pacing policy, that of the callers that retry (the feedback writer
// honours Retry-After and RateLimit-Reset and pauses an integration on 429;
// the job queue retries its jobs). client-go would otherwise set its
// limiter up from the first response's RateLimit-Limit, replacing it while
// concurrent requests of a shared client read it (a data race in v1.46.0).
func (c *Checker) NewClient(ep vcs.Endpoint) (*gl.Client, error) {
	return c.newClient(ep, apiCall)
}

// newClient is NewClient for calls of kind k.
func (c *Checker) newClient(ep vcs.Endpoint, k callKind) (*gl.Client, error) {
	hc, baseURL, err := c.httpClient(ep, k)
	if err != nil {
		return nil, err
	}
	client, err := gl.NewClient(ep.Token,
		gl.WithBaseURL(baseURL),
		gl.WithHTTPClient(hc),
		gl.WithoutRetries(),
		gl.WithCustomLimiter(noLimiter{}),
		gl.WithURLWarningLogger(c.log),
	)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "api_host: not a usable URL")
	}
	return client, nil
}

// CheckToken calls GET /personal_access_tokens/self and GET /user (SPEC
// §2.2) and refuses revoked, expired or inactive tokens and tokens without
// the `api` scope. Errors are apperr Invalid naming the field to fix.
func (c *Checker) CheckToken(ctx context.Context, ep vcs.Endpoint) (vcs.TokenInfo, error) {
	client, err := c.NewClient(ep)
	if err != nil {
		return vcs.TokenInfo{}, err
	}
	pat, resp, err := client.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx))
	if err != nil {
		return vcs.TokenInfo{}, c.explain(ctx, ep.APIHost, "personal_access_tokens/self", resp, err)
	}
	if pat == nil || (pat.ID == 0 && pat.UserID == 0 && len(pat.Scopes) == 0) {
		return vcs.TokenInfo{}, notGitLab(ep.APIHost, "personal_access_tokens/self answered without token details")
	}
	if pat.Revoked || !pat.Active {
		return vcs.TokenInfo{}, apperr.InvalidField("token", "GitLab reports the token as revoked or expired — create a new token")
	}
	if !slices.Contains(pat.Scopes, RequiredScope) {
		return vcs.TokenInfo{}, apperr.InvalidField("token", "token has scopes %v; Hoist needs the `api` scope — create a token with the api scope", pat.Scopes)
	}
	user, resp, err := client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return vcs.TokenInfo{}, c.explain(ctx, ep.APIHost, "user", resp, err)
	}
	if user == nil || user.Username == "" {
		return vcs.TokenInfo{}, notGitLab(ep.APIHost, "user answered without a username")
	}
	info := vcs.TokenInfo{User: user.Username, UserID: user.ID, Scopes: slices.Clone(pat.Scopes)}
	if pat.ExpiresAt != nil {
		// GitLab's expires_at is a date; the token stops working at the
		// start of that day (UTC).
		exp := time.Time(*pat.ExpiresAt).UTC()
		info.ExpiresAt = &exp
	}
	return info, nil
}

// explain turns a failed call into a client-safe apperr with the fix; the
// original error stays wrapped for logs (it holds URLs, never the token).
func (c *Checker) explain(ctx context.Context, apiHost, path string, resp *gl.Response, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("GET /api/v4/%s at %s: %w", path, apiHost, context.Cause(ctx))
	}
	if e := explainTransfer(apiHost, path, err); e != nil {
		return e
	}
	if e := explainTransport(apiHost, err); e != nil {
		return e
	}
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	var er *gl.ErrorResponse
	switch {
	case errors.Is(err, gl.ErrNotFound) || status == http.StatusNotFound:
		return wrapField("api_host", err, "%s does not look like a GitLab API (GET /api/v4/%s answered 404) — check the API host URL (for gitlab.com use https://gitlab.com)", apiHost, path)
	case status == http.StatusUnauthorized:
		return wrapField("token", err, "GitLab rejected the token (revoked or expired) — create a new token")
	case status == http.StatusForbidden:
		return wrapField("token", err, "GitLab refused the token (403: insufficient scope or blocked user) — Hoist needs an active user's token with the `api` scope")
	case status >= 500:
		return wrapField("api_host", err, "GitLab at %s answered %d on GET /api/v4/%s — it may be down; try again later", apiHost, status, path)
	case errors.As(err, &er):
		return wrapField("api_host", err, "GitLab at %s answered %d on GET /api/v4/%s — check the API host URL", apiHost, status, path)
	case resp != nil:
		// An answer that client-go could not decode: an HTML page, a proxy.
		return notGitLabErr(apiHost, err, "GET /api/v4/"+path+" did not answer GitLab JSON")
	default:
		return wrapField("api_host", err, "cannot reach %s — check the API host URL", apiHost)
	}
}

func notGitLab(apiHost, why string) error {
	return apperr.InvalidField("api_host", "%s does not look like a GitLab API (%s) — check the API host URL", apiHost, why)
}

func notGitLabErr(apiHost string, err error, why string) error {
	return wrapField("api_host", err, "%s does not look like a GitLab API (%s) — check the API host URL", apiHost, why)
}

// wrapField is apperr.InvalidField keeping err as the logged cause.
func wrapField(field string, err error, format string, args ...any) error {
	e := apperr.InvalidField(field, format, args...)
	e.Err = err
	return e
}

// noLimiter lets every request through at once (see NewClient).
type noLimiter struct{}

func (noLimiter) Wait(context.Context) error { return nil }
