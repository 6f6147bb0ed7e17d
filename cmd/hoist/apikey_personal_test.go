package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// `hoist api-key … --personal` (issue 20): with a personal key as its
// token, a user creates, lists and deletes personal keys; roles and a
// missing expiry are usage errors; an ordinary key has no personal keys.
func TestCLIPersonalKeys(t *testing.T) {
	t.Parallel()
	s := inproc.StartServer(t, nil)
	h := &e2e{t: t, http: apitest.Client(t), url: s.URL, adminKey: s.AdminKey}
	t.Cleanup(h.assertNoSecretPrinted)
	h.ok(h.adminKey, "user", "create", "rob", "--role", "root:read")

	// The first personal key comes from the web UI; here the service makes
	// it on the server's database.
	st, err := sqlite.Open(t.Context(), filepath.Join(s.Config.DataDir, sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	first, err := identity.NewService(st, st, nil).CreatePersonalKey(t.Context(), "user:rob", identity.PersonalKeyInput{Name: "laptop", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h.secrets = append(h.secrets, first.Secret)
	rob := first.Secret

	var k struct {
		ID        string     `json:"id"`
		Secret    string     `json:"secret"`
		CreatedBy string     `json:"created_by"`
		Personal  bool       `json:"personal"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	h.jsonOut(&k, rob, "api-key", "create", "--personal", "--name", "ci", "--expires-in", "30d")
	if want := time.Now().Add(30 * 24 * time.Hour); !k.Personal || k.CreatedBy != "user:rob" || k.ExpiresAt == nil || k.ExpiresAt.Sub(want).Abs() > time.Minute {
		t.Errorf("created %+v", k)
	}
	for args, want := range map[string][]string{
		"--role":       {"api-key", "create", "--personal", "--name", "x", "--expires-in", "1d", "--role", "root:admin"},
		"--expires-in": {"api-key", "create", "--personal", "--name", "x"},
		"--name is":    {"api-key", "create", "--personal", "--expires-in", "1d"},
	} {
		if _, _, err := h.run(rob, nil, want...); err == nil || !strings.Contains(err.Error(), args) {
			t.Errorf("%v: %v, want a usage error naming %s", want, err, args)
		}
	}
	h.fails(apperr.Invalid, rob, "api-key", "create", "--personal", "--name", "x", "--expires-in", "400d")
	out := h.ok(rob, "api-key", "list", "--personal")
	if !strings.Contains(out, k.ID) || !strings.Contains(out, "laptop") || !strings.Contains(out, "user:rob (personal)") ||
		!strings.Contains(out, "root:read") {
		t.Errorf("api-key list --personal:\n%s", out)
	}
	h.ok(k.Secret, "space", "list")
	h.fails(apperr.Forbidden, k.Secret, "space", "create", "--name", "Mine")
	h.fails(apperr.Forbidden, rob, "api-key", "list")
	h.fails(apperr.Forbidden, h.adminKey, "api-key", "list", "--personal")
	if out := h.ok(rob, "api-key", "delete", "--personal", k.ID); !strings.Contains(out, "deleted API key "+k.ID) {
		t.Errorf("api-key delete --personal printed %q", out)
	}
	h.fails(apperr.Unauthorized, k.Secret, "space", "list")
	h.fails(apperr.NotFound, rob, "api-key", "delete", "--personal", k.ID)

	// A ceiling: --max-role and --space, shown in the listing; only with
	// --personal, and only spaces the owner holds a role on.
	var limited struct {
		ID      string `json:"id"`
		Ceiling *struct {
			MaxRole string    `json:"max_role"`
			Spaces  *[]string `json:"spaces"`
		} `json:"ceiling"`
	}
	h.jsonOut(&limited, rob, "api-key", "create", "--personal", "--name", "ro", "--expires-in", "1d", "--max-role", "read", "--space", "root")
	if c := limited.Ceiling; c == nil || c.MaxRole != "read" || c.Spaces == nil || len(*c.Spaces) != 1 || (*c.Spaces)[0] != "root" {
		t.Errorf("created with a ceiling: %+v", limited)
	}
	if out := h.ok(rob, "api-key", "list", "--personal"); !strings.Contains(out, "LIMITS") || !strings.Contains(out, "at most read in root") ||
		!strings.Contains(out, "owner's roles") {
		t.Errorf("api-key list --personal does not show the ceilings:\n%s", out)
	}
	if _, _, err := h.run(h.adminKey, nil, "api-key", "create", "--name", "x", "--max-role", "read"); err == nil ||
		!strings.Contains(err.Error(), "with --personal") {
		t.Errorf("--max-role without --personal: %v", err)
	}
	h.fails(apperr.Invalid, rob, "api-key", "create", "--personal", "--name", "x", "--expires-in", "1d", "--space", "nowhere")
	h.fails(apperr.Invalid, rob, "api-key", "create", "--personal", "--name", "x", "--expires-in", "1d", "--max-role", "owner")
}
