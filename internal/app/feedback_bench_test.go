package app_test

import (
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
)

// BenchmarkPushToPendingStatus measures SPEC §7's "push delivery → pending
// commit status visible in GitLab" (target p50 < 150 ms): from the moment
// the simulator has taken a push (its webhook is on its way) until the
// stack's status on the pushed SHA is visible in the simulator. One
// iteration is one push; docs/benchmarks.md has the command.
func BenchmarkPushToPendingStatus(b *testing.B) {
	// No workers: runs stay queued, so only webhook intake, run creation
	// and the write-back are measured.
	h := runsSetup(b, func(c *app.Config) { c.WorkerSlots = -1 })
	var took []time.Duration
	for b.Loop() {
		sha := h.push("main", map[string]string{"infra/main.tf": infraTF(time.Now().String())})
		start := time.Now()
		for statusOf(b, h.Sim, sha, "hoist/web").State == "" {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("push %d: no status after 10 s", len(took))
			}
			time.Sleep(100 * time.Microsecond) // polling the simulator's memory, bounded above
		}
		took = append(took, time.Since(start))
	}
	reportLatencies(b, "", took)
}
