package app_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
)

// settableClock is a server clock a test moves forward.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *settableClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// API keys: an optional expiry in the future, refused with a clear 401
// once passed, shown in the list; DELETE revokes a key at once.
func TestAPIKeyExpiryAndDelete(t *testing.T) {
	t.Parallel()
	clock := &settableClock{t: time.Now().UTC()}
	h := setup(t, func(c *app.Config) { c.Clock = clock.now })
	for _, tc := range []struct{ expires, msg string }{
		{"tomorrow", "RFC 3339"},
		{clock.now().Add(-time.Minute).Format(time.RFC3339), "must be in the future"},
	} {
		r := h.Call("POST", "/api/v1/api-keys", h.AdminKey, map[string]any{"name": "x", "expires_at": tc.expires})
		if code, msg, field := r.APIError(t); r.Status != 400 || code != "invalid" || field != "expires_at" || !strings.Contains(msg, tc.msg) {
			t.Errorf("expires_at %q: %d %s, want invalid expires_at saying %q", tc.expires, r.Status, r.Body, tc.msg)
		}
	}
	expires := clock.now().Add(time.Hour).Truncate(time.Second)
	var k struct {
		ID, Secret string
		ExpiresAt  *time.Time `json:"expires_at"`
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/api-keys", h.AdminKey, map[string]any{"name": "ci",
		"roles": []map[string]string{{"space": "root", "role": "read"}}, "expires_at": expires.Format(time.RFC3339)}).Decode(t, &k)
	if k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) {
		t.Errorf("created key expires at %v, want %v", k.ExpiresAt, expires)
	}
	var list struct {
		Items []struct {
			ID        string
			ExpiresAt *time.Time `json:"expires_at"`
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/api-keys", h.AdminKey, nil).Decode(t, &list)
	for _, it := range list.Items {
		if (it.ID == k.ID) != (it.ExpiresAt != nil) {
			t.Errorf("listed key %s expires at %v", it.ID, it.ExpiresAt)
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", k.Secret, nil)
	clock.add(time.Hour)
	r := h.Call("GET", "/api/v1/spaces", k.Secret, nil)
	if code, msg, _ := r.APIError(t); r.Status != 401 || code != "unauthorized" || !strings.Contains(msg, `API key "ci" expired at `+expires.Format(time.RFC3339)) {
		t.Errorf("expired key: %d %s, want 401 saying it expired", r.Status, r.Body)
	}

	other := h.apiKey("other", "root:read")
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", other, nil)
	var keyID struct{ Items []struct{ ID, Name string } }
	h.Must(http.StatusOK, "GET", "/api/v1/api-keys", h.AdminKey, nil).Decode(t, &keyID)
	for _, it := range keyID.Items {
		if it.Name == "other" {
			h.Must(http.StatusNoContent, "DELETE", "/api/v1/api-keys/"+it.ID, h.AdminKey, nil)
			h.Must(http.StatusNotFound, "DELETE", "/api/v1/api-keys/"+it.ID, h.AdminKey, nil)
		}
	}
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", other, nil)
	h.Must(http.StatusForbidden, "DELETE", "/api/v1/api-keys/"+k.ID, h.apiKey("reader", "root:read"), nil)
}

// Users: disable (its keys stop, no login), enable, delete (its keys go);
// never yourself, never the last root admin.
func TestUserDisableEnableDelete(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.Must(http.StatusCreated, "POST", "/api/v1/users", h.AdminKey, map[string]any{"username": "alice",
		"roles": []map[string]string{{"space": "root", "role": "admin"}}})
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/alice/disable", h.AdminKey, nil)
	var users struct {
		Items []struct {
			ID         string
			Disabled   bool
			DisabledAt *time.Time `json:"disabled_at"`
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/users", h.AdminKey, nil).Decode(t, &users)
	if len(users.Items) != 2 || users.Items[1].ID != "alice" || !users.Items[1].Disabled || users.Items[1].DisabledAt == nil {
		t.Errorf("users = %+v, want alice disabled", users.Items)
	}
	// With alice disabled, admin is the last enabled root admin.
	other := h.apiKey("ops", "root:admin")
	r := h.Must(http.StatusConflict, "POST", "/api/v1/users/admin/disable", other, nil)
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "no enabled user with admin on root") {
		t.Errorf("disabling the last root admin: %s", msg)
	}
	r = h.Must(http.StatusBadRequest, "DELETE", "/api/v1/users/admin", h.AdminKey, nil)
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "API key it owns") {
		t.Errorf("admin deleting itself with its own key: %s", msg)
	}
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/alice/enable", other, nil)
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/admin/disable", other, nil)
	r = h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", h.AdminKey, nil)
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "belongs to user admin, who is disabled") {
		t.Errorf("key of a disabled user: %s", msg)
	}
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/admin/enable", other, nil)
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", h.AdminKey, nil)
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/users/admin", other, nil)
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", h.AdminKey, nil)
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/users/admin", other, nil)
	var audit struct {
		Items []struct{ Action, ResourceID string }
	}
	h.Must(http.StatusOK, "GET", "/api/v1/audit?resource_type=api_key", other, nil).Decode(t, &audit)
	if len(audit.Items) == 0 || audit.Items[0].Action != "api_key.delete" {
		t.Errorf("audit of keys, newest first = %+v, want the bootstrap key's deletion with admin", audit.Items)
	}
}
