package gitlab

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/transfer"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Limits of the per-integration HTTP clients. API answers are small (the
// largest are diffs and file lists) and come in well under a second; the
// bounds stop a broken or hostile GitLab from filling the server's memory
// or holding a caller forever. Downloads (source archives) have no total
// time, only bounds on connecting, on the first answer and on silence.
const (
	// DefaultMaxResponseBytes caps the body of any API answer.
	DefaultMaxResponseBytes int64 = 32 << 20
	// DefaultMaxArchiveBytes caps a source archive, which is exempt from
	// DefaultMaxResponseBytes.
	DefaultMaxArchiveBytes int64 = 1 << 30

	// MaxResponseSetting and MaxArchiveSetting name the server flags that
	// raise the caps, in errors.
	MaxResponseSetting = "--max-gitlab-response"
	MaxArchiveSetting  = "--max-archive-size"
)

// Timeouts bound the time of a Client's calls. Zero fields take the
// defaults of DefaultTimeouts.
type Timeouts struct {
	// Connect bounds dialing, and then the TLS handshake.
	Connect time.Duration
	// APIHeader bounds the wait for the headers of an API answer.
	APIHeader time.Duration
	// API bounds a whole API call, its answer's body included.
	API time.Duration
	// DownloadHeader bounds the wait for the headers of a download: GitLab
	// may build the archive before it answers.
	DownloadHeader time.Duration
	// Idle bounds each wait for more of a download's body; a download has
	// no total time, so a large repository on a slow link can finish.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts of a Client built without WithTimeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{Connect: 10 * time.Second, APIHeader: 20 * time.Second, API: 30 * time.Second,
		DownloadHeader: time.Minute, Idle: time.Minute}
}

// orDefault fills t's zero fields from DefaultTimeouts.
func (t Timeouts) orDefault() Timeouts {
	d := DefaultTimeouts()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.Connect, &d.Connect}, {&t.APIHeader, &d.APIHeader}, {&t.API, &d.API},
		{&t.DownloadHeader, &d.DownloadHeader}, {&t.Idle, &d.Idle},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// blockedAddrError is returned by the dialer when a host resolves to a
// link-local (cloud metadata) address the operator has not allowed.
type blockedAddrError struct{ addr netip.Addr }

func (e *blockedAddrError) Error() string {
	return fmt.Sprintf("address %s is link-local (cloud metadata range)", e.addr)
}

// crossHostRedirectError is returned instead of following a redirect that
// would carry the token to another host.
type crossHostRedirectError struct{ from, to string }

func (e *crossHostRedirectError) Error() string {
	return fmt.Sprintf("redirect from %s to %s refused", e.from, e.to)
}

// transportOptions configures newTransport.
type transportOptions struct {
	// caBundle is a PEM bundle trusted in addition to the system roots.
	caBundle string
	// allowLinkLocal lets the client dial link-local addresses; set it only
	// for hosts the operator allowed (--allow-gitlab-host).
	allowLinkLocal bool
	// dialControl, when set, also vets every address dialed (after the
	// link-local check); tests use it to make a GitLab unreachable except
	// through VCS agents.
	dialControl func(network, address string, c syscall.RawConn) error
	// connect bounds dialing and the TLS handshake.
	connect time.Duration
	// idle is how many idle connections are kept: as many as the calls
	// the integration may have in flight (WithMaxConcurrent), so a steady
	// load reuses its connections instead of closing and dialing again.
	idle int
}

// newTransport returns the transport of one integration's direct
// connection: system roots plus the integration's CA bundle (verification
// is never switched off), no dialing of link-local / cloud metadata
// addresses unless allowed, and a bounded connect. Waiting for answers is
// bounded by transfer.Bound around it (see Client.httpClient). A bad CA
// bundle is an invalid "ca_bundle".
func newTransport(opts transportOptions) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if strings.TrimSpace(opts.caBundle) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(opts.caBundle)) {
			return nil, apperr.InvalidField("ca_bundle", "no PEM certificate found; paste the CA certificate(s) starting with -----BEGIN CERTIFICATE-----")
		}
		tlsCfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: opts.connect, KeepAlive: 30 * time.Second}
	dialer.Control = dialControl(opts)
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   opts.connect,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   max(opts.idle, 8),
		ForceAttemptHTTP2:     true,
	}, nil
}

// refuseLinkLocal runs after name resolution, on the address actually
// dialed, so a DNS name pointing at 169.254.169.254 is caught too.
func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if IsLinkLocal(addr) {
		return &blockedAddrError{addr: addr}
	}
	return nil
}

// IsLinkLocal reports whether addr is in 169.254.0.0/16 or fe80::/10 (also
// as an IPv4-mapped IPv6 address): where cloud metadata services live.
func IsLinkLocal(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast()
}

func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) || (first.Scheme == "https" && req.URL.Scheme != "https") {
		return &crossHostRedirectError{from: hostOf(first), to: hostOf(req.URL)}
	}
	return nil
}

func hostOf(u *url.URL) string { return u.Scheme + "://" + u.Host }

// hostAllowed reports whether apiHost's host name is in the operator's
// allow list (exact host name or host:port, case-insensitive).
func hostAllowed(apiHost string, allow []string) bool {
	u, err := url.Parse(apiHost)
	if err != nil {
		return false
	}
	for _, a := range allow {
		a = strings.TrimSpace(a)
		if strings.EqualFold(a, u.Hostname()) || strings.EqualFold(a, u.Host) {
			return true
		}
	}
	return false
}

// dialControl combines the link-local refusal with opts.dialControl.
func dialControl(opts transportOptions) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if !opts.allowLinkLocal {
			if err := refuseLinkLocal(network, address, c); err != nil {
				return err
			}
		}
		if opts.dialControl != nil {
			return opts.dialControl(network, address, c)
		}
		return nil
	}
}

// limits are the bounds of one kind of call.
func (c *Client) limits(k callKind) transfer.Limits {
	if k == download {
		return transfer.Limits{MaxBytes: c.maxArchive, Setting: MaxArchiveSetting,
			Header: c.timeouts.DownloadHeader, Idle: c.timeouts.Idle}
	}
	return transfer.Limits{MaxBytes: c.maxResponse, Setting: MaxResponseSetting,
		Header: c.timeouts.APIHeader, Total: c.timeouts.API, Whole: true}
}

// route returns the round tripper and client-go base URL of ep. A direct
// host gets a transport of its own (the caller owns it, and closes its
// idle connections when done with it). A private://<pool>[/path] host goes
// through the pool's agents, addressed internally as
// http://private.<pool>[/path] (the agent ignores the host and sends the
// path to its --target-base-endpoint); the tunnel owns those connections.
func (c *Client) route(ep vcs.Endpoint) (http.RoundTripper, string, error) {
	pool, prefix, private := vcsagent.Route(ep.APIHost, "")
	switch {
	case !private:
		t, err := newTransport(transportOptions{
			caBundle:       ep.CABundle,
			allowLinkLocal: hostAllowed(ep.APIHost, c.allowHosts),
			dialControl:    c.dialControl,
			connect:        c.timeouts.Connect,
			idle:           c.maxConcurrent,
		})
		if err != nil {
			return nil, "", err
		}
		return t, ep.APIHost, nil
	case c.agents != nil:
		return c.agents(pool), "http://private." + pool + prefix, nil
	default:
		return noAgents{pool: pool}, "http://private." + pool + prefix, nil
	}
}

// httpClient is the HTTP client of calls of kind k over rt. Both routes
// get the same redirect rule and the same limits: the caps and timeouts
// are those of Hoist's side, whoever carries the bytes.
func (c *Client) httpClient(rt http.RoundTripper, k callKind) *http.Client {
	return &http.Client{Transport: transfer.Bound(rt, c.limits(k)), CheckRedirect: sameHostRedirects}
}

// noAgents is the transport of private hosts on a Client built without
// WithAgents.
type noAgents struct{ pool string }

func (n noAgents) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, &vcsagent.NoAgentError{Pool: n.pool}
}
