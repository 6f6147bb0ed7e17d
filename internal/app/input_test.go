package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// Acceptance 6: bad input is a 400 invalid naming the field, and nothing is
// half-written.
func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("A", "root")
	tok := h.Token(gitlabsim.TokenOptions{})
	with := func(k string, v any) map[string]any {
		b := h.integrationBody("Good Name", "a", tok)
		b[k] = v
		return b
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"empty name", with("name", ""), "name"},
		{"65-char name", with("name", strings.Repeat("n", 65)), "name"},
		{"ftp scheme", with("api_host", "ftp://gitlab.example.com"), "api_host"},
		{"user and password", with("api_host", "https://user:secret@gitlab.example.com"), "api_host"},
		{"query", with("api_host", "https://gitlab.example.com/?private_token=x"), "api_host"},
		{"user-facing host", with("user_facing_host", "gopher://x"), "user_facing_host"},
		{"metadata address", with("api_host", "http://169.254.169.254"), "api_host"},
		{"non-existent space", with("space", "no-such-space"), "space"},
		{"1 MiB description", with("description", strings.Repeat("d", 1<<20)), "description"},
		{"unknown field", with("tokne", "x"), "tokne"},
		{"missing token", with("token", ""), "token"},
		{"bad label", with("labels", []string{""}), "labels"},
		{"bad CA bundle", with("ca_bundle", "not pem"), "ca_bundle"},
		{"wrong type", with("is_default", "yes"), "is_default"},
	}
	for _, tt := range tests {
		r := h.Call("POST", "/api/v1/integrations/gitlab", h.AdminKey, tt.body)
		code, msg, field := r.APIError(t)
		if r.Status != http.StatusBadRequest || code != "invalid" || field != tt.field || !strings.Contains(msg, tt.field) {
			t.Errorf("%s: %d %s field %q %q, want 400 invalid naming %q", tt.name, r.Status, code, field, msg, tt.field)
		}
	}
	r := h.Call("POST", "/api/v1/integrations/gitlab", h.AdminKey, `{"name":"x","description":"`+strings.Repeat("d", 5<<20)+`"}`)
	if code, _, _ := r.APIError(t); r.Status != http.StatusRequestEntityTooLarge || code != "invalid" {
		t.Errorf("5 MiB body: %d %s, want 413 invalid", r.Status, code)
	}

	// A failed update changes nothing either.
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey, h.integrationBody("Kept", "a", tok))
	revoked := h.Token(gitlabsim.TokenOptions{Revoked: true})
	r = h.Call("PATCH", "/api/v1/integrations/gitlab/kept", h.AdminKey, map[string]any{"token": revoked, "description": "new"})
	if _, _, field := r.APIError(t); r.Status != http.StatusBadRequest || field != "token" {
		t.Errorf("update with revoked token: %d %s", r.Status, r.Body)
	}
	var kept api.Integration
	h.Must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/kept", h.AdminKey, nil).Decode(t, &kept)
	h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/kept/test", h.AdminKey, nil)

	var list api.Page[api.Integration]
	h.Must(http.StatusOK, "GET", "/api/v1/integrations", h.AdminKey, nil).Decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("integrations after refusals = %+v, want only the kept one", list.Items)
	}
	var auditLog struct{ Items []struct{ Action string } }
	h.Must(http.StatusOK, "GET", "/api/v1/audit?resource_type=integration", h.AdminKey, nil).Decode(t, &auditLog)
	if len(auditLog.Items) != 1 {
		t.Fatalf("audit after refusals = %+v, want only the one create", auditLog.Items)
	}
	h.AssertNoTokenLeaked()
}

// Spaces and identities refuse bad input the same way.
func TestSpaceAndKeyInput(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	for _, tt := range []struct {
		path  string
		body  any
		field string
	}{
		{"/api/v1/spaces", map[string]any{"name": ""}, "name"},
		{"/api/v1/spaces", map[string]any{"name": "x", "parent": "nope"}, "parent"},
		{"/api/v1/spaces", map[string]any{"name": "x", "colour": "red"}, "colour"},
		{"/api/v1/api-keys", map[string]any{"name": "k", "roles": []map[string]string{{"space": "root", "role": "owner"}}}, "roles"},
		{"/api/v1/api-keys", map[string]any{"name": "k", "roles": []map[string]string{{"space": "nope", "role": "read"}}}, "roles"},
		{"/api/v1/users", map[string]any{"username": "bob", "password": "short"}, "password"},
	} {
		r := h.Call("POST", tt.path, h.AdminKey, tt.body)
		if code, _, field := r.APIError(t); r.Status != 400 || code != "invalid" || field != tt.field {
			t.Errorf("POST %s %v: %d %s, want invalid %s", tt.path, tt.body, r.Status, r.Body, tt.field)
		}
	}
	h.space("Parent", "root")
	h.space("Child", "parent")
	if r := h.Call("DELETE", "/api/v1/spaces/parent", h.AdminKey, nil); r.Status != http.StatusConflict {
		t.Errorf("deleting a non-empty space = %d %s, want 409", r.Status, r.Body)
	}
	if r := h.Call("PATCH", "/api/v1/spaces/parent", h.AdminKey, map[string]any{"parent": "child"}); r.Status != 400 {
		t.Errorf("moving a space under its child = %d %s, want 400", r.Status, r.Body)
	}
	if r := h.Call("DELETE", "/api/v1/spaces/root", h.AdminKey, nil); r.Status != 400 {
		t.Errorf("deleting root = %d, want 400", r.Status)
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/spaces/child", h.AdminKey, nil)
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/spaces/parent", h.AdminKey, nil)

	var u struct{ ID, Password string }
	h.Must(http.StatusCreated, "POST", "/api/v1/users", h.AdminKey, map[string]any{"username": "Bob Smith"}).Decode(t, &u)
	if u.ID != "bob-smith" || len(u.Password) < 12 {
		t.Errorf("user = %+v, want id bob-smith with a generated password", u)
	}
	key := h.apiKey("plain")
	h.Must(http.StatusForbidden, "POST", "/api/v1/api-keys", key, map[string]any{"name": "x"})
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", "hoist_aaaaaaaaaaaaaaaa_"+strings.Repeat("A", 43), nil)
}
