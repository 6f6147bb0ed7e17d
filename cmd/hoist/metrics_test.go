package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/metrics/metricstest"
)

var metricsAt = regexp.MustCompile(`Prometheus metrics at (http://\S+/metrics)`)

// TestServerMetricsListen: $HOIST_SERVER_METRICS_LISTEN, the variable the
// one rule gives --metrics-listen, opens the metrics listener; the banner
// names it and a scrape parses.
func TestServerMetricsListen(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr apptest.Buffer
	env := map[string]string{"HOIST_SERVER_METRICS_LISTEN": "127.0.0.1:0"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"server", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()},
			nil, &stdout, &stderr, func(k string) string { return env[k] })
	}()
	var url string
	apptest.Eventually(t, 10*time.Second, "the metrics listener", func() bool {
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v\n%s", err, stderr.String())
		default:
		}
		m := metricsAt.FindStringSubmatch(stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	if f := metricstest.Scrape(t, url, ""); f["hoist_runs"] == nil {
		t.Errorf("the scrape of %s has no hoist_runs", url)
	}
	stopServer(t, cancel, done)
}
