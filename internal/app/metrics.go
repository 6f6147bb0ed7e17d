package app

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

// metricsPath is where Prometheus scrapes (docs/metrics.md).
const metricsPath = "/metrics"

// minMetricsKey is the shortest --metrics-key-file key accepted: a key
// anyone could guess protects nothing.
const minMetricsKey = 16

// newMetrics builds the server's registry: the counters the services
// feed, the gauges read from the database (at most once a second) and the
// agent registry at scrape time, and the database pools' statistics.
func newMetrics(cfg Config, store *sqlstore.Store, agents *tunnel.Registry) (*metrics.Metrics, error) {
	log := cfg.Logger.With("component", "metrics")
	cs := []prometheus.Collector{metrics.NewStateCollector(metrics.StateConfig{Store: store, Agents: agents,
		Clock: cfg.Clock, Logger: log})}
	for role, db := range store.Handles() {
		cs = append(cs, collectors.NewDBStatsCollector(db, role))
	}
	return metrics.New(log, cs...)
}

// readMetricsKey reads the key of --metrics-key-file; "" when none is set.
func readMetricsKey(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	key, err := secret.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("metrics key: %w", err)
	}
	if len(key) < minMetricsKey {
		return "", fmt.Errorf("metrics key in %s: want at least %d characters", path, minMetricsKey)
	}
	return key, nil
}

// keyed serves h only to requests with "Authorization: Bearer <key>": the
// main listener faces users and GitLab, so metrics there need a secret.
func keyed(key string, h http.Handler) http.Handler {
	want := []byte("Bearer " + key)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoist metrics"`)
			http.Error(w, "metrics need the key of --metrics-key-file", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsOnMain is the main listener's /metrics: h behind the key, or
// nil (no route: the API's 404) without one.
func metricsOnMain(key string, h http.Handler) http.Handler {
	if key == "" {
		return nil
	}
	return keyed(key, h)
}

// serveMetrics serves GET /metrics, unauthenticated and nothing else, on
// a listener of its own at addr; it returns the base URL. Plain HTTP:
// operators bind it to a private interface (docs/metrics.md).
func (s *Server) serveMetrics(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, h)
	s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.metricsURL = "http://" + ln.Addr().String()
	go func() {
		if err := s.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener", "error", err)
		}
	}()
	s.log.Info("metrics listening", "address", ln.Addr().String())
	return nil
}

// MetricsURL is the base URL of the --metrics-listen listener
// (http://127.0.0.1:port); "" when there is none.
func (s *Server) MetricsURL() string { return s.metricsURL }
