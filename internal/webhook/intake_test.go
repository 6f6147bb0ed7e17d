package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/webhook"
)

const hookSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// fixture is an intake on a real database with one GitLab integration,
// "acme", served over loopback HTTP.
type fixture struct {
	store  *sqlstore.Store
	box    *secret.Box
	intake *webhook.Intake
	url    string // the endpoint of integration acme
	woken  chan struct{}
	counts *counter // what the intake told its Metrics
}

func newFixture(t testing.TB, dialect string) *fixture {
	t.Helper()
	f := &fixture{store: dbtest.Open(t, dialect), woken: make(chan struct{}, 1), counts: &counter{}}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var err error
	if f.box, err = secret.NewBox(key); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	if err := f.store.CreateSpace(ctx, space.Space{ID: space.RootID, Name: "root", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	f.addIntegration(t, "acme", hookSecret)
	f.intake = webhook.NewIntake(webhook.Config{Store: f.store, Box: f.box, Metrics: f.counts, Wake: func() {
		select {
		case f.woken <- struct{}{}:
		default:
		}
	}})
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/gitlab/{id}", f.intake)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); f.intake.Close() })
	f.url = srv.URL + "/webhooks/gitlab/acme"
	return f
}

func (f *fixture) addIntegration(t testing.TB, id, hookSecret string) {
	t.Helper()
	now := time.Now().UTC()
	in := integration.Integration{ID: id, Provider: integration.GitLab, Name: id, SpaceID: space.RootID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com",
		TokenSealed:         f.box.Seal([]byte("glpat-x"), secret.AAD("integration", id, "token")),
		WebhookSecretSealed: f.box.Seal([]byte(hookSecret), secret.AAD("integration", id, "webhook_secret")),
		CreatedAt:           now, UpdatedAt: now}
	e := audit.Entry{At: now, Actor: "user:admin", Action: "integration.create", ResourceType: "integration", ResourceID: id}
	if err := f.store.CreateIntegration(context.Background(), in, e); err != nil {
		t.Fatal(err)
	}
}

// send posts a delivery; headers are name, value pairs.
func send(t testing.TB, client *http.Client, url, event, token string, body []byte, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if event != "" {
		req.Header.Set("X-Gitlab-Event", event)
	}
	if token != "" {
		req.Header.Set("X-Gitlab-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.store.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pushBody(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../vcs/gitlab/testdata/push.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func forEachDB(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, d))
		})
	}
}

// TestIntakeRefusals is acceptance 2: every refusal of SPEC §2.4 stores
// nothing.
func TestIntakeRefusals(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, f *fixture) {
		c := http.DefaultClient
		body := pushBody(t)
		unknown := strings.Replace(f.url, "/acme", "/nope", 1)
		cases := []struct {
			name, url, event, token string
			body                    []byte
			want                    int
		}{
			{"unknown integration", unknown, "Push Hook", hookSecret, body, http.StatusNotFound},
			{"missing token", f.url, "Push Hook", "", body, http.StatusUnauthorized},
			{"wrong token", f.url, "Push Hook", strings.Repeat("0", 64), body, http.StatusUnauthorized},
			{"token of another length", f.url, "Push Hook", "short", body, http.StatusUnauthorized},
			{"body over 25 MiB", f.url, "Push Hook", hookSecret, bytes.Repeat([]byte(" "), 30<<20), http.StatusRequestEntityTooLarge},
			{"broken JSON", f.url, "Push Hook", hookSecret, []byte(`{"object_kind": "push",`), http.StatusBadRequest},
			{"JSON that is no object", f.url, "Push Hook", hookSecret, []byte(`[1, 2]`), http.StatusBadRequest},
			{"no event header", f.url, "", hookSecret, body, http.StatusBadRequest},
		}
		for _, tc := range cases {
			code, answer := send(t, c, tc.url, tc.event, tc.token, tc.body)
			if code != tc.want {
				t.Errorf("%s: status %d %s, want %d", tc.name, code, answer, tc.want)
			}
			if code == http.StatusUnauthorized && answer != "" {
				t.Errorf("%s: 401 answered %q, want no detail", tc.name, answer)
			}
		}
		if n := f.count(t, "webhook_deliveries"); n != 0 {
			t.Errorf("%d deliveries stored after refusals", n)
		}
	})
}

// TestIntakeStoresDedupesAndIgnores: accepted events are stored with
// their job; the same delivery three times is stored once (also within a
// batch); unknown events are 202 and recorded as ignored.
func TestIntakeStoresDedupesAndIgnores(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, f *fixture) {
		c := http.DefaultClient
		body := pushBody(t)
		code, answer := send(t, c, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", "k-1")
		if code != http.StatusAccepted || !strings.Contains(answer, `"status":"received"`) {
			t.Fatalf("first delivery: %d %s", code, answer)
		}
		select {
		case <-f.woken:
		default:
			t.Error("the job queue was not woken")
		}
		for range 2 {
			code, answer = send(t, c, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", "k-1")
			if code != http.StatusOK || !strings.Contains(answer, `"duplicate":true`) {
				t.Errorf("duplicate delivery: %d %s", code, answer)
			}
		}
		// Falling back: the event UUID, then the body's hash.
		send(t, c, f.url, "Push Hook", hookSecret, body, "X-Gitlab-Event-UUID", "e-1")
		if code, _ := send(t, c, f.url, "Push Hook", hookSecret, body, "X-Gitlab-Event-UUID", "e-1"); code != http.StatusOK {
			t.Errorf("duplicate event UUID answered %d", code)
		}
		send(t, c, f.url, "Push Hook", hookSecret, body)
		if code, _ := send(t, c, f.url, "Push Hook", hookSecret, body); code != http.StatusOK {
			t.Errorf("duplicate body answered %d", code)
		}
		// Concurrent copies land in one batch or in several: stored once.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				send(t, c, f.url, "Merge Request Hook", hookSecret, []byte(`{"object_kind":"merge_request"}`), "Idempotency-Key", "k-2")
			}()
		}
		wg.Wait()
		code, answer = send(t, c, f.url, "Pipeline Hook", hookSecret, []byte(`{"object_kind":"pipeline","ref":"main","project":{"path_with_namespace":"acme/app"}}`))
		if code != http.StatusAccepted || !strings.Contains(answer, `"status":"ignored"`) {
			t.Errorf("pipeline hook: %d %s", code, answer)
		}
		if n := f.count(t, "webhook_deliveries"); n != 5 {
			t.Errorf("%d deliveries stored, want 5", n)
		}
		if n := f.count(t, "jobs"); n != 4 {
			t.Errorf("%d jobs enqueued, want 4 (none for the ignored event)", n)
		}
		ds, _, err := f.store.ListDeliveries(context.Background(), webhook.Filter{All: true}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		ignored := ds[0] // newest first
		if ignored.Status != webhook.Ignored || ignored.Event != "Pipeline Hook" || ignored.Project != "acme/app" || ignored.Ref != "main" {
			t.Errorf("ignored delivery = %+v", ignored)
		}
		full, err := f.store.GetDelivery(context.Background(), ds[len(ds)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(full.Body, body) || full.DedupeKey != "idempotency-key:k-1" || full.Headers["X-Gitlab-Event"] != "Push Hook" {
			t.Errorf("stored delivery = %s %v", full.DedupeKey, full.Headers)
		}
		if _, ok := full.Headers["X-Gitlab-Token"]; ok {
			t.Error("the webhook secret was stored with the headers")
		}
	})
}

// TestIntakeAcknowledgesOnlySynced: on SQLite a delivery is acknowledged
// only once the WAL holding its batch was synced. When the sync fails (here
// the WAL it would sync is gone), the sender gets 503 and will send the
// delivery again, the job queue is not woken, and every later delivery
// fails too: after a failed fsync no commit can be called durable.
func TestIntakeAcknowledgesOnlySynced(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	c := http.DefaultClient
	body := pushBody(t)
	if code, answer := send(t, c, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", "synced"); code != http.StatusAccepted {
		t.Fatalf("before the failure: %d %s", code, answer)
	}
	select {
	case <-f.woken: // before the answer
	default:
		t.Fatal("the job queue was not woken for an acknowledged delivery")
	}
	var seq int
	var name, file string
	if err := f.store.DB().QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file + "-wal"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"unsynced", "after"} {
		code, answer := send(t, c, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", key)
		if code != http.StatusServiceUnavailable || !strings.Contains(answer, "try again") {
			t.Errorf("delivery %s: %d %s, want 503", key, code, answer)
		}
	}
	select {
	case <-f.woken:
		t.Error("the job queue was woken for deliveries not acknowledged")
	default:
	}
}

// TestIntakeSecretRotation: a new secret works at once and the old one
// stops, though the decrypted secret is cached.
func TestIntakeSecretRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	body := pushBody(t)
	if code, _ := send(t, http.DefaultClient, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", "a"); code != http.StatusAccepted {
		t.Fatalf("before rotation: %d", code)
	}
	in, err := f.store.GetIntegration(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Repeat("f", 64)
	in.WebhookSecretSealed = f.box.Seal([]byte(rotated), secret.AAD("integration", "acme", "webhook_secret"))
	e := audit.Entry{At: time.Now(), Actor: "user:admin", Action: "integration.rotate_webhook_secret", ResourceType: "integration", ResourceID: "acme"}
	if err := f.store.UpdateIntegration(context.Background(), in, e); err != nil {
		t.Fatal(err)
	}
	if code, _ := send(t, http.DefaultClient, f.url, "Push Hook", hookSecret, body, "Idempotency-Key", "b"); code != http.StatusUnauthorized {
		t.Errorf("old secret after rotation: %d, want 401", code)
	}
	if code, _ := send(t, http.DefaultClient, f.url, "Push Hook", rotated, body, "Idempotency-Key", "c"); code != http.StatusAccepted {
		t.Errorf("new secret after rotation: %d, want 202", code)
	}
	if err := f.store.DeleteIntegration(context.Background(), "acme", audit.Entry{At: time.Now(), Actor: "user:admin",
		Action: "integration.delete", ResourceType: "integration", ResourceID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := send(t, http.DefaultClient, f.url, "Push Hook", rotated, body, "Idempotency-Key", "d"); code != http.StatusNotFound {
		t.Errorf("deleted integration: %d, want 404", code)
	}
}
