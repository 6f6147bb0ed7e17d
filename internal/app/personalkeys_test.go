package app_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// Personal API keys through the API (issue 20): a key acts with exactly
// its owner's current roles — a mapping deleted takes its role from the
// key at once, a read-only owner's key is refused writes — sees and
// deletes only its owner's keys, and mints no keys with roles.
func TestPersonalKeysAPI(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("Platform", "root")
	var m struct{ ID string }
	h.Must(http.StatusCreated, "POST", "/api/v1/role-mappings", h.AdminKey,
		map[string]any{"group": "acme/platform", "space": "platform", "role": "admin"}).Decode(t, &m)
	h.Must(http.StatusCreated, "POST", "/api/v1/users", h.AdminKey, map[string]any{"username": "rob",
		"roles": []map[string]string{{"space": "root", "role": "read"}}})

	// The first personal key is made by a logged-in user (the web UI);
	// here the service does it on the server's database.
	st, err := sqlite.Open(t.Context(), filepath.Join(h.Config.DataDir, sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := identity.NewService(st, st, nil)
	ada, err := ids.UpsertExternalUser(t.Context(), "https://gitlab.example.com", "42",
		identity.ExternalProfile{Username: "ada", Groups: []string{"acme/platform"}})
	if err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/"+ada.ID+"/roles", h.AdminKey, map[string]any{"space": "root", "role": "read"})
	month := time.Now().Add(30 * 24 * time.Hour)
	first := func(user string) string {
		t.Helper()
		nk, err := ids.CreatePersonalKey(t.Context(), identity.UserPrincipal(user), identity.PersonalKeyInput{Name: "laptop", ExpiresAt: month})
		if err != nil {
			t.Fatal(err)
		}
		h.WatchSecret(nk.Secret)
		return nk.Secret
	}
	adaKey, robKey, adminPK := first(ada.ID), first("rob"), first("admin")

	type key struct {
		ID, Name, Secret string
		CreatedBy        string `json:"created_by"`
		Personal         bool
		Roles            []struct{ Space, Role string }
	}
	var created key
	expires := time.Now().UTC().Add(10 * 24 * time.Hour).Format(time.RFC3339)
	h.Must(http.StatusCreated, "POST", "/api/v1/me/api-keys", adaKey, map[string]any{"name": "ci", "expires_at": expires}).Decode(t, &created)
	if created.Secret == "" || !created.Personal || created.CreatedBy != "user:"+ada.ID || len(created.Roles) != 2 || created.Roles[0].Role != "admin" {
		t.Errorf("created %+v", created)
	}
	for body, field := range map[string]map[string]any{
		"no expiry":        {"name": "x"},
		"not RFC 3339":     {"name": "x", "expires_at": "tomorrow"},
		"400 days out":     {"name": "x", "expires_at": time.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)},
		"an empty name":    {"name": "", "expires_at": expires},
		"roles of its own": {"name": "x", "expires_at": expires, "roles": []map[string]string{{"space": "root", "role": "admin"}}},
	} {
		r := h.Call("POST", "/api/v1/me/api-keys", adaKey, field)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", body, r.Status, r.Body)
		}
	}
	var list struct{ Items []key }
	h.Must(http.StatusOK, "GET", "/api/v1/me/api-keys", adaKey, nil).Decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != created.ID || list.Items[0].Secret != "" {
		t.Errorf("ada's keys = %+v", list.Items)
	}

	// The key holds the owner's mapped admin on platform — until the
	// mapping goes; the hand-given read on root stays.
	h.Must(http.StatusOK, "PATCH", "/api/v1/spaces/platform", adaKey, map[string]any{"description": "mine"})
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/role-mappings/"+m.ID, h.AdminKey, nil)
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/spaces/platform", adaKey, map[string]any{"description": "still mine?"})

	// A read-only owner's key reads and is refused a write.
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", robKey, nil)
	h.Must(http.StatusForbidden, "POST", "/api/v1/spaces", robKey, map[string]any{"name": "Mine", "parent": "root"})
	// Only its owner's keys: rob sees his one key and cannot delete ada's.
	h.Must(http.StatusOK, "GET", "/api/v1/me/api-keys", robKey, nil).Decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("rob's keys = %+v", list.Items)
	}
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/me/api-keys/"+created.ID, robKey, nil)

	// A root admin's personal key is root admin, yet mints no key with
	// roles; an ordinary key has no personal keys.
	h.Must(http.StatusOK, "GET", "/api/v1/users", adminPK, nil)
	h.Must(http.StatusForbidden, "POST", "/api/v1/api-keys", adminPK, map[string]any{"name": "escape",
		"roles": []map[string]string{{"space": "root", "role": "admin"}}})
	h.Must(http.StatusForbidden, "GET", "/api/v1/me/api-keys", h.AdminKey, nil)

	// The admin sees ada's keys marked personal and may revoke them.
	var all struct{ Items []key }
	h.Must(http.StatusOK, "GET", "/api/v1/api-keys", h.AdminKey, nil).Decode(t, &all)
	personal := 0
	for _, k := range all.Items {
		if k.Personal {
			personal++
		}
	}
	if personal != 4 {
		t.Errorf("%d personal keys listed to the admin, want 4: %+v", personal, all.Items)
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/api-keys/"+created.ID, h.AdminKey, nil)
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", created.Secret, nil)

	// Deleting its own key, and the owner disabled.
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/me/api-keys/"+list.Items[0].ID, robKey, nil)
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", robKey, nil)
	h.Must(http.StatusNoContent, "POST", "/api/v1/users/"+ada.ID+"/disable", h.AdminKey, nil)
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/me/api-keys", adaKey, nil)
	h.AssertNoTokenLeaked()
}

// TestPersonalKeyCeilingAPI: a personal key limited by its owner acts with
// the lower of the owner's role and its ceiling, and nothing outside its
// spaces — a read-limited key of the root admin writes nothing and is not
// root admin — and a limited key makes and deletes no personal keys.
func TestPersonalKeyCeilingAPI(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("Platform", "root")
	h.space("Data", "root")
	st, err := sqlite.Open(t.Context(), filepath.Join(h.Config.DataDir, sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nk, err := identity.NewService(st, st, nil).CreatePersonalKey(t.Context(), "user:admin",
		identity.PersonalKeyInput{Name: "laptop", ExpiresAt: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h.WatchSecret(nk.Secret)
	adminPK := nk.Secret

	type ceiling struct {
		MaxRole string    `json:"max_role"`
		Spaces  *[]string `json:"spaces"`
	}
	type key struct {
		ID, Secret string
		Ceiling    *ceiling
	}
	expires := time.Now().UTC().Add(10 * 24 * time.Hour).Format(time.RFC3339)
	create := func(body map[string]any) key {
		t.Helper()
		body["expires_at"] = expires
		var k key
		h.Must(http.StatusCreated, "POST", "/api/v1/me/api-keys", adminPK, body).Decode(t, &k)
		return k
	}
	reader := create(map[string]any{"name": "reader", "max_role": "read"})
	if reader.Ceiling == nil || reader.Ceiling.MaxRole != "read" || reader.Ceiling.Spaces != nil {
		t.Errorf("reader's ceiling = %+v", reader.Ceiling)
	}
	// The owner is root admin; the key reads and is refused every write,
	// and everything only a root admin may do.
	h.Must(http.StatusOK, "GET", "/api/v1/spaces/platform", reader.Secret, nil)
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/spaces/platform", reader.Secret, map[string]any{"description": "x"})
	h.Must(http.StatusForbidden, "POST", "/api/v1/spaces", reader.Secret, map[string]any{"name": "Mine", "parent": "root"})
	h.Must(http.StatusForbidden, "GET", "/api/v1/users", reader.Secret, nil)
	// Nor does it make keys (an unlimited one would escape the limit) or
	// delete its owner's others; it lists them.
	h.Must(http.StatusForbidden, "POST", "/api/v1/me/api-keys", reader.Secret, map[string]any{"name": "escape", "expires_at": expires})
	h.Must(http.StatusForbidden, "DELETE", "/api/v1/me/api-keys/"+nk.Key.ID, reader.Secret, nil)
	h.Must(http.StatusOK, "GET", "/api/v1/me/api-keys", reader.Secret, nil)

	// Limited to platform as admin: admin there, nothing in data or root.
	scoped := create(map[string]any{"name": "platform", "max_role": "admin", "spaces": []string{"platform"}})
	if scoped.Ceiling == nil || scoped.Ceiling.Spaces == nil || len(*scoped.Ceiling.Spaces) != 1 {
		t.Errorf("scoped ceiling = %+v", scoped.Ceiling)
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/spaces/platform", scoped.Secret, map[string]any{"description": "ok"})
	h.Must(http.StatusNotFound, "GET", "/api/v1/spaces/data", scoped.Secret, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/spaces/root", scoped.Secret, nil)
	var spaces struct{ Items []struct{ ID string } }
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", scoped.Secret, nil).Decode(t, &spaces)
	if len(spaces.Items) != 1 || spaces.Items[0].ID != "platform" {
		t.Errorf("the scoped key lists %+v, want platform only", spaces.Items)
	}

	for name, body := range map[string]map[string]any{
		"unknown role":  {"name": "x", "max_role": "owner"},
		"unknown space": {"name": "x", "spaces": []string{"nowhere"}},
		"empty space":   {"name": "x", "spaces": []string{" "}},
	} {
		body["expires_at"] = expires
		if r := h.Call("POST", "/api/v1/me/api-keys", adminPK, body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.Status, r.Body)
		}
	}
	// Listed with their ceilings, to the owner and to root admins.
	var list struct{ Items []key }
	h.Must(http.StatusOK, "GET", "/api/v1/me/api-keys", adminPK, nil).Decode(t, &list)
	limited := 0
	for _, k := range list.Items {
		if k.Ceiling != nil {
			limited++
		}
	}
	if len(list.Items) != 3 || limited != 2 {
		t.Errorf("admin's personal keys = %+v", list.Items)
	}
	h.AssertNoTokenLeaked()
}
