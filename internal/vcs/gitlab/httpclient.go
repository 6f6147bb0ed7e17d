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
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

// Timeouts of the per-integration HTTP client. GitLab answers these API
// calls in well under a second; the bounds only stop a stuck server from
// holding a request (and an API caller) forever.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 20 * time.Second
	requestTimeout        = 30 * time.Second
)

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

// HTTPClientOptions configures NewHTTPClient.
type HTTPClientOptions struct {
	// CABundle is a PEM bundle trusted in addition to the system roots.
	CABundle string
	// AllowLinkLocal lets the client dial link-local addresses; set it only
	// for hosts the operator allowed (--allow-gitlab-host).
	AllowLinkLocal bool
	// DialControl, when set, also vets every address dialed (after the
	// link-local check); tests use it to make a GitLab unreachable except
	// through VCS agents.
	DialControl func(network, address string, c syscall.RawConn) error
}

// NewHTTPClient returns the HTTP client for one integration: system roots
// plus the integration's CA bundle (verification is never switched off), no
// redirects to another host or from https to http (the token must not
// follow them), no dialing of link-local / cloud metadata addresses unless
// allowed, and bounded timeouts. A bad CA bundle is an invalid "ca_bundle".
func NewHTTPClient(opts HTTPClientOptions) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if strings.TrimSpace(opts.CABundle) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(opts.CABundle)) {
			return nil, apperr.InvalidField("ca_bundle", "no PEM certificate found; paste the CA certificate(s) starting with -----BEGIN CERTIFICATE-----")
		}
		tlsCfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	dialer.Control = dialControl(opts)
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       requestTimeout,
		CheckRedirect: sameHostRedirects,
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

// dialControl combines the link-local refusal with opts.DialControl.
func dialControl(opts HTTPClientOptions) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if !opts.AllowLinkLocal {
			if err := refuseLinkLocal(network, address, c); err != nil {
				return err
			}
		}
		if opts.DialControl != nil {
			return opts.DialControl(network, address, c)
		}
		return nil
	}
}

// CheckerOption configures a Checker.
type CheckerOption func(*Checker)

// WithAgents makes integrations whose API host is private://<pool>[/path]
// reach GitLab through the VCS agents of that pool (SPEC §2.5): transport
// returns the pool's RoundTripper (tunnel.Registry.RoundTripper). Without
// it, private hosts fail with "no VCS agent connected".
func WithAgents(transport func(pool string) http.RoundTripper) CheckerOption {
	return func(c *Checker) { c.agents = transport }
}

// WithDialControl vets every address the Checker's clients dial directly
// (see HTTPClientOptions.DialControl).
func WithDialControl(fn func(network, address string, c syscall.RawConn) error) CheckerOption {
	return func(c *Checker) { c.dialControl = fn }
}

// httpClient returns the HTTP client and client-go base URL for ep. A
// private://<pool>[/path] host goes through the pool's agents, addressed
// internally as http://private.<pool>[/path] (the agent ignores the host
// and sends the path to its --target-base-endpoint); the same redirect rule
// and request timeout apply as on the direct path.
func (c *Checker) httpClient(ep vcs.Endpoint) (*http.Client, string, error) {
	pool, prefix, private := vcsagent.Route(ep.APIHost, "")
	if !private {
		hc, err := NewHTTPClient(HTTPClientOptions{
			CABundle:       ep.CABundle,
			AllowLinkLocal: hostAllowed(ep.APIHost, c.allowHosts),
			DialControl:    c.dialControl,
		})
		return hc, ep.APIHost, err
	}
	var rt http.RoundTripper = noAgents{pool: pool}
	if c.agents != nil {
		rt = c.agents(pool)
	}
	hc := &http.Client{Transport: rt, Timeout: requestTimeout, CheckRedirect: sameHostRedirects}
	return hc, "http://private." + pool + prefix, nil
}

// noAgents is the transport of private hosts on a Checker built without
// WithAgents.
type noAgents struct{ pool string }

func (n noAgents) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, &vcsagent.NoAgentError{Pool: n.pool}
}
