package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/run"
)

// Store is what a scrape reads from the database (sqlstore implements
// it): counts that must agree with every server on the database, so they
// are read, not tracked in memory.
type Store interface {
	JobBacklog(ctx context.Context) ([]jobqueue.Backlog, error)
	WriteBacklog(ctx context.Context) ([]feedback.Backlog, error)
	CountRunsByState(ctx context.Context) (map[run.State]int, error)
	// CountDriftedStacks counts the stacks whose last drift run found
	// changes (issue 21).
	CountDriftedStacks(ctx context.Context) (int, error)
}

// Agents tells how many VCS agents are connected to this server, by pool
// (tunnel.Registry implements it).
type Agents interface {
	Counts() map[string]int
}

// DefaultScrapeTimeout bounds the database reads of one scrape: a slow
// database costs a scrape its backlog gauges, never a hanging scraper.
const DefaultScrapeTimeout = 5 * time.Second

// DefaultStateMaxAge is how long one reading of the database's gauges
// answers later scrapes. Counting a backlog reads every row of it (25,000
// queued jobs took 28 ms of CPU a scrape under load), so scrapes faster
// than this (several Prometheus servers, a dashboard polling) cost the
// database one reading a second at most; Prometheus's own interval is
// 15 s or more.
const DefaultStateMaxAge = time.Second

// StateConfig configures NewStateCollector.
type StateConfig struct {
	Store   Store
	Agents  Agents
	Clock   func() time.Time // default time.Now
	Timeout time.Duration    // default DefaultScrapeTimeout
	// MaxAge is how long a reading of the database's gauges answers later
	// scrapes (default DefaultStateMaxAge; negative: none does).
	MaxAge time.Duration
	Logger *slog.Logger
}

// stateCollector reads the gauges of the database (at most once per
// MaxAge) and of the agent registry (at each scrape).
type stateCollector struct {
	cfg StateConfig

	jobsQueued, jobsFailed, jobsAge *prometheus.Desc
	writesOpen, writesAge           *prometheus.Desc
	runs                            *prometheus.Desc
	drifted                         *prometheus.Desc
	agents                          *prometheus.Desc

	// mu makes scrapes that arrive during a reading of the database wait
	// for it and share it.
	mu     sync.Mutex
	read   time.Time           // when stored was read (cfg.Clock)
	stored []prometheus.Metric // the last reading, nil after a failed one
}

// NewStateCollector returns the collector of the gauges read at scrape
// time: the job queue's and the GitLab outbox's backlogs, runs by state
// and drifted stacks from the database (a reading serves the scrapes of
// the next MaxAge), and the connected VCS agents.
func NewStateCollector(cfg StateConfig) prometheus.Collector {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultScrapeTimeout
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultStateMaxAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	kind := []string{"kind"}
	return &stateCollector{cfg: cfg,
		jobsQueued: prometheus.NewDesc("hoist_jobs_queued",
			"Jobs in the job queue not yet done (waiting, waiting to retry, or running), by kind.", kind, nil),
		jobsFailed: prometheus.NewDesc("hoist_jobs_failed",
			"Jobs that gave up and are kept for operators, by kind.", kind, nil),
		jobsAge: prometheus.NewDesc("hoist_jobs_oldest_age_seconds",
			"Age of the oldest job not yet done, by kind (0 when none is queued).", kind, nil),
		writesOpen: prometheus.NewDesc("hoist_gitlab_writes_open",
			"GitLab writes enqueued and not yet resolved (pending or retrying), by kind.", kind, nil),
		writesAge: prometheus.NewDesc("hoist_gitlab_writes_oldest_age_seconds",
			"Age of the oldest open GitLab write, by kind (0 when none is open).", kind, nil),
		runs: prometheus.NewDesc("hoist_runs",
			"Runs in the database, by state.", []string{"state"}, nil),
		drifted: prometheus.NewDesc("hoist_stacks_drifted",
			"Stacks whose last drift run found changes (docs/drift.md).", nil, nil),
		agents: prometheus.NewDesc("hoist_vcs_agents_connected",
			"VCS agents connected to this server, by pool (pools with none are absent).", []string{"pool"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobsQueued, c.jobsFailed, c.jobsAge, c.writesOpen, c.writesAge, c.runs, c.drifted, c.agents} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.fromStore() {
		ch <- m
	}
	if c.cfg.Agents != nil { // in memory: always current
		for pool, n := range c.cfg.Agents.Counts() {
			ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(n), pool)
		}
	}
}

// fromStore returns the gauges read from the database: the last reading
// while younger than MaxAge, else a new one. A reading with a failed
// part is not kept: the next scrape tries again.
func (c *stateCollector) fromStore() []prometheus.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock()
	if c.stored != nil && !now.Before(c.read) && now.Sub(c.read) < c.cfg.MaxAge {
		return c.stored
	}
	// A scrape has no context of its own: the timeout is its bound.
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	var ms []prometheus.Metric
	ok := true
	emit := func(m prometheus.Metric, err error) {
		ms = append(ms, m)
		ok = ok && err == nil
	}
	c.collectJobs(ctx, emit, now)
	c.collectWrites(ctx, emit, now)
	c.collectRuns(ctx, emit)
	if n, err := c.cfg.Store.CountDriftedStacks(ctx); err != nil {
		emit(prometheus.NewInvalidMetric(c.drifted, err), err)
	} else {
		emit(prometheus.MustNewConstMetric(c.drifted, prometheus.GaugeValue, float64(n)), nil)
	}
	c.stored, c.read = nil, now
	if ok {
		c.stored = ms
	}
	return ms
}

// emitFunc takes one gauge of a reading, and the error that made it
// invalid (nil for a valid one).
type emitFunc func(m prometheus.Metric, err error)

func (c *stateCollector) collectJobs(ctx context.Context, emit emitFunc, now time.Time) {
	jobs, err := c.cfg.Store.JobBacklog(ctx)
	if err != nil {
		emit(prometheus.NewInvalidMetric(c.jobsQueued, err), err)
		return
	}
	for _, b := range jobs {
		emit(prometheus.MustNewConstMetric(c.jobsQueued, prometheus.GaugeValue, float64(b.Queued), b.Kind), nil)
		emit(prometheus.MustNewConstMetric(c.jobsFailed, prometheus.GaugeValue, float64(b.Failed), b.Kind), nil)
		emit(prometheus.MustNewConstMetric(c.jobsAge, prometheus.GaugeValue, age(now, b.Oldest), b.Kind), nil)
	}
}

func (c *stateCollector) collectWrites(ctx context.Context, emit emitFunc, now time.Time) {
	open, err := c.cfg.Store.WriteBacklog(ctx)
	if err != nil {
		emit(prometheus.NewInvalidMetric(c.writesOpen, err), err)
		return
	}
	byKind := map[feedback.Kind]feedback.Backlog{}
	for _, b := range open {
		byKind[b.Kind] = b
	}
	for _, k := range feedback.Kinds() {
		b := byKind[k]
		emit(prometheus.MustNewConstMetric(c.writesOpen, prometheus.GaugeValue, float64(b.Open), string(k)), nil)
		emit(prometheus.MustNewConstMetric(c.writesAge, prometheus.GaugeValue, age(now, b.Oldest), string(k)), nil)
	}
}

func (c *stateCollector) collectRuns(ctx context.Context, emit emitFunc) {
	counts, err := c.cfg.Store.CountRunsByState(ctx)
	if err != nil {
		emit(prometheus.NewInvalidMetric(c.runs, err), err)
		return
	}
	for _, s := range run.States { // every state, 0 included: a series that vanishes cannot alert
		emit(prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(counts[s]), string(s)), nil)
	}
}

// age is how long ago oldest was, in seconds; 0 for none.
func age(now, oldest time.Time) float64 {
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest).Seconds(), 0)
}
