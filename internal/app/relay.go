package app

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// newCluster joins this server's VCS agents to those of the other servers
// on the database (docs/design/replicas.md): on PostgreSQL it announces
// its agents and relays GitLab calls to the servers holding the agents it
// lacks; on SQLite, which one process owns, it is the local registry.
// The relay key is derived from the encryption key every replica shares.
func newCluster(cfg Config, store *sqlstore.Store, agents *tunnel.Registry, key []byte, tlsCfg *tls.Config, ln net.Listener) (*tunnel.Cluster, error) {
	cc := tunnel.ClusterConfig{Local: agents, Logger: cfg.Logger, Clock: cfg.Clock}
	if store.Dialect() != "postgres" {
		return tunnel.NewCluster(cc), nil
	}
	addr, err := advertiseURL(cfg.AdvertiseURL, schemeOf(tlsCfg), ln.Addr())
	if err != nil {
		return nil, err
	}
	roots, err := relayRoots(cfg.TLSCertFile)
	if err != nil {
		return nil, err
	}
	cc.Presence, cc.ServerID, cc.Address = store, rand.Text()[:16], addr
	cc.RelayKey, cc.Transport = tunnel.RelayKey(key), tunnel.NewRelayTransport(roots)
	cc.Heartbeat, cc.PresenceLifetime = cfg.AgentHeartbeat, 3*cfg.AgentHeartbeat
	return tunnel.NewCluster(cc), nil
}

// advertiseURL is --advertise-url, checked, or by default where this
// server listens: the listen address itself when it names one address (a
// server bound to 127.0.0.1 is reachable there only), else
// <scheme>://<host name>:<listen port>, the name replicas usually know each
// other by (a container's, a pod's).
func advertiseURL(flag, scheme string, listen net.Addr) (string, error) {
	if flag != "" {
		u, err := url.Parse(flag)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("--advertise-url %q: want http(s)://host[:port][/path], the URL other servers reach this one at", flag)
		}
		return strings.TrimRight(flag, "/"), nil
	}
	ip, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return "", fmt.Errorf("listen address %s: %w", listen, err)
	}
	if a := net.ParseIP(ip); a != nil && !a.IsUnspecified() {
		return scheme + "://" + listen.String(), nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "", fmt.Errorf("--advertise-url is unset and the host name is unknown (%v): set it to the URL other servers reach this one at", err)
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// relayRoots are the CAs the relay trusts for https peers: the system's,
// and the certificates of this server's own --tls-cert, which replicas
// usually share.
func relayRoots(certFile string) (*x509.CertPool, error) {
	if certFile == "" {
		return nil, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read TLS certificate %s: %w", certFile, err)
	}
	roots.AppendCertsFromPEM(pem)
	return roots, nil
}
