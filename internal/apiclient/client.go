// Package apiclient is a small typed client of Hoist's JSON API (SPEC §6.2),
// used by the `hoist` client commands and by end-to-end tests.
//
// Its requests and answers are the types of package api, the contract the
// server encodes too; it imports none of the server's packages. Errors
// answered by the server are returned as *apperr.Error with the server's
// code, client-safe message and field, so callers can branch on the code.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
)

// maxResponseBytes bounds what the client reads of one response, so a
// misbehaving server cannot exhaust memory.
const maxResponseBytes = 32 << 20

// Client calls one Hoist server with one API key. It is safe for concurrent
// use.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (e.g. http://127.0.0.1:8080)
// authenticating with the API key token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		return nil, apperr.Errorf(apperr.Invalid, "no server URL given")
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, apperr.Errorf(apperr.Invalid, "server URL %q: want http(s)://host[:port]", baseURL)
	}
	if u.User != nil {
		// The key belongs in the Authorization header, and URLs end up in
		// error messages.
		return nil, apperr.Errorf(apperr.Invalid, "server URL must not contain credentials")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{
		base:      u,
		token:     token,
		http:      &http.Client{Timeout: 2 * time.Minute},
		userAgent: "hoist-apiclient",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server address the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// do sends one request. in (if not nil) is encoded as the JSON body; a 2xx
// answer is decoded into out (if not nil); anything else becomes an error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Hoist at %s: %w", c.base.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the method
// and full URL that the caller's message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeError turns a non-2xx answer into an *apperr.Error. Answers that are
// not Hoist's error body (a proxy's HTML page, say) get a code from the
// status and a short message; the body itself is not echoed.
func decodeError(status int, data []byte) error {
	var eb api.Error
	if err := json.Unmarshal(data, &eb); err == nil && eb.Error.Code != "" {
		msg := eb.Error.Message
		if msg == "" {
			msg = string(eb.Error.Code)
		}
		return &apperr.Error{Code: eb.Error.Code, Message: msg, Field: eb.Error.Field}
	}
	return &apperr.Error{
		Code:    codeForStatus(status),
		Message: fmt.Sprintf("unexpected answer from server: %d %s", status, http.StatusText(status)),
	}
}

func codeForStatus(status int) apperr.Code {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return apperr.Invalid
	case http.StatusUnauthorized:
		return apperr.Unauthorized
	case http.StatusForbidden:
		return apperr.Forbidden
	case http.StatusNotFound:
		return apperr.NotFound
	case http.StatusConflict:
		return apperr.Conflict
	case http.StatusServiceUnavailable:
		return apperr.Unavailable
	default:
		return apperr.Internal
	}
}

// pages yields every item of a list endpoint, following next_cursor. It
// stops at the first error, yielding it with a zero item.
func pages[T any](ctx context.Context, c *Client, path string, query url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		seen := map[string]bool{}
		for {
			var p api.Page[T]
			if err := c.do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if p.NextCursor == "" {
				return
			}
			if seen[p.NextCursor] {
				var zero T
				yield(zero, fmt.Errorf("GET %s: server repeated cursor %q", path, p.NextCursor))
				return
			}
			seen[p.NextCursor] = true
			q.Set("cursor", p.NextCursor)
		}
	}
}

// collect gathers an iterator into a slice, stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for it, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// esc escapes one path segment (ids are slugs, but the client should not
// trust its caller).
func esc(s string) string { return url.PathEscape(s) }
