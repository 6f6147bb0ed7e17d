package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/worker"
)

// BenchmarkSchedulerOverhead measures SPEC §7's "scheduler overhead per
// run (queue → worker picks it), excluding OpenTofu" (target < 20 ms): a
// remote worker waits in a lease request; each iteration triggers a
// proposed run through the API and times until the worker holds it. Two
// figures: from the start of the API call, and from its answer (the run is
// committed as QUEUED), the latter with the prefix "queued-".
func BenchmarkSchedulerOverhead(b *testing.B) {
	h := runsSetup(b, func(c *app.Config) { c.WorkerSlots = -1; c.SchedulerPoll = time.Second })
	token := h.workerPool("Bench")
	w := &worker.Client{BaseURL: h.URL, PoolToken: token, HTTP: apitest.Client(b)}
	ctx := context.Background()
	var took, picked []time.Duration
	for b.Loop() {
		leased := make(chan string, 1)
		go func() {
			job, ok, err := w.Lease(ctx, "bench", 10*time.Second)
			if err != nil || !ok {
				leased <- ""
				return
			}
			leased <- job.RunID
			_ = w.Finish(ctx, job.RunID, job.LeaseID, "benchmark: not executed", "")
		}()
		start := time.Now()
		var r api.Run
		h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", h.AdminKey,
			map[string]any{"type": "PROPOSED", "commit_sha": randomSHA()}).Decode(b, &r)
		created := time.Now()
		id := <-leased
		took = append(took, time.Since(start))
		picked = append(picked, time.Since(created))
		if id != r.ID {
			b.Fatalf("leased %q, want %q", id, r.ID)
		}
	}
	reportLatencies(b, "", took)
	reportLatencies(b, "queued-", picked)
}

// reportLatencies reports the p50, p90, p99 and maximum of v in
// milliseconds, each unit prefixed with prefix.
func reportLatencies(b *testing.B, prefix string, v []time.Duration) {
	b.Helper()
	if len(v) == 0 {
		return
	}
	slices.Sort(v)
	n := len(v)
	for _, q := range []struct {
		name string
		at   int
	}{{"p50", n / 2}, {"p90", n * 9 / 10}, {"p99", n * 99 / 100}, {"max", n - 1}} {
		b.ReportMetric(float64(v[q.at].Microseconds())/1000, prefix+q.name+"-ms")
	}
}

func randomSHA() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
