package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/notify"
)

// BenchmarkDeliver measures enqueue-to-receipt throughput: b.N drift
// notifications to each of 4 targets (one loopback receiver), on SQLite.
func BenchmarkDeliver(b *testing.B) {
	e := setup(b, "sqlite")
	rcv := newReceiver(b)
	for _, name := range []string{"t1", "t2", "t3", "t4"} {
		e.target(b, name, "a", rcv.URL, "drift_detected")
	}
	ctx := context.Background()
	d := notify.NewDispatcher(notify.DispatcherConfig{Service: e.svc, Store: e.store, Poll: 10 * time.Millisecond})
	d.Start(ctx)
	defer d.Stop()
	b.ResetTimer()
	for range b.N {
		if err := e.svc.DriftChanged(ctx, "net", true, nil); err != nil {
			b.Fatal(err)
		}
	}
	apptest.Eventually(b, time.Minute, "every delivery received", func() bool { return len(rcv.requests()) == 4*b.N })
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
