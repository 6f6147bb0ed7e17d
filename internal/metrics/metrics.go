// Package metrics is Hoist's Prometheus instrumentation (docs/metrics.md).
// A Metrics is one registry, built by the composition root and never the
// client library's global one (two servers in one test process keep their
// numbers apart). It implements the small Metrics interfaces that the
// domain packages declare — webhook intake, delivery processing, run
// phases, GitLab writes — so they count without importing Prometheus;
// gauges that describe the database (queue backlogs, runs by state) are
// read at scrape time, at most once a second, by a collector (scrape.go).
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Metrics holds the registry and the metrics fed by events.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	deliveries    *prometheus.CounterVec
	intake        prometheus.Histogram
	processings   *prometheus.CounterVec
	phases        *prometheus.HistogramVec
	writes        *prometheus.CounterVec
	writeRetries  *prometheus.CounterVec
	writeSeconds  *prometheus.HistogramVec
	notifications *prometheus.CounterVec
}

// The domain interfaces Metrics implements.
var (
	_ webhook.Metrics  = (*Metrics)(nil)
	_ ingest.Metrics   = (*Metrics)(nil)
	_ run.Metrics      = (*Metrics)(nil)
	_ feedback.Metrics = (*Metrics)(nil)
	_ notify.Metrics   = (*Metrics)(nil)
)

// Buckets, in seconds. A delivery is answered after its group commit
// (milliseconds); a run's phase lasts from a second (QUEUED with a free
// worker) to days (UNCONFIRMED); a GitLab write is one API call, cut off
// by its 30 s timeout.
var (
	intakeBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	phaseBuckets  = []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600}
	writeBuckets  = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

// New returns a Metrics whose registry already holds the Go runtime and
// process collectors, plus extra (the database pools' statistics, the
// scrape-time collector). log receives the errors of a scrape.
func New(log *slog.Logger, extra ...prometheus.Collector) (*Metrics, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hoist_webhook_deliveries_total",
			Help: "Webhook delivery requests answered, by integration (empty when unknown), X-Gitlab-Event and outcome."},
			[]string{"integration", "event", "outcome"}),
		intake: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hoist_webhook_intake_seconds",
			Help:    "Time from a delivery request to its answer, for deliveries that were stored (or found stored).",
			Buckets: intakeBuckets}),
		processings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hoist_webhook_processings_total",
			Help: "Attempts to process a stored delivery into runs, by integration, event and outcome."},
			[]string{"integration", "event", "outcome"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hoist_run_phase_seconds",
			Help:    "Time runs spent in a state before leaving it, by that state.",
			Buckets: phaseBuckets}, []string{"phase"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hoist_gitlab_writes_total",
			Help: "Attempts to write to GitLab (commit status, merge request note, deployment, award emoji, command reply), by kind and outcome."},
			[]string{"kind", "outcome"}),
		writeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hoist_gitlab_write_retries_total",
			Help: "Attempts to write to GitLab that retried an earlier failed attempt, by kind."},
			[]string{"kind"}),
		writeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hoist_gitlab_write_seconds",
			Help:    "Time GitLab took to answer a write, by kind.",
			Buckets: writeBuckets}, []string{"kind"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hoist_notification_attempts_total",
			Help: "Attempts to send a notification, by target kind (webhook, slack) and outcome (delivered, retrying, failed)."},
			[]string{"kind", "outcome"}),
	}
	// Series that exist from the start, so that rates begin at zero rather
	// than at the first event.
	for _, k := range feedback.Kinds() {
		for _, o := range []feedback.WriteState{feedback.StateDone, feedback.StateRetrying, feedback.StateFailed} {
			m.writes.WithLabelValues(string(k), string(o))
		}
		m.writeRetries.WithLabelValues(string(k))
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.deliveries, m.intake, m.processings, m.phases, m.writes, m.writeRetries, m.writeSeconds, m.notifications,
	}
	for _, c := range append(cs, extra...) {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// Handler serves the registry in the Prometheus text format. A collector
// that fails (the database did not answer in time) leaves its metrics out
// of that scrape; the others are served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		// Each scrape queries the database: a burst of scrapers waits.
		MaxRequestsInFlight: 2,
		Timeout:             30 * time.Second,
	})
}

// errorLog hands promhttp's errors to slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics scrape", "error", fmt.Sprint(v...)) }

// DeliveryReceived implements webhook.Metrics.
func (m *Metrics) DeliveryReceived(integrationID, event string, outcome webhook.IntakeResult, took time.Duration) {
	m.deliveries.WithLabelValues(integrationID, event, string(outcome)).Inc()
	if outcome.Stored() {
		m.intake.Observe(took.Seconds())
	}
}

// DeliveryProcessed implements ingest.Metrics.
func (m *Metrics) DeliveryProcessed(integrationID, event string, outcome ingest.Outcome) {
	m.processings.WithLabelValues(integrationID, event, string(outcome)).Inc()
}

// RunPhaseDone implements run.Metrics.
func (m *Metrics) RunPhaseDone(phase run.State, d time.Duration) {
	m.phases.WithLabelValues(string(phase)).Observe(d.Seconds())
}

// GitLabWrite implements feedback.Metrics.
func (m *Metrics) GitLabWrite(kind feedback.Kind, outcome feedback.WriteState, retry bool, took time.Duration) {
	m.writes.WithLabelValues(string(kind), string(outcome)).Inc()
	if retry {
		m.writeRetries.WithLabelValues(string(kind)).Inc()
	}
	if took > 0 {
		m.writeSeconds.WithLabelValues(string(kind)).Observe(took.Seconds())
	}
}

// NotificationAttempt implements notify.Metrics.
func (m *Metrics) NotificationAttempt(kind, outcome string) {
	m.notifications.WithLabelValues(kind, outcome).Inc()
}
