package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/ingest"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/metrics/metricstest"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/webhook"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeStore answers a scrape's reads; err fails them all.
type fakeStore struct {
	jobs    []jobqueue.Backlog
	writes  []feedback.Backlog
	runs    map[run.State]int
	drifted int
	err     error
}

func (f fakeStore) JobBacklog(context.Context) ([]jobqueue.Backlog, error)   { return f.jobs, f.err }
func (f fakeStore) WriteBacklog(context.Context) ([]feedback.Backlog, error) { return f.writes, f.err }
func (f fakeStore) CountRunsByState(context.Context) (map[run.State]int, error) {
	return f.runs, f.err
}
func (f fakeStore) CountDriftedStacks(context.Context) (int, error) { return f.drifted, f.err }

type fakeAgents map[string]int

func (f fakeAgents) Counts() map[string]int { return f }

// serve builds a Metrics on store and serves it; it returns the scrape URL.
func serve(t *testing.T, store metrics.Store) (*metrics.Metrics, string) {
	t.Helper()
	m, err := metrics.New(nil, metrics.NewStateCollector(metrics.StateConfig{Store: store,
		Agents: fakeAgents{"pool-1": 2}, Clock: func() time.Time { return now }}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return m, srv.URL
}

func TestEventsMoveTheirMetrics(t *testing.T) {
	t.Parallel()
	m, url := serve(t, fakeStore{})
	m.DeliveryReceived("gl", "Push Hook", webhook.IntakeAccepted, 3*time.Millisecond)
	m.DeliveryReceived("gl", "Push Hook", webhook.IntakeDuplicate, time.Millisecond)
	m.DeliveryReceived("gl", "Push Hook", webhook.IntakeUnauthorized, time.Millisecond)
	m.DeliveryProcessed("gl", "Push Hook", ingest.OutcomeProcessed)
	m.RunPhaseDone(run.Planning, 90*time.Second)
	m.GitLabWrite(feedback.KindStatus, feedback.StateRetrying, false, time.Second)
	m.GitLabWrite(feedback.KindStatus, feedback.StateDone, true, 200*time.Millisecond)
	m.GitLabWrite(feedback.KindNote, feedback.StateFailed, false, 0) // GitLab never called

	f := metricstest.Scrape(t, url, "")
	for _, tc := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"hoist_webhook_deliveries_total", []string{"integration", "gl", "event", "Push Hook"}, 3},
		{"hoist_webhook_deliveries_total", []string{"outcome", "unauthorized"}, 1},
		{"hoist_webhook_intake_seconds", nil, 2}, // stored deliveries only
		{"hoist_webhook_processings_total", []string{"outcome", "processed"}, 1},
		{"hoist_run_phase_seconds", []string{"phase", "PLANNING"}, 1},
		{"hoist_gitlab_writes_total", []string{"kind", "status"}, 2},
		{"hoist_gitlab_writes_total", []string{"kind", "note", "outcome", "failed"}, 1},
		{"hoist_gitlab_writes_total", []string{"kind", "deployment"}, 0}, // present from the start
		{"hoist_gitlab_writes_total", []string{"kind", "award", "outcome", "failed"}, 0},
		{"hoist_gitlab_write_retries_total", []string{"kind", "reply"}, 0},
		{"hoist_gitlab_write_retries_total", []string{"kind", "status"}, 1},
		{"hoist_gitlab_write_seconds", nil, 2}, // calls GitLab answered
	} {
		if got := f.Value(tc.name, tc.match...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
	if got, want := len(f["hoist_gitlab_writes_total"].GetMetric()), 3*len(feedback.Kinds()); got != want {
		t.Errorf("hoist_gitlab_writes_total has %d series, want every kind × outcome (%d)", got, want)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if f[name] == nil {
			t.Errorf("no %s: the runtime collectors are missing", name)
		}
	}
}

func TestStateIsReadAtScrape(t *testing.T) {
	t.Parallel()
	_, url := serve(t, fakeStore{
		jobs:    []jobqueue.Backlog{{Kind: webhook.ProcessKind, Queued: 3, Failed: 1, Oldest: now.Add(-90 * time.Second)}},
		writes:  []feedback.Backlog{{Kind: feedback.KindStatus, Open: 2, Oldest: now.Add(-time.Minute)}},
		runs:    map[run.State]int{run.Queued: 4, run.Finished: 7},
		drifted: 2,
	})
	f := metricstest.Scrape(t, url, "")
	for _, tc := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"hoist_jobs_queued", []string{"kind", webhook.ProcessKind}, 3},
		{"hoist_jobs_failed", []string{"kind", webhook.ProcessKind}, 1},
		{"hoist_jobs_oldest_age_seconds", []string{"kind", webhook.ProcessKind}, 90},
		{"hoist_gitlab_writes_open", []string{"kind", "status"}, 2},
		{"hoist_gitlab_writes_oldest_age_seconds", []string{"kind", "status"}, 60},
		{"hoist_gitlab_writes_oldest_age_seconds", []string{"kind", "note"}, 0},
		{"hoist_gitlab_writes_open", []string{"kind", "reply"}, 0}, // every kind, 0 included
		{"hoist_runs", []string{"state", "QUEUED"}, 4},
		{"hoist_runs", []string{"state", "FINISHED"}, 7},
		{"hoist_stacks_drifted", nil, 2},
		{"hoist_vcs_agents_connected", []string{"pool", "pool-1"}, 2},
	} {
		if got := f.Value(tc.name, tc.match...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
	if got := f.Labels("hoist_runs", "state"); len(got) != len(run.States) || !slices.Contains(got, "APPLYING") {
		t.Errorf("hoist_runs states = %v; want every state, 0 included", got)
	}
}

// TestStoreFailureCostsOnlyItsGauges: a database that fails a scrape's
// reads leaves the backlog gauges out; the rest is still served.
func TestStoreFailureCostsOnlyItsGauges(t *testing.T) {
	t.Parallel()
	m, url := serve(t, fakeStore{err: errors.New("database is locked")})
	m.DeliveryReceived("gl", "Push Hook", webhook.IntakeAccepted, time.Millisecond)
	f := metricstest.Scrape(t, url, "")
	for _, name := range []string{"hoist_jobs_queued", "hoist_gitlab_writes_open", "hoist_runs"} {
		if f[name] != nil {
			t.Errorf("%s served although the store failed", name)
		}
	}
	if f.Value("hoist_webhook_deliveries_total") != 1 || f.Value("hoist_vcs_agents_connected") != 2 {
		t.Error("a store failure cost metrics that do not read the store")
	}
}

// countingStore is fakeStore that counts its backlog readings.
type countingStore struct {
	fakeStore
	jobReads *atomic.Int64
}

func (c countingStore) JobBacklog(ctx context.Context) ([]jobqueue.Backlog, error) {
	c.jobReads.Add(1)
	return c.fakeStore.JobBacklog(ctx)
}

// TestStateReadingServesMaxAge: scrapes within MaxAge of a reading share
// it; the next reads anew, and a failed reading is not kept.
func TestStateReadingServesMaxAge(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64 // seconds after now
	var reads atomic.Int64
	store := &countingStore{fakeStore: fakeStore{jobs: []jobqueue.Backlog{{Kind: webhook.ProcessKind, Queued: 3}}},
		jobReads: &reads}
	m, err := metrics.New(nil, metrics.NewStateCollector(metrics.StateConfig{Store: store, MaxAge: 2 * time.Second,
		Clock: func() time.Time { return now.Add(time.Duration(clock.Load()) * time.Second) }}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	for _, step := range []struct {
		at        int64 // seconds after now
		queued    int   // what the database holds
		fail      bool
		wantReads int64
		want      float64 // hoist_jobs_queued; -1: not served
	}{
		{at: 0, queued: 3, wantReads: 1, want: 3},
		{at: 1, queued: 5, wantReads: 1, want: 3}, // the reading of 0 s serves
		{at: 2, queued: 5, wantReads: 2, want: 5}, // MaxAge passed
		{at: 3, queued: 7, fail: true, wantReads: 2, want: 5},
		{at: 4, queued: 7, fail: true, wantReads: 3, want: -1}, // failed: not kept
		{at: 4, queued: 7, wantReads: 4, want: 7},
	} {
		clock.Store(step.at)
		store.jobs[0].Queued, store.err = step.queued, nil
		if step.fail {
			store.err = errors.New("database is locked")
		}
		f := metricstest.Scrape(t, srv.URL, "")
		if got := reads.Load(); got != step.wantReads {
			t.Errorf("at %d s: %d readings, want %d", step.at, got, step.wantReads)
		}
		switch {
		case step.want < 0 && f["hoist_jobs_queued"] != nil:
			t.Errorf("at %d s: hoist_jobs_queued served after a failed reading", step.at)
		case step.want >= 0 && f.Value("hoist_jobs_queued") != step.want:
			t.Errorf("at %d s: hoist_jobs_queued = %v, want %v", step.at, f.Value("hoist_jobs_queued"), step.want)
		}
	}
}
