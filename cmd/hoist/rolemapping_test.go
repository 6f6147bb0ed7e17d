package main

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Role mappings made, listed and deleted through the CLI; bad input and
// non-admins refused.
func TestCLIRoleMappings(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey

	var m struct {
		ID     string `json:"id"`
		Group  string `json:"group"`
		Issuer string `json:"issuer"`
		Role   string `json:"role"`
	}
	h.jsonOut(&m, admin, "role-mapping", "create", "--group", "Acme/Platform", "--space", "root", "--role", "admin",
		"--issuer", "https://gitlab.example.com")
	if m.ID == "" || m.Group != "acme/platform" || m.Issuer != "https://gitlab.example.com" || m.Role != "admin" {
		t.Errorf("created %+v", m)
	}
	out := h.ok(admin, "role-mapping", "create", "--group", "acme", "--space", "root", "--role", "read")
	if !strings.Contains(out, "any") || !strings.Contains(out, "root:read") {
		t.Errorf("create printed:\n%s", out)
	}
	out = h.ok(admin, "role-mapping", "list")
	if !strings.Contains(out, "GROUP") || !strings.Contains(out, "acme/platform") || !strings.Contains(out, "root:admin") {
		t.Errorf("list:\n%s", out)
	}

	if _, _, err := h.run(admin, nil, "role-mapping", "create", "--group", "acme", "--role", "read"); err == nil || !strings.Contains(err.Error(), "--space") {
		t.Errorf("create without --space: %v", err)
	}
	if err := h.fails(apperr.Invalid, admin, "role-mapping", "create", "--group", "acme", "--space", "root", "--role", "read",
		"--issuer", "http://insecure.example.com"); !strings.Contains(err.Error(), "https") {
		t.Errorf("http issuer: %v", err)
	}
	h.fails(apperr.Conflict, admin, "role-mapping", "create", "--group", "ACME", "--space", "root", "--role", "write")

	var reader struct {
		Secret string `json:"secret"`
	}
	h.jsonOut(&reader, admin, "api-key", "create", "--name", "reader", "--role", "root:read")
	h.fails(apperr.Forbidden, reader.Secret, "role-mapping", "list")

	if out := h.ok(admin, "role-mapping", "delete", m.ID); !strings.Contains(out, "deleted role mapping "+m.ID) {
		t.Errorf("delete printed %q", out)
	}
	h.fails(apperr.NotFound, admin, "role-mapping", "delete", m.ID)
	if out := h.ok(admin, "role-mapping", "list"); strings.Contains(out, "acme/platform") {
		t.Errorf("list after delete:\n%s", out)
	}
}
