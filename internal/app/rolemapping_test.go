package app_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// Role mappings through the API: created, listed as {"items": …}, refused
// to non-admins and for bad input, deleted with the roles they gave; a user
// from an issuer is listed with its issuer and its roles marked mapping or
// local.
func TestRoleMappingsAPI(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("Platform", "root")
	var m struct{ ID, Issuer, Group, Space, Role string }
	h.Must(http.StatusCreated, "POST", "/api/v1/role-mappings", h.AdminKey, map[string]any{
		"issuer": "https://gitlab.example.com", "group": "Acme/Platform", "space": "platform", "role": "admin"}).Decode(t, &m)
	if m.ID == "" || m.Group != "acme/platform" || m.Space != "platform" || m.Role != "admin" {
		t.Errorf("created %+v", m)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"group": "acme", "space": "platform", "role": "owner"}, "role"},
		{map[string]any{"group": "acme//x", "space": "platform", "role": "read"}, "group"},
		{map[string]any{"group": "acme", "space": "platform", "role": "read", "issuer": "ftp://x"}, "issuer"},
	} {
		r := h.Call("POST", "/api/v1/role-mappings", h.AdminKey, tc.body)
		if code, _, field := r.APIError(t); r.Status != 400 || code != "invalid" || field != tc.field {
			t.Errorf("%v: %d %s, want invalid %s", tc.body, r.Status, r.Body, tc.field)
		}
	}
	r := h.Call("POST", "/api/v1/role-mappings", h.AdminKey, map[string]any{"group": "acme", "space": "root", "role": "read", "sneaky": true})
	if r.Status != 400 {
		t.Errorf("unknown field: %d %s", r.Status, r.Body)
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/role-mappings", h.AdminKey, map[string]any{"group": "acme", "space": "root", "role": "read"})
	h.Must(http.StatusConflict, "POST", "/api/v1/role-mappings", h.AdminKey, map[string]any{"group": "ACME", "space": "root", "role": "write"})
	reader := h.apiKey("reader", "root:read")
	h.Must(http.StatusForbidden, "GET", "/api/v1/role-mappings", reader, nil)
	h.Must(http.StatusForbidden, "DELETE", "/api/v1/role-mappings/"+m.ID, reader, nil)

	var list struct{ Items []struct{ ID, Group string } }
	h.Must(http.StatusOK, "GET", "/api/v1/role-mappings", h.AdminKey, nil).Decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].Group != "acme" || list.Items[1].ID != m.ID {
		t.Errorf("list = %+v", list)
	}

	// A first login, as the OIDC flow will make it, on the server's database.
	st, err := sqlite.Open(t.Context(), filepath.Join(h.Config.DataDir, sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := identity.NewService(st, st, nil)
	u, err := ids.UpsertExternalUser(t.Context(), "https://gitlab.example.com", "42",
		identity.ExternalProfile{Username: "ada", Email: "ada@example.com", Groups: []string{"acme/platform"}})
	if err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/"+u.ID+"/roles", h.AdminKey, map[string]any{"space": "root", "role": "read"})
	type role struct{ Space, Role, Source string }
	var users struct {
		Items []struct {
			ID, Issuer, Email string
			Roles             []role
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/users", h.AdminKey, nil).Decode(t, &users)
	found := false
	for _, it := range users.Items {
		if it.ID != u.ID {
			continue
		}
		found = true
		want := []role{{"platform", "admin", "mapping"}, {"root", "read", "local"}}
		if it.Issuer != "https://gitlab.example.com" || it.Email != "ada@example.com" || len(it.Roles) != 2 || it.Roles[0] != want[0] || it.Roles[1] != want[1] {
			t.Errorf("listed %+v, want issuer, email and roles %+v", it, want)
		}
	}
	if !found {
		t.Errorf("user %s not listed: %+v", u.ID, users)
	}
	// Deleting the mapping takes the role it gave away at once.
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/role-mappings/"+m.ID, h.AdminKey, nil)
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/role-mappings/"+m.ID, h.AdminKey, nil)
	users.Items = nil
	h.Must(http.StatusOK, "GET", "/api/v1/users", h.AdminKey, nil).Decode(t, &users)
	for _, it := range users.Items {
		if it.ID == u.ID && (len(it.Roles) != 1 || it.Roles[0] != (role{"root", "read", "local"})) {
			t.Errorf("roles after deleting the mapping = %+v", it.Roles)
		}
	}
}
