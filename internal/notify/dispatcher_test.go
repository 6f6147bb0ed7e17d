package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// received is one request a test receiver got.
type received struct {
	headers http.Header
	body    []byte
	status  int
}

// receiver is a loopback webhook receiver answering the statuses in
// answers in turn, then 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
}

func newReceiver(t testing.TB, answers ...int) *receiver {
	t.Helper()
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.got = append(r.got, received{headers: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// verify is the receiver's check of docs/notifications.md: the
// X-Hoist-Signature header is "sha256=" and the hex HMAC-SHA256 of the raw
// body keyed with the target's secret, compared in constant time.
func verify(secret string, h http.Header, body []byte) bool {
	sig, ok := strings.CutPrefix(h.Get("X-Hoist-Signature"), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func startDispatcher(t *testing.T, e *env, cfg notify.DispatcherConfig) *notify.Dispatcher {
	t.Helper()
	cfg.Service, cfg.Store = e.svc, e.store
	if cfg.Poll == 0 {
		cfg.Poll = 10 * time.Millisecond
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
	}
	d := notify.NewDispatcher(cfg)
	d.Start(context.Background())
	t.Cleanup(d.Stop)
	return d
}

// TestDeliveredOnceInOrderAndSigned is issue 21's acceptance 3: a receiver
// answering 500 then 200 gets each notification once, in order, and its
// signature verifies with the documented algorithm.
func TestDeliveredOnceInOrderAndSigned(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := setup(t, dialect)
			rcv := newReceiver(t, http.StatusInternalServerError)
			tg := e.target(t, "Ops hook", "a", rcv.URL+"/hook", "drift_detected", "drift_cleared")
			ctx := context.Background()
			changes := []notify.ResourceChange{{Address: "aws_s3_bucket.logs", Action: "update"}}
			// Both enqueued before the dispatcher starts: the second must
			// wait behind the first's retry.
			if err := e.svc.DriftChanged(ctx, "net", true, changes); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.DriftChanged(ctx, "net", false, nil); err != nil {
				t.Fatal(err)
			}
			startDispatcher(t, e, notify.DispatcherConfig{})
			apptest.Eventually(t, 10*time.Second, "both deliveries delivered", func() error {
				for _, d := range e.deliveries(t, tg.ID) {
					if d.State != notify.StateDelivered {
						return fmt.Errorf("delivery %d is %s (%s)", d.ID, d.State, d.LastError)
					}
				}
				return nil
			})
			reqs := rcv.requests()
			var accepted []string
			for _, r := range reqs {
				if !verify(testSecret, r.headers, r.body) {
					t.Errorf("signature %q does not verify over %s", r.headers.Get("X-Hoist-Signature"), r.body)
				}
				if verify("another-secret-of-enough-length!", r.headers, r.body) {
					t.Error("the signature verifies with another secret")
				}
				if r.status != http.StatusOK {
					continue
				}
				var n notify.Notification
				if err := json.Unmarshal(r.body, &n); err != nil {
					t.Fatal(err)
				}
				accepted = append(accepted, string(n.Event))
				if r.headers.Get("X-Hoist-Event") != string(n.Event) || r.headers.Get("X-Hoist-Delivery") == "" ||
					r.headers.Get("X-Hoist-Timestamp") == "" || r.headers.Get("Content-Type") != "application/json" {
					t.Errorf("headers = %v", r.headers)
				}
				if n.Space != "a-child" || n.Stack == nil || n.Stack.ID != "net" || n.Drift == nil || n.Target.ID != tg.ID {
					t.Errorf("body = %s", r.body)
				}
			}
			if len(reqs) != 3 || reqs[0].status != 500 || strings.Join(accepted, ",") != "drift_detected,drift_cleared" {
				t.Fatalf("receiver got %d requests, accepted %v; want 500 then drift_detected, drift_cleared once each", len(reqs), accepted)
			}
			if reqs[0].headers.Get("X-Hoist-Delivery") != reqs[1].headers.Get("X-Hoist-Delivery") {
				t.Error("the retry carries another delivery id")
			}
			ds := e.deliveries(t, tg.ID)
			if len(ds) != 2 || len(ds[0].Attempts) != 2 || ds[0].Attempts[0].StatusCode != 500 || ds[0].Attempts[1].StatusCode != 200 ||
				!strings.Contains(ds[0].Attempts[0].Error, "500") || len(ds[1].Attempts) != 1 {
				t.Errorf("delivery log = %+v", ds)
			}
		})
	}
}

// TestGivesUpAfterMaxAttempts: a receiver that keeps failing gets
// MaxAttempts tries, then the delivery is failed and the next one goes.
func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	rcv := newReceiver(t, 503, 503, 503)
	tg := e.target(t, "Flaky", "a", rcv.URL, "drift_detected", "drift_cleared")
	ctx := context.Background()
	if err := e.svc.DriftChanged(ctx, "net", true, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DriftChanged(ctx, "net", false, nil); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, e, notify.DispatcherConfig{MaxAttempts: 3})
	apptest.Eventually(t, 10*time.Second, "the second delivery delivered", func() bool {
		ds := e.deliveries(t, tg.ID)
		return len(ds) == 2 && ds[1].State == notify.StateDelivered
	})
	ds := e.deliveries(t, tg.ID)
	if ds[0].State != notify.StateFailed || ds[0].Delivery.Attempts != 3 || !strings.Contains(ds[0].LastError, "gave up after 3 attempts") {
		t.Errorf("first delivery = %+v", ds[0].Delivery)
	}
	if n := len(rcv.requests()); n != 4 {
		t.Errorf("receiver got %d requests, want 3 failing + 1", n)
	}
}

// TestPermanentFailures: a 4xx other than 408/429, or a redirect, is not
// retried; a receiver that does not answer in time is.
func TestPermanentFailures(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status int
		want   string
	}{{404, "404 Not Found"}, {302, "redirects are not followed"}} {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			t.Parallel()
			e := setup(t, "sqlite")
			rcv := newReceiver(t, c.status)
			tg := e.target(t, "Gone", "a", rcv.URL, "drift_detected")
			if err := e.svc.DriftChanged(context.Background(), "net", true, nil); err != nil {
				t.Fatal(err)
			}
			startDispatcher(t, e, notify.DispatcherConfig{})
			apptest.Eventually(t, 10*time.Second, "the delivery failed", func() bool {
				ds := e.deliveries(t, tg.ID)
				return len(ds) == 1 && ds[0].State == notify.StateFailed
			})
			d := e.deliveries(t, tg.ID)[0]
			if d.Delivery.Attempts != 1 || d.LastStatus != c.status || !strings.Contains(d.LastError, c.want) {
				t.Errorf("delivery = %+v", d.Delivery)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		e := setup(t, "sqlite")
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(release) })
		tg := e.target(t, "Slow", "a", slow.URL, "drift_detected")
		if err := e.svc.DriftChanged(context.Background(), "net", true, nil); err != nil {
			t.Fatal(err)
		}
		startDispatcher(t, e, notify.DispatcherConfig{Timeout: 50 * time.Millisecond, MaxAttempts: 2})
		apptest.Eventually(t, 10*time.Second, "the delivery failed", func() bool {
			ds := e.deliveries(t, tg.ID)
			return len(ds) == 1 && ds[0].State == notify.StateFailed
		})
		d := e.deliveries(t, tg.ID)[0]
		if d.Delivery.Attempts != 2 || d.LastStatus != 0 || strings.Contains(d.LastError, slow.URL) || !strings.Contains(d.LastError, "deadline") {
			t.Errorf("delivery = %+v; want two timeouts, the URL not shown", d.Delivery)
		}
	})
}

// TestRedeliver queues a delivered notification again: the receiver gets
// the same body under a new delivery id, and the log shows both.
func TestRedeliver(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	rcv := newReceiver(t)
	tg := e.target(t, "Hook", "a", rcv.URL, "drift_detected")
	ctx := context.Background()
	if err := e.svc.DriftChanged(ctx, "net", true, nil); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, e, notify.DispatcherConfig{})
	apptest.Eventually(t, 10*time.Second, "delivered", func() bool { return len(rcv.requests()) == 1 })
	first := e.deliveries(t, tg.ID)[0]
	if _, err := e.svc.Redeliver(ctx, reader, tg.ID, fmt.Sprint(first.ID)); err == nil {
		t.Error("a reader redelivered")
	}
	if _, err := e.svc.Redeliver(ctx, admin, tg.ID, "999999"); err == nil {
		t.Error("redelivered a delivery that does not exist")
	}
	nd, err := e.svc.Redeliver(ctx, admin, tg.ID, fmt.Sprint(first.ID))
	if err != nil || nd.ID == first.ID || nd.RedeliveryOf != first.ID {
		t.Fatalf("Redeliver = %+v, %v", nd, err)
	}
	apptest.Eventually(t, 10*time.Second, "redelivered", func() bool { return len(rcv.requests()) == 2 })
	reqs := rcv.requests()
	if string(reqs[0].body) != string(reqs[1].body) || reqs[0].headers.Get("X-Hoist-Delivery") == reqs[1].headers.Get("X-Hoist-Delivery") {
		t.Errorf("redelivery: bodies equal %v, delivery ids %q and %q", string(reqs[0].body) == string(reqs[1].body),
			reqs[0].headers.Get("X-Hoist-Delivery"), reqs[1].headers.Get("X-Hoist-Delivery"))
	}
	if !verify(testSecret, reqs[1].headers, reqs[1].body) {
		t.Error("the redelivery's signature does not verify")
	}
}

// TestSlackMessage: a slack target gets a Slack incoming webhook message,
// text and blocks, unsigned when it has no secret.
func TestSlackMessage(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	rcv := newReceiver(t)
	tg, err := e.svc.Create(context.Background(), admin, notify.CreateInput{Name: "Chat", Space: "a", Kind: "slack",
		URL: rcv.URL + "/services/T0/B0/x", Events: []string{"drift_detected"}})
	if err != nil {
		t.Fatal(err)
	}
	changes := make([]notify.ResourceChange, 12)
	for i := range changes {
		changes[i] = notify.ResourceChange{Address: fmt.Sprintf("null_resource.r<%d>", i), Action: "update"}
	}
	if err := e.svc.DriftChanged(context.Background(), "net", true, changes); err != nil {
		t.Fatal(err)
	}
	startDispatcher(t, e, notify.DispatcherConfig{})
	apptest.Eventually(t, 10*time.Second, "delivered", func() bool {
		ds := e.deliveries(t, tg.ID)
		return len(ds) == 1 && ds[0].State == notify.StateDelivered
	})
	r := rcv.requests()[0]
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string `json:"type"`
			Text     *struct{ Type, Text string }
			Elements []struct{ Type, Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(r.body, &msg); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if r.headers.Get("X-Hoist-Signature") != "" {
		t.Error("an unsigned target's message carries a signature")
	}
	if !strings.Contains(msg.Text, "stack net drifted: 12 resources") || len(msg.Blocks) != 3 ||
		!strings.Contains(msg.Blocks[0].Text.Text, "<https://hoist.example.com/stacks/net|") ||
		!strings.Contains(msg.Blocks[1].Text.Text, "`null_resource.r&lt;0&gt;` update") ||
		!strings.Contains(msg.Blocks[1].Text.Text, "… and 2 more") || msg.Blocks[2].Type != "context" {
		t.Errorf("slack message = %s", r.body)
	}
}

// TestTwoDispatchersDeliverOnceInOrder: two servers' dispatchers on one
// database share the targets through leases; each notification reaches
// its receiver once, in the order it happened, even through failures.
func TestTwoDispatchersDeliverOnceInOrder(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := setup(t, dialect)
			rcv := newReceiver(t, 500, 200, 200, 503) // failures in the middle of the stream
			tg := e.target(t, "Stream", "a", rcv.URL, "drift_detected", "drift_cleared")
			const n = 12
			ctx := context.Background()
			for i := range n {
				changes := []notify.ResourceChange{{Address: fmt.Sprintf("null_resource.r%d", i), Action: "update"}}
				if err := e.svc.DriftChanged(ctx, "net", true, changes); err != nil {
					t.Fatal(err)
				}
			}
			startDispatcher(t, e, notify.DispatcherConfig{Concurrency: 2})
			startDispatcher(t, e, notify.DispatcherConfig{Concurrency: 2})
			apptest.Eventually(t, 20*time.Second, "every delivery delivered", func() error {
				for _, d := range e.deliveries(t, tg.ID) {
					if d.State != notify.StateDelivered {
						return fmt.Errorf("delivery %d is %s", d.ID, d.State)
					}
				}
				return nil
			})
			var order []string
			for _, r := range rcv.requests() {
				if r.status != http.StatusOK {
					continue
				}
				var got notify.Notification
				if err := json.Unmarshal(r.body, &got); err != nil {
					t.Fatal(err)
				}
				order = append(order, got.Drift.Changes[0].Address)
			}
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("null_resource.r%d", i))
			}
			if fmt.Sprint(order) != fmt.Sprint(want) {
				t.Errorf("accepted %v\nwant     %v", order, want)
			}
		})
	}
}
