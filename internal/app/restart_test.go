package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// First start writes the admin secrets with mode 0600 and they work.
func TestBootstrapFiles(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	for _, name := range []string{app.AdminAPIKeyFile, app.AdminPasswordFile, "encryption-key"} {
		info, err := os.Stat(filepath.Join(h.Config.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, info.Mode().Perm())
		}
	}
	var users struct{ Items []struct{ ID string } }
	h.Must(http.StatusOK, "GET", "/api/v1/users", h.AdminKey, nil).Decode(t, &users)
	if len(users.Items) != 1 || users.Items[0].ID != "admin" {
		t.Fatalf("users = %+v", users.Items)
	}
	logs := h.Logs.String()
	if !strings.Contains(logs, filepath.Join(h.Config.DataDir, app.AdminAPIKeyFile)) {
		t.Error("the log does not say where the admin API key is")
	}
	if strings.Contains(logs, h.AdminKey) || strings.Contains(logs, h.DataFile(app.AdminPasswordFile)) {
		t.Error("the log contains a bootstrap secret")
	}
	h.Must(http.StatusOK, "GET", "/healthz", "", nil)
	h.Must(http.StatusOK, "GET", "/readyz", "", nil)
}

// Acceptance 7 (SQLite): a restart keeps everything and bootstraps nothing
// again.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("A", "root")
	var before api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Acme", "a", h.Token(gitlabsim.TokenOptions{}))).Decode(t, &before)
	keyFile := h.DataFile(app.AdminAPIKeyFile)
	h.Restart()
	if h.DataFile(app.AdminAPIKeyFile) != keyFile {
		t.Fatal("restart rewrote the admin API key")
	}
	var after api.Integration
	h.Must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/acme", h.AdminKey, nil).Decode(t, &after)
	if after.WebhookSecret != before.WebhookSecret || after.TokenUser != "hoist-bot" || after.Space != "a" {
		t.Fatalf("after restart = %+v, before = %+v", after, before)
	}
	h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/acme/test", h.AdminKey, nil)
	h.Must(http.StatusOK, "GET", "/api/v1/spaces/a", h.AdminKey, nil)
	h.AssertNoTokenLeaked()
}

// Acceptance 7 (PostgreSQL): two servers started together on one database
// bootstrap once and see the same integrations.
func TestTwoServersOnOnePostgres(t *testing.T) {
	t.Parallel()
	servers := replicas(t, nil, nil) // skips without HOIST_TEST_POSTGRES
	sim := servers[0].Sim
	a, b := servers[0], servers[1]
	var err error
	if a.SimUser, err = sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
		t.Fatal(err)
	}
	var users struct{ Items []struct{ ID string } }
	b.Must(http.StatusOK, "GET", "/api/v1/users", b.AdminKey, nil).Decode(t, &users)
	if len(users.Items) != 1 {
		t.Fatalf("users = %+v, want one admin", users.Items)
	}
	var created api.Integration
	a.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", a.AdminKey,
		a.integrationBody("Shared", "", a.Token(gitlabsim.TokenOptions{}))).Decode(t, &created)
	var seen api.Integration
	b.Must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/shared", b.AdminKey, nil).Decode(t, &seen)
	if seen.WebhookSecret != created.WebhookSecret || seen.TokenUser != "hoist-bot" {
		t.Fatalf("server B sees %+v, server A created %+v", seen, created)
	}
	b.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/shared/test", b.AdminKey, nil)
	r := b.Call("POST", "/api/v1/integrations/gitlab", b.AdminKey, b.integrationBody("Second", "", a.Token(gitlabsim.TokenOptions{})))
	if r.Status != http.StatusConflict {
		t.Fatalf("second default through the other server = %d %s", r.Status, r.Body)
	}
	b.Must(http.StatusOK, "GET", "/readyz", "", nil)
	a.AssertNoTokenLeaked()
}
