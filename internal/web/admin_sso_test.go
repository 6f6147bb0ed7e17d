package web_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// A user's page shows roles from a role mapping as such, without the
// revoke button that only works on hand-given roles.
func TestAdminUserPageMarksMappedRoles(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.api("POST", "/api/v1/role-mappings", map[string]any{"group": "acme", "space": "root", "role": "read"}, http.StatusCreated, nil)
	st, err := sqlite.Open(t.Context(), filepath.Join(h.Config.DataDir, sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := identity.NewService(st, st, nil).UpsertExternalUser(t.Context(), "https://gitlab.example.com", "9",
		identity.ExternalProfile{Username: "eve", Groups: []string{"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := h.client()
	admin.login("admin", h.AdminPassword)
	p := admin.get("/admin/users/" + u.ID)
	if p.status != http.StatusOK || !strings.Contains(p.body, `<tr id="role-root-mapping-`) ||
		!strings.Contains(p.body, "from a role mapping") || strings.Contains(p.body, `aria-label="Revoke read on root"`) {
		t.Errorf("eve's page = %d:\n%.3000s", p.status, p.body)
	}
}
