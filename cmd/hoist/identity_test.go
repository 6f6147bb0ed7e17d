package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Keys that expire and can be deleted; users that can be disabled, enabled
// and deleted; each change in the audit log.
func TestCLIKeyAndUserLifecycle(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey

	var k struct {
		ID        string     `json:"id"`
		Secret    string     `json:"secret"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	h.jsonOut(&k, admin, "api-key", "create", "--name", "ci", "--role", "root:admin", "--expires-in", "1d12h")
	if want := time.Now().Add(36 * time.Hour); k.ExpiresAt == nil || k.ExpiresAt.Sub(want).Abs() > time.Minute {
		t.Errorf("expires_at = %v, want about %v", k.ExpiresAt, want)
	}
	out := h.ok(admin, "api-key", "list")
	if !strings.Contains(out, "EXPIRES") || !strings.Contains(out, "never") || !strings.Contains(out, k.ExpiresAt.UTC().Format(time.RFC3339)) {
		t.Errorf("api-key list does not show expiries:\n%s", out)
	}
	for _, bad := range []string{"soon", "-1h", "0d", "d"} {
		if _, _, err := h.run(admin, nil, "api-key", "create", "--name", "x", "--expires-in", bad); err == nil || !strings.Contains(err.Error(), "--expires-in") {
			t.Errorf("--expires-in %q: %v, want a usage error naming the flag", bad, err)
		}
	}

	h.ok(k.Secret, "space", "list")
	if out := h.ok(admin, "api-key", "delete", k.ID); !strings.Contains(out, "deleted API key "+k.ID) {
		t.Errorf("api-key delete printed %q", out)
	}
	h.fails(apperr.Unauthorized, k.Secret, "space", "list")
	h.fails(apperr.NotFound, admin, "api-key", "delete", k.ID)

	h.ok(admin, "user", "create", "alice", "--role", "root:admin")
	h.ok(admin, "user", "disable", "alice")
	if out := h.ok(admin, "user", "list"); !strings.Contains(out, "disabled since") {
		t.Errorf("user list does not show alice disabled:\n%s", out)
	}
	h.ok(admin, "user", "enable", "alice")
	if out := h.ok(admin, "user", "list"); strings.Contains(out, "disabled") {
		t.Errorf("user list after enable:\n%s", out)
	}
	// The bootstrap key belongs to admin: it may not cut itself off.
	if err := h.fails(apperr.Invalid, admin, "user", "disable", "admin"); !strings.Contains(err.Error(), "API key it owns") {
		t.Errorf("disabling admin with its own key: %v", err)
	}
	h.ok(admin, "user", "delete", "alice")
	if out := h.ok(admin, "user", "list"); strings.Contains(out, "alice") {
		t.Errorf("user list after delete:\n%s", out)
	}
	// alice gone, admin is the last root-admin user and boot the last key.
	if err := h.fails(apperr.Conflict, admin, "api-key", "delete", strings.Split(admin, "_")[1]); !strings.Contains(err.Error(), "no usable API key with admin on root") {
		t.Errorf("deleting the last root-admin key: %v", err)
	}

	out = h.ok(admin, "audit", "list", "--limit", "0")
	for _, action := range []string{"api_key.create", "api_key.delete", "user.create", "user.disable", "user.enable", "user.delete"} {
		if !strings.Contains(out, action) {
			t.Errorf("audit list lacks %s:\n%s", action, out)
		}
	}
}
