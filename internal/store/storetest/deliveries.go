package storetest

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/webhook"
)

// hookSecret is the sealed webhook secret of testIntegration.
var hookSecret = []byte{4, 5, 6}

// newDelivery is a delivery to integration checked against hookSecret,
// with its processing job when it is received.
func newDelivery(id, integrationID, key string, status webhook.Status) webhook.NewDelivery {
	d := webhook.NewDelivery{Delivery: webhook.Delivery{ID: id, IntegrationID: integrationID, DedupeKey: key, Event: "Push Hook",
		Project: "acme/infra", Ref: "main", Headers: map[string]string{"X-Gitlab-Event": "Push Hook"}, Body: []byte(`{"id":"` + id + `"}`),
		Status: status, ReceivedAt: base, UpdatedAt: base}, CheckedSecret: hookSecret}
	if status == webhook.Received {
		j := webhook.ProcessJob(id)
		d.Job = &j
	}
	return d
}

// deliveryFixture is a store with the GitLab integrations gl and gl2, both
// with the webhook secret hookSecret.
func deliveryFixture(t *testing.T, h Harness) *sqlstore.Store {
	t.Helper()
	s := fresh(t, h)
	for _, id := range []string{"gl", "gl2"} {
		if err := s.CreateIntegration(ctx(), testIntegration(id, space.RootID, id == "gl"), entry("integration.create", id)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func mustDeliver(t *testing.T, s *sqlstore.Store, ds ...webhook.NewDelivery) []webhook.Inserted {
	t.Helper()
	ins, err := s.InsertDeliveries(ctx(), ds)
	if err != nil {
		t.Fatalf("insert deliveries: %v", err)
	}
	// What the intake does before it acknowledges: on SQLite an fsync of
	// the WAL, which must find it.
	if err := s.Durable(); err != nil {
		t.Fatalf("durable: %v", err)
	}
	return ins
}

// jobPayloads leases every due job of kinds and returns their payloads,
// sorted.
func jobPayloads(t *testing.T, s *sqlstore.Store, kinds ...string) []string {
	t.Helper()
	jobs, err := s.LeaseJobs(ctx(), "test", kinds, base.Add(time.Hour), time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	return payloads(jobs)
}

// testDeliveries: InsertDeliveries stores new deliveries with their jobs
// and answers for duplicates and rotated secrets; GetDelivery and
// ListDeliveries read them back.
func testDeliveries(t *testing.T, h Harness) {
	s := deliveryFixture(t, h)
	testWebhookSecret(t, s)
	stale := newDelivery("d05", "gl", "k5", webhook.Received)
	stale.CheckedSecret = []byte("rotated away")
	deduped := newDelivery("d08", "gl", "k8", webhook.Received)
	deduped.Job = &jobqueue.NewJob{Kind: "custom", Payload: []byte(`"d08"`), DedupeKey: "x"}
	received := webhook.Inserted{Status: webhook.Received}
	ignored := webhook.Inserted{Status: webhook.Ignored}
	for _, tc := range []struct {
		name string
		ds   []webhook.NewDelivery
		want []webhook.Inserted
	}{
		{"new, a duplicate within the batch, ignored",
			[]webhook.NewDelivery{newDelivery("d01", "gl", "k1", webhook.Received), newDelivery("d02", "gl", "k1", webhook.Received),
				newDelivery("d03", "gl", "k3", webhook.Ignored)},
			[]webhook.Inserted{with(received, "d01", false), with(received, "d01", true), with(ignored, "d03", false)}},
		{"duplicate of a stored one",
			[]webhook.NewDelivery{newDelivery("d04", "gl", "k3", webhook.Received)},
			[]webhook.Inserted{with(ignored, "d03", true)}},
		{"rotated secret, unknown integration",
			[]webhook.NewDelivery{stale, newDelivery("d06", "nope", "k6", webhook.Received), newDelivery("d07", "gl2", "k7", webhook.Received)},
			[]webhook.Inserted{{SecretChanged: true}, {SecretChanged: true}, with(received, "d07", false)}},
		{"a job with a dedupe key",
			[]webhook.NewDelivery{deduped, newDelivery("d09", "gl", "k9", webhook.Received)},
			[]webhook.Inserted{with(received, "d08", false), with(received, "d09", false)}},
		{"keys are per integration",
			[]webhook.NewDelivery{newDelivery("d10", "gl2", "k1", webhook.Received)},
			[]webhook.Inserted{with(received, "d10", false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustDeliver(t, s, tc.ds...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("InsertDeliveries = %+v\nwant %+v", got, tc.want)
			}
		})
	}
	want := []string{`"d08"`, `{"delivery_id":"d01"}`, `{"delivery_id":"d07"}`, `{"delivery_id":"d09"}`, `{"delivery_id":"d10"}`}
	if got := jobPayloads(t, s, webhook.ProcessKind, "custom"); !slices.Equal(got, want) {
		t.Errorf("jobs = %v, want one per stored, received delivery: %v", got, want)
	}
	if ins, err := s.InsertDeliveries(ctx(), nil); err != nil || ins != nil {
		t.Errorf("InsertDeliveries(nil) = %v, %v", ins, err)
	}
	err := s.InTx(ctx(), func(ctx context.Context) error {
		_, err := s.InsertDeliveries(ctx, []webhook.NewDelivery{newDelivery("d11", "gl", "k11", webhook.Received)})
		return err
	})
	if err == nil {
		t.Error("InsertDeliveries inside InTx succeeded; it must refuse (its transaction is its own)")
	}

	got, err := s.GetDelivery(ctx(), "d01")
	if d := newDelivery("d01", "gl", "k1", webhook.Received).Delivery; err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDelivery = %+v, %v\nwant %+v", got, err, d)
	}
	for _, id := range []string{"d02", "d05", "d06", "d11", "nope"} {
		_, err := s.GetDelivery(ctx(), id)
		wantCode(t, err, apperr.NotFound)
		_, err = s.DeliveryToProcess(ctx(), id)
		wantCode(t, err, apperr.NotFound)
	}
	d := newDelivery("d01", "gl", "k1", webhook.Received).Delivery
	process := webhook.Delivery{ID: d.ID, IntegrationID: d.IntegrationID, Event: d.Event, Project: d.Project, Ref: d.Ref,
		ReceivedAt: d.ReceivedAt, Body: d.Body}
	if got, err := s.DeliveryToProcess(ctx(), "d01"); err != nil || !reflect.DeepEqual(got, process) {
		t.Errorf("DeliveryToProcess = %+v, %v\nwant %+v", got, err, process)
	}
	testListDeliveries(t, s)
}

// testWebhookSecret: the sealed secret is read by integration, also in a
// transaction.
func testWebhookSecret(t *testing.T, s *sqlstore.Store) {
	if got, err := s.WebhookSecretSealed(ctx(), "gl"); err != nil || !bytes.Equal(got, hookSecret) {
		t.Errorf("WebhookSecretSealed = %v, %v", got, err)
	}
	_, err := s.WebhookSecretSealed(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	err = s.InTx(ctx(), func(ctx context.Context) error {
		got, err := s.WebhookSecretSealed(ctx, "gl2")
		if !bytes.Equal(got, hookSecret) {
			t.Errorf("WebhookSecretSealed in a transaction = %v, %v", got, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// with returns in with the stored delivery id, as a duplicate of it or not.
func with(in webhook.Inserted, id string, dup bool) webhook.Inserted {
	in.ID, in.Duplicate = id, dup
	return in
}

// testListDeliveries lists what testDeliveries stored: d01, d03, d08 and
// d09 of gl, d07 and d10 of gl2.
func testListDeliveries(t *testing.T, s *sqlstore.Store) {
	for _, tc := range []struct {
		name string
		f    webhook.Filter
		want []string
	}{
		{"all", webhook.Filter{All: true}, []string{"d10", "d09", "d08", "d07", "d03", "d01"}},
		{"visible integrations", webhook.Filter{Integrations: []string{"gl2"}}, []string{"d10", "d07"}},
		{"one of the visible", webhook.Filter{Integrations: []string{"gl", "gl2"}, Integration: "gl"}, []string{"d09", "d08", "d03", "d01"}},
		{"one of all", webhook.Filter{All: true, Integration: "gl2"}, []string{"d10", "d07"}},
		{"none visible", webhook.Filter{}, []string{}},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			got := []string{}
			cursor := ""
			for pages := 0; pages < 10; pages++ {
				page, next, err := s.ListDeliveries(ctx(), tc.f, cursor, 4)
				if err != nil || len(page) > 4 {
					t.Fatalf("page %d: %d deliveries, %v", pages, len(page), err)
				}
				for _, d := range page {
					if d.Body != nil || d.Headers["X-Gitlab-Event"] != "Push Hook" {
						t.Errorf("listed %s with body %q, headers %v; want headers and no body", d.ID, d.Body, d.Headers)
					}
					got = append(got, d.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
	_, _, err := s.ListDeliveries(ctx(), webhook.Filter{All: true}, "%%", 4)
	wantField(t, err, "cursor")
}
