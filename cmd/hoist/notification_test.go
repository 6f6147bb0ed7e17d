package main

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

// TestCLINotificationTargetRoundTrip: the URL and secret come from files
// or the environment and are never printed back.
func TestCLINotificationTargetRoundTrip(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	h.ok(admin, "space", "create", "--name", "Platform")
	const url, secret = "https://hooks.example.com/services/T0/B0/very-secret-path", "cli-signing-secret-0123456789"
	urlFile, secretFile := writeTemp(t, "url", url+"\n"), writeTemp(t, "secret", secret)
	out := h.ok(admin, "notification-target", "create", "--name", "Ops hook", "--space", "platform", "--kind", "webhook",
		"--event", "run_failed", "--event", "drift_detected", "--url-file", urlFile, "--secret-file", secretFile)
	for _, want := range []string{"ops-hook", "webhook", "platform", "hooks.example.com", "run_failed,drift_detected", "yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	h.fails(apperr.Invalid, admin, "notification-target", "create", "--name", "Bad", "--space", "platform", "--kind", "webhook",
		"--event", "agent_pool_exploded", "--url-file", urlFile, "--secret-file", secretFile)
	var list []struct {
		ID, Kind string
		URLHost  string `json:"url_host"`
	}
	h.jsonOut(&list, admin, "notification-target", "list")
	if len(list) != 1 || list[0].ID != "ops-hook" || list[0].URLHost != "hooks.example.com" {
		t.Errorf("list = %+v", list)
	}
	out = h.ok(admin, "notification-target", "update", "ops-hook", "--event", "run_finished")
	if !strings.Contains(out, "run_finished") || strings.Contains(out, "drift_detected") {
		t.Errorf("update output:\n%s", out)
	}
	out = h.ok(admin, "notification-target", "show", "ops-hook", "-o", "json")
	if strings.Contains(out, "very-secret-path") || strings.Contains(out, secret) {
		t.Errorf("show prints a secret:\n%s", out)
	}
	if out := h.ok(admin, "notification-target", "deliveries", "ops-hook"); !strings.Contains(out, "EVENT") {
		t.Errorf("deliveries output:\n%s", out)
	}
	h.fails(apperr.NotFound, admin, "notification-target", "redeliver", "ops-hook", "12345")
	h.ok(admin, "notification-target", "delete", "ops-hook")
	h.fails(apperr.NotFound, admin, "notification-target", "show", "ops-hook")
}
