package tunnel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// The relay between servers (docs/design/replicas.md): a server without an
// agent of a pool sends the GitLab request, as it would have sent it to an
// agent, to RelayPath+<pool>+<the request's escaped path and query> on a
// server that has one, with the shared relay key in HeaderRelayKey. That
// server sends it through its own agents only (never on to a third server:
// no loops) and answers with GitLab's answer, or with why it could not, in
// HeaderRelayResult.
const (
	RelayPath         = "/internal/v1/agent-relay/"
	HeaderRelayKey    = "X-Hoist-Relay-Key"
	HeaderRelayResult = "X-Hoist-Relay-Result"
)

// Values of HeaderRelayResult. A response without one did not come from a
// relay handler that accepted the request (a wrong key, something else at
// the address): the caller tries another server.
const (
	relayOK          = "ok"           // GitLab's answer follows
	relayNoAgent     = "no-agent"     // no agent of the pool here (any more): try another server
	relayRefused     = "refused"      // the agent refused; the body is its reason
	relayNotReplayed = "not-replayed" // a stream broke after the agent may have forwarded a non-idempotent request
	relayFailed      = "failed"       // anything else (GitLab unreachable, body too large); the body says what
)

// maxRelayMessage bounds the reason a relaying server sends back.
const maxRelayMessage = 4 << 10

// RelayKey derives the key that servers authenticate relayed requests with
// from the encryption key all servers of a database share. Derived, not
// the key itself: the relay key travels in every relayed request.
func RelayKey(encryptionKey []byte) string {
	mac := hmac.New(sha256.New, encryptionKey)
	mac.Write([]byte("hoist vcs agent relay v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// NewRelayTransport is the client side of the relay: bounded dial and
// handshake (a dead peer is given up on quickly; the answer itself may
// take as long as the caller's context allows, as a GitLab call does), no
// compression (the body is passed on as GitLab sent it), no proxy (peers
// are on the servers' own network). roots are the CAs trusted for https
// peers (nil: the system's).
func NewRelayTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
	}
}

// relay sends req (whose body is body) through the server at addr. next is
// true when the caller should try another server: that one had no agent,
// could not be reached, or was not a relay that accepted the request. A
// request is never passed on when it may have reached GitLab and is not
// idempotent.
func (c *Cluster) relay(ctx context.Context, addr, pool string, req *http.Request, body []byte) (resp *http.Response, next bool, err error) {
	uri := req.URL.RequestURI()
	if p := strings.TrimSuffix(req.URL.Path, "/"); p != "" && path.Clean(p) != p {
		// The relay's router would redirect an unclean path, and the
		// redirect would read as GitLab's answer.
		return nil, false, fmt.Errorf("%s cannot be relayed to another server: not a clean path", req.URL.Path)
	}
	out, err := http.NewRequestWithContext(ctx, req.Method, strings.TrimRight(addr, "/")+RelayPath+url.PathEscape(pool)+uri, bytes.NewReader(body))
	if err != nil {
		return nil, true, nil // an address no request can go to: as if absent
	}
	out.Header = forwardable(req.Header)
	out.Header.Set(HeaderRelayKey, c.cfg.RelayKey)
	out.ContentLength = int64(len(body))
	resp, err = c.rt.RoundTrip(out)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			c.markDown(addr)
			c.log.WarnContext(ctx, "could not reach another server to relay a GitLab call; trying the next", "pool_id", pool,
				"peer", addr, "error", err.Error())
			return nil, true, nil
		}
		if !replayable(req.Method) {
			return nil, false, fmt.Errorf("relaying through server %s failed: %w; %s not sent again because GitLab may have applied it",
				addr, err, req.Method)
		}
		c.log.WarnContext(ctx, "relaying a GitLab call failed; trying the next server", "pool_id", pool, "peer", addr, "error", err.Error())
		return nil, true, nil
	}
	result := resp.Header.Get(HeaderRelayResult)
	if result == relayOK {
		resp.Header.Del(HeaderRelayResult)
		resp.Request = req
		return resp, false, nil
	}
	msg := relayMessage(resp)
	switch result {
	case relayNoAgent:
		return nil, true, nil
	case relayRefused:
		return nil, false, &vcsagent.RefusedError{Reason: msg}
	case relayNotReplayed, relayFailed:
		return nil, false, fmt.Errorf("through server %s: %s", addr, msg)
	}
	c.markDown(addr)
	c.log.WarnContext(ctx, "another server did not accept a relayed GitLab call (do all servers share the encryption key, "+
		"and is --advertise-url this server's own address?); trying the next", "pool_id", pool, "peer", addr, "status", resp.StatusCode)
	return nil, true, nil
}

// relayMessage reads and closes a failure's body, bounded.
func relayMessage(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxRelayMessage))
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}

// Handler is the relay endpoint (RelayPath…, any method) for the main
// listener: it sends an authenticated request through this process's
// agents of the pool, and only through them. Without the relay key the
// answer is 401 and no agent sees the request. nil without a presence
// store: a lone server relays nothing.
func (c *Cluster) Handler() http.Handler {
	if c.cfg.Presence == nil {
		return nil
	}
	return http.HandlerFunc(c.serveRelay)
}

func (c *Cluster) serveRelay(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get(HeaderRelayKey)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.cfg.RelayKey)) != 1 {
		c.log.WarnContext(r.Context(), "relay request without the relay key refused", "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	pool, target, ok := relayTarget(r.URL)
	if !ok {
		relayAnswer(w, http.StatusBadRequest, relayFailed, "malformed relay path")
		return
	}
	body, err := readBody(r)
	if err != nil {
		relayAnswer(w, http.StatusRequestEntityTooLarge, relayFailed, err.Error())
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), nil)
	if err != nil {
		relayAnswer(w, http.StatusBadRequest, relayFailed, "malformed relayed request")
		return
	}
	req.URL = target
	req.Header = forwardable(r.Header)
	req.Header.Del(HeaderRelayKey)
	resp, err := c.local.send(r.Context(), pool, req, body)
	var refused *vcsagent.RefusedError
	var notReplayed *notReplayedError
	switch {
	case err == nil:
	case errors.Is(err, vcsagent.ErrNoAgent):
		relayAnswer(w, http.StatusServiceUnavailable, relayNoAgent, err.Error())
		return
	case errors.As(err, &refused):
		relayAnswer(w, http.StatusForbidden, relayRefused, refused.Reason)
		return
	case errors.As(err, &notReplayed):
		relayAnswer(w, http.StatusBadGateway, relayNotReplayed, err.Error())
		return
	default:
		relayAnswer(w, http.StatusBadGateway, relayFailed, err.Error())
		return
	}
	defer resp.Body.Close()
	// An archive may take longer than the server's write timeout; the
	// caller's context bounds it, and its end cancels the agent's request.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	h := w.Header()
	for k, v := range forwardable(resp.Header) {
		h[k] = v
	}
	h.Del(HeaderRelayKey) // never let GitLab's headers speak for the relay
	h.Set(HeaderRelayResult, relayOK)
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		// Headers are out: cutting the connection is the only way to tell
		// the caller its body is incomplete.
		c.log.WarnContext(r.Context(), "relayed GitLab answer cut short", "pool_id", pool, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
}

// relayTarget splits RelayPath<pool>/<path> into the pool and the URL of
// the GitLab request (escaping and query kept as sent).
func relayTarget(u *url.URL) (pool string, target *url.URL, ok bool) {
	rest, found := strings.CutPrefix(u.EscapedPath(), RelayPath)
	if !found {
		return "", nil, false
	}
	escPool, p, found := strings.Cut(rest, "/")
	pool, err := url.PathUnescape(escPool)
	if !found || err != nil || pool == "" || len(pool) > 128 {
		return "", nil, false
	}
	target, err = url.Parse("http://" + PrivateHost + "/" + p)
	if err != nil {
		return "", nil, false
	}
	target.RawQuery = u.RawQuery
	return pool, target, true
}

// PrivateHost is the host of relayed requests: never resolved, an agent
// sends only the path and query on.
const PrivateHost = "relay.private"

// relayAnswer is a relay failure: result says what the caller does next.
func relayAnswer(w http.ResponseWriter, status int, result, msg string) {
	w.Header().Set(HeaderRelayResult, result)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}
