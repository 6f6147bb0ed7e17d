package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestNotificationPagesAndTokenBanner: an integration whose token expires
// in 10 days puts a banner on every page of an admin, not of a reader;
// the token check notifies a target created through the Notifications
// form, whose page shows the delivery log and redelivers.
func TestNotificationPagesAndTokenBanner(t *testing.T) {
	t.Parallel()
	var got atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	t.Cleanup(rcv.Close)
	h := setup(t, func(c *app.Config) { c.TokenCheckInterval = 50 * time.Millisecond })
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)

	page := c.get("/admin/notifications")
	form := url.Values{"csrf_token": {csrf(t, page)}, "name": {"Token watch"}, "space": {"root"}, "kind": {"webhook"},
		"url": {rcv.URL + "/x"}, "secret": {"short"}, "event": {"token_expiring"}}
	if p := c.post("/admin/notifications", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, "secret") ||
		strings.Contains(p.body, rcv.URL) || !strings.Contains(p.body, `value="Token watch"`) {
		t.Fatalf("a short secret = %d:\n%.2000s", p.status, p.body)
	}
	form.Set("secret", "web-form-signing-secret-0123456789")
	if p := c.post("/admin/notifications", form); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/notifications/token-watch?done=created" {
		t.Fatalf("create = %d %s:\n%.2000s", p.status, p.header.Get("Location"), p.body)
	}
	if body := c.get("/admin/notifications").body; !strings.Contains(body, `id="target-token-watch"`) || strings.Contains(body, rcv.URL) {
		t.Errorf("list:\n%s", body)
	}

	exp := time.Now().Add(10 * 24 * time.Hour)
	h.api("POST", "/api/v1/integrations/gitlab", map[string]any{"name": "GitLab", "is_default": true, "api_host": h.SimURL,
		"token": h.Token(gitlabsim.TokenOptions{ExpiresAt: &exp})}, http.StatusCreated, nil)
	if body := c.get("/stacks").body; !strings.Contains(body, "The GitLab token of integration GitLab expires in") {
		t.Errorf("no banner for the admin:\n%.3000s", body)
	}
	h.createUser("rita", "read")
	reader := h.client()
	reader.mustLogin("rita", "pw-rita-0123456789")
	if body := reader.get("/stacks").body; strings.Contains(body, "token of integration") {
		t.Error("a reader sees the token banner")
	}

	waitPage(t, "the token_expiring notification", func() bool { return got.Load() == 1 })
	var body string
	waitPage(t, "the delivery logged", func() bool {
		body = c.get("/admin/notifications/token-watch").body
		return strings.Contains(body, "HTTP 200")
	})
	m := regexp.MustCompile(`/admin/notifications/token-watch/deliveries/(\d+)/redeliver`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "token_expiring") || !strings.Contains(body, "delivered") {
		t.Fatalf("target page:\n%s", body)
	}
	p := c.post(m[0], url.Values{"csrf_token": {csrf(t, resp{body: body})}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("redeliver = %d:\n%.2000s", p.status, p.body)
	}
	waitPage(t, "the redelivery", func() bool { return got.Load() == 2 })
	if body := reader.get("/admin/notifications/token-watch").body; strings.Contains(body, "redeliver") || !strings.Contains(body, "token_expiring") {
		t.Errorf("a reader's view of the target:\n%s", body)
	}
}
