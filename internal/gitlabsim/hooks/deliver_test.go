package hooks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// received is what a test receiver saw of one request.
type received struct {
	header http.Header
	body   []byte
	event  any // parsed by client-go
	err    error
}

// receiver starts a real HTTP server that parses every request with
// client-go, records it, and answers with status and reply.
func receiver(t *testing.T, status int, reply string) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rec := received{header: r.Header.Clone(), body: body, err: err}
		if err == nil {
			rec.event, rec.err = gitlab.ParseHook(gitlab.HookEventType(r), body)
		}
		got <- rec
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// sequentialUUIDs returns a NewUUID func yielding uuid-1, uuid-2, ...
func sequentialUUIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("uuid-%d", n)
	}
}

func testDeliverer() *Deliverer {
	return &Deliverer{
		InstanceURL: "http://gitlab.test",
		NewUUID:     sequentialUUIDs(),
		Timeout:     2 * time.Second,
	}
}

func pushBody(t *testing.T) []byte {
	t.Helper()
	cs := history(2)
	return mustPush(t, Push{Project: testProject(), User: testUser(), Ref: "refs/heads/main", Before: sha("base"), After: cs[1].ID, Commits: cs})
}

func TestDeliverSendsGitLabHeaders(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, "ok")
	d := testDeliverer()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	d.Clock = func() time.Time { return at }
	hook := Hook{ID: 9, URL: srv.URL + "/webhooks/gitlab/1", Token: "s3cret", PushEvents: true}
	body := pushBody(t)

	del := d.Deliver(t.Context(), hook, EventPush, body)
	rec := <-got

	want := map[string]string{
		"Content-Type":          "application/json",
		"User-Agent":            "GitLab/17.6.0",
		"X-Gitlab-Event":        "Push Hook",
		"X-Gitlab-Token":        "s3cret",
		"X-Gitlab-Instance":     "http://gitlab.test",
		"X-Gitlab-Event-Uuid":   del.EventUUID,
		"X-Gitlab-Webhook-Uuid": del.WebhookUUID,
		"Idempotency-Key":       del.IdempotencyKey,
	}
	for name, values := range rec.header {
		if name == "Content-Length" || name == "Accept-Encoding" {
			continue // added by net/http's transport
		}
		if w, ok := want[name]; !ok || len(values) != 1 || values[0] != w {
			t.Errorf("header %s = %q, want %q", name, values, w)
		}
	}
	for name := range want {
		if rec.header.Get(name) == "" {
			t.Errorf("header %s missing", name)
		}
	}
	ids := map[string]bool{del.EventUUID: true, del.WebhookUUID: true, del.IdempotencyKey: true}
	if len(ids) != 3 || del.EventUUID == "" {
		t.Errorf("event/webhook/idempotency UUIDs not distinct: %q %q %q", del.EventUUID, del.WebhookUUID, del.IdempotencyKey)
	}
	if rec.err != nil {
		t.Fatalf("client-go could not parse the delivered body: %v", rec.err)
	}
	if ev, ok := rec.event.(*gitlab.PushEvent); !ok || ev.Ref != "refs/heads/main" {
		t.Errorf("receiver parsed %T %+v", rec.event, rec.event)
	}
	if string(rec.body) != string(body) {
		t.Error("receiver got a different body than was sent")
	}

	if !del.Succeeded() || del.StatusCode != 200 || del.ResponseBody != "ok" || del.Err != "" {
		t.Errorf("delivery = status %d body %q err %q", del.StatusCode, del.ResponseBody, del.Err)
	}
	if del.ID == 0 || del.HookID != 9 || del.Event != EventPush || del.URL != hook.URL || !del.At.Equal(at) {
		t.Errorf("delivery = id %d hook %d event %q url %q at %v", del.ID, del.HookID, del.Event, del.URL, del.At)
	}
	if tok := del.RequestHeaders.Get("X-Gitlab-Token"); tok != "[REDACTED]" {
		t.Errorf("recorded X-Gitlab-Token = %q, want it redacted", tok)
	}
	if del.RequestHeaders.Get("Idempotency-Key") != del.IdempotencyKey {
		t.Errorf("recorded headers lack the Idempotency-Key: %v", del.RequestHeaders)
	}
}

func TestDeliverWithoutTokenOmitsHeader(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, "")
	d := &Deliverer{Version: "16.11.6-ee"}
	del := d.Deliver(t.Context(), Hook{ID: 1, URL: srv.URL}, EventPush, pushBody(t))
	rec := <-got
	if _, ok := rec.header["X-Gitlab-Token"]; ok {
		t.Errorf("X-Gitlab-Token sent for a hook without token")
	}
	if ua := rec.header.Get("User-Agent"); ua != "GitLab/16.11.6-ee" {
		t.Errorf("User-Agent = %q", ua)
	}
	if !del.Succeeded() || len(del.IdempotencyKey) != 36 || del.IdempotencyKey[14] != '4' {
		t.Errorf("delivery = %+v, want success with a v4 UUID key", del)
	}
}

func TestRedeliverKeepsIdempotencyKey(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusInternalServerError, "boom")
	d := testDeliverer()
	hook := Hook{ID: 3, URL: srv.URL, Token: "old"}
	first := d.Deliver(t.Context(), hook, EventPush, pushBody(t))
	<-got
	if first.Succeeded() || first.StatusCode != 500 || first.ResponseBody != "boom" || first.Err != "" {
		t.Fatalf("first delivery = status %d body %q err %q; want a recorded 500", first.StatusCode, first.ResponseBody, first.Err)
	}

	hook.Token = "rotated"
	again := d.Redeliver(t.Context(), hook, first)
	rec := <-got
	if again.ID == first.ID {
		t.Error("resend reused the delivery ID")
	}
	if again.IdempotencyKey != first.IdempotencyKey || rec.header.Get("Idempotency-Key") != first.IdempotencyKey {
		t.Errorf("Idempotency-Key = %q (sent %q), want %q", again.IdempotencyKey, rec.header.Get("Idempotency-Key"), first.IdempotencyKey)
	}
	if again.EventUUID != first.EventUUID || rec.header.Get("X-Gitlab-Event-UUID") != first.EventUUID {
		t.Errorf("event UUID = %q, want %q", again.EventUUID, first.EventUUID)
	}
	if again.WebhookUUID == first.WebhookUUID || rec.header.Get("X-Gitlab-Webhook-UUID") != again.WebhookUUID {
		t.Errorf("webhook UUID = %q, first %q: want a new one", again.WebhookUUID, first.WebhookUUID)
	}
	if string(rec.body) != string(first.RequestBody) || rec.header.Get("X-Gitlab-Event") != EventPush {
		t.Error("resend changed the body or event")
	}
	if rec.header.Get("X-Gitlab-Token") != "rotated" {
		t.Errorf("resend token = %q, want the hook's current token", rec.header.Get("X-Gitlab-Token"))
	}
}

func TestDeliverTimesOutSlowReceiver(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	d := testDeliverer()
	d.Timeout = 200 * time.Millisecond

	start := time.Now()
	del := d.Deliver(t.Context(), Hook{ID: 1, URL: srv.URL}, EventPush, pushBody(t))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Deliver took %v with a 200ms timeout", elapsed)
	}
	if del.Succeeded() || del.StatusCode != 0 || !strings.Contains(del.Err, "timeout") {
		t.Errorf("delivery = status %d err %q; want a failed timeout", del.StatusCode, del.Err)
	}
	if del.Duration < 200*time.Millisecond {
		t.Errorf("duration = %v, want at least the timeout", del.Duration)
	}
}

func TestDeliverRecordsFailures(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 3*MaxResponseBody)
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, big)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/big", http.StatusFound)
	})
	mux.HandleFunc("/unauthorized", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad token", http.StatusUnauthorized)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// A port nobody listens on: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	_ = l.Close()

	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantBody   string
		wantErr    bool
	}{
		{name: "5xx with a long body", url: srv.URL + "/big", wantStatus: 502, wantBody: big[:MaxResponseBody]},
		{name: "4xx", url: srv.URL + "/unauthorized", wantStatus: 401, wantBody: "bad token\n"},
		{name: "redirect not followed", url: srv.URL + "/redirect", wantStatus: 302},
		{name: "connection refused", url: refused, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			del := testDeliverer().Deliver(t.Context(), Hook{ID: 1, URL: tt.url}, EventPush, pushBody(t))
			if del.Succeeded() {
				t.Fatal("delivery counted as success")
			}
			if del.StatusCode != tt.wantStatus || (tt.wantErr != (del.Err != "")) {
				t.Errorf("status %d err %q; want %d, error %v", del.StatusCode, del.Err, tt.wantStatus, tt.wantErr)
			}
			if tt.wantBody != "" && del.ResponseBody != tt.wantBody {
				t.Errorf("response body: %d bytes, want %d", len(del.ResponseBody), len(tt.wantBody))
			}
		})
	}
}

func TestDeliverSSLVerification(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	d := testDeliverer()

	verified := d.Deliver(t.Context(), Hook{ID: 1, URL: srv.URL, EnableSSLVerification: true}, EventPush, pushBody(t))
	if verified.Succeeded() || verified.Err == "" {
		t.Errorf("self-signed receiver with verification on: %+v, want a TLS error", verified)
	}
	unverified := d.Deliver(t.Context(), Hook{ID: 1, URL: srv.URL, EnableSSLVerification: false}, EventPush, pushBody(t))
	if !unverified.Succeeded() {
		t.Errorf("self-signed receiver with verification off: status %d err %q", unverified.StatusCode, unverified.Err)
	}
}

func TestSendSharesEventUUID(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, "")
	d := testDeliverer()
	m := Message{Event: EventPush, Body: pushBody(t), EventUUID: "event-1"}
	a := d.Send(context.Background(), Hook{ID: 1, URL: srv.URL}, m)
	b := d.Send(context.Background(), Hook{ID: 2, URL: srv.URL}, m)
	<-got
	<-got
	if a.EventUUID != "event-1" || b.EventUUID != "event-1" {
		t.Errorf("event UUIDs = %q, %q; want event-1", a.EventUUID, b.EventUUID)
	}
	if a.IdempotencyKey == b.IdempotencyKey || a.WebhookUUID == b.WebhookUUID {
		t.Error("two hooks got the same Idempotency-Key or webhook UUID")
	}
}
