package app_test

import (
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

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// hookReceiver is a loopback webhook receiver that records what it gets.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies, r.sigs = append(r.bodies, b), append(r.sigs, req.Header.Get("X-Hoist-Signature"))
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// received is what the receiver got, decoded, with whether each
// signature verifies as docs/notifications.md says: sha256= and the hex
// HMAC-SHA256 of the raw body keyed with the secret.
func (r *hookReceiver) received(t *testing.T, secret string) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for i, b := range r.bodies {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(b)
		if !hmac.Equal([]byte(r.sigs[i]), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
			t.Errorf("signature %q does not verify", r.sigs[i])
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestRunNotifications: real runs that need confirmation, finish and fail
// send the matching events to a target subscribed in the stack's space,
// and nothing to a target in another space; the target's secret never
// leaves the server, readers see the target but cannot change it, and a
// delivery is redelivered.
func TestRunNotifications(t *testing.T) {
	t.Parallel()
	runNotifications(t, runsSetup(t, nil))
}

func TestRunNotificationsOnPostgreSQL(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
	runNotifications(t, runsSetup(t, func(c *app.Config) { c.DatabaseURL = url }))
}

func runNotifications(t *testing.T, h *harness) {
	t.Helper()
	h.space("Other", "root")
	mine, theirs := newHookReceiver(t), newHookReceiver(t)
	const secret = "platform-webhook-secret-0123456789"
	events := []string{"run_finished", "run_failed", "run_needs_confirmation"}
	var tg api.NotificationTarget
	h.Must(http.StatusCreated, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Platform hook",
		"space": "platform", "kind": "webhook", "url": mine.URL + "/hook?token=xyz", "secret": secret, "events": events}).Decode(t, &tg)
	h.Must(http.StatusCreated, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Other hook",
		"space": "other", "kind": "webhook", "url": theirs.URL, "secret": secret, "events": events})

	reader := h.apiKey("reader", "platform:read")
	got := h.Must(http.StatusOK, "GET", "/api/v1/notification-targets/"+tg.ID, reader, nil)
	if strings.Contains(string(got.Body), secret) || strings.Contains(string(got.Body), "xyz") || !tg.HasSecret {
		t.Errorf("target as the API shows it = %s", got.Body)
	}
	var list struct{ Items []api.NotificationTarget }
	h.Must(http.StatusOK, "GET", "/api/v1/notification-targets", reader, nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != tg.ID {
		t.Errorf("reader's list = %+v", list.Items)
	}
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/notification-targets/"+tg.ID, reader, map[string]any{"name": "x"})
	h.Must(http.StatusBadRequest, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Bad",
		"space": "platform", "kind": "webhook", "url": mine.URL, "secret": secret, "events": []string{"run_exploded"}})

	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	h.waitState(r.ID, "FINISHED")
	bad := h.push("main", map[string]string{"infra/main.tf": `resource "terraform_data" "broken" {`})
	failed := h.waitState(h.waitRunAt("web", bad, "TRACKED").ID, "FAILED")

	var bodies []map[string]any
	apptest.Eventually(t, 30*time.Second, "three notifications", func() bool {
		bodies = mine.received(t, secret)
		return len(bodies) >= 3
	})
	var seen []string
	for _, b := range bodies {
		run, _ := b["run"].(map[string]any)
		seen = append(seen, fmt.Sprintf("%s %s", b["event"], run["id"]))
		if b["space"] != "platform" || b["stack"].(map[string]any)["id"] != "web" || run["url"] != h.App.PublicURL()+"/runs/"+run["id"].(string) {
			t.Errorf("body = %v", b)
		}
	}
	want := []string{"run_needs_confirmation " + r.ID, "run_finished " + r.ID, "run_failed " + failed.ID}
	if strings.Join(seen, "; ") != strings.Join(want, "; ") {
		t.Errorf("notifications = %v, want %v", seen, want)
	}
	if n := len(theirs.received(t, secret)); n != 0 {
		t.Errorf("a target in another space got %d notifications", n)
	}

	var log struct{ Items []api.NotificationDelivery }
	apptest.Eventually(t, 10*time.Second, "the log shows three delivered", func() error {
		h.Must(http.StatusOK, "GET", "/api/v1/notification-targets/"+tg.ID+"/deliveries", reader, nil).Decode(t, &log)
		for _, d := range log.Items {
			if d.State != "delivered" || len(d.Log) != 1 || d.Log[0].StatusCode != 200 {
				return fmt.Errorf("%+v", d)
			}
		}
		if len(log.Items) != 3 {
			return fmt.Errorf("%d deliveries", len(log.Items))
		}
		return nil
	})
	first := log.Items[len(log.Items)-1]
	path := fmt.Sprintf("/api/v1/notification-targets/%s/deliveries/%d/redeliver", tg.ID, first.ID)
	h.Must(http.StatusForbidden, "POST", path, reader, nil)
	var again api.NotificationDelivery
	h.Must(http.StatusAccepted, "POST", path, h.AdminKey, nil).Decode(t, &again)
	if again.RedeliveryOf != first.ID || again.NotificationID != first.NotificationID {
		t.Errorf("redelivery = %+v", again)
	}
	apptest.Eventually(t, 10*time.Second, "the redelivery", func() bool { return len(mine.received(t, secret)) == 4 })
	if b := mine.received(t, secret)[3]; b["id"] != first.NotificationID || b["event"] != "run_needs_confirmation" {
		t.Errorf("redelivered body = %v", b)
	}
}
