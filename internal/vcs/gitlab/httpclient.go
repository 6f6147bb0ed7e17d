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
	if !opts.AllowLinkLocal {
		dialer.Control = refuseLinkLocal
	}
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
