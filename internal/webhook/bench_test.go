package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/webhook"
)

// senders is the concurrency of SPEC §7's intake target.
const senders = 16

// BenchmarkIntakeSQLite measures durable intake (SPEC §7: ≥ 10,000
// deliveries/s, p99 < 20 ms) with 16 concurrent senders over loopback
// HTTP, each delivery a distinct push payload committed before its answer.
func BenchmarkIntakeSQLite(b *testing.B) { benchIntake(b, "sqlite") }

// BenchmarkIntakePostgres is the same on PostgreSQL (≥ 8,000/s); it needs
// HOIST_TEST_POSTGRES.
func BenchmarkIntakePostgres(b *testing.B) { benchIntake(b, "postgres") }

func benchIntake(b *testing.B, dialect string) {
	f := newFixture(b, dialect)
	body := pushBody(b)
	tr := &http.Transport{MaxIdleConns: senders, MaxIdleConnsPerHost: senders}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	lat := make([][]time.Duration, senders)
	var failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				if !post(client, f.url, body, fmt.Sprintf("bench-%d", i)) {
					failures.Add(1)
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d deliveries not acknowledged with 202", n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
}

func post(c *http.Client, url string, body []byte, key string) bool {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", hookSecret)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusAccepted
}

// BenchmarkStoreBatchSQLite is the intake's database cost alone: batches
// of 16 deliveries (with their jobs) committed durably, no HTTP.
func BenchmarkStoreBatchSQLite(b *testing.B) {
	f := newFixture(b, "sqlite")
	body := pushBody(b)
	headers := map[string]string{"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
		"Idempotency-Key": "x", "User-Agent": "GitLab/17.4.0", "X-Gitlab-Event-Uuid": "x", "X-Gitlab-Instance": "https://gitlab.example.com"}
	sealed, err := f.store.WebhookSecretSealed(b.Context(), "acme")
	if err != nil {
		b.Fatal(err)
	}
	const batch = 16
	n := 0
	b.ResetTimer()
	for b.Loop() {
		ds := make([]webhook.NewDelivery, batch)
		now := time.Now().UTC()
		for i := range ds {
			n++
			id := fmt.Sprintf("01k%023d", n)
			job := webhook.ProcessJob(id)
			ds[i] = webhook.NewDelivery{Delivery: webhook.Delivery{ID: id, IntegrationID: "acme", DedupeKey: fmt.Sprintf("idempotency-key:%d", n),
				Event: "Push Hook", Headers: headers, Body: body, Status: webhook.Received, ReceivedAt: now, UpdatedAt: now},
				Job: &job, CheckedSecret: sealed}
		}
		if _, err := f.store.InsertDeliveries(b.Context(), ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "deliveries/s")
}
