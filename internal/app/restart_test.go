package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// First start writes the admin secrets with mode 0600 and they work.
func TestBootstrapFiles(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	for _, name := range []string{app.AdminAPIKeyFile, app.AdminPasswordFile, "encryption-key"} {
		info, err := os.Stat(filepath.Join(h.cfg.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, info.Mode().Perm())
		}
	}
	var users struct{ Items []struct{ ID string } }
	h.must(http.StatusOK, "GET", "/api/v1/users", h.adminKey, nil).decode(t, &users)
	if len(users.Items) != 1 || users.Items[0].ID != "admin" {
		t.Fatalf("users = %+v", users.Items)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, filepath.Join(h.cfg.DataDir, app.AdminAPIKeyFile)) {
		t.Error("the log does not say where the admin API key is")
	}
	if strings.Contains(logs, h.adminKey) || strings.Contains(logs, h.readDataFile(app.AdminPasswordFile)) {
		t.Error("the log contains a bootstrap secret")
	}
	h.must(http.StatusOK, "GET", "/healthz", "", nil)
	h.must(http.StatusOK, "GET", "/readyz", "", nil)
}

// Acceptance 7 (SQLite): a restart keeps everything and bootstraps nothing
// again.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("A", "root")
	var before api.Integration
	h.must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.adminKey,
		h.integrationBody("Acme", "a", h.token(gitlabsim.TokenOptions{}))).decode(t, &before)
	keyFile := h.readDataFile(app.AdminAPIKeyFile)
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	if h.readDataFile(app.AdminAPIKeyFile) != keyFile {
		t.Fatal("restart rewrote the admin API key")
	}
	var after api.Integration
	h.must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/acme", h.adminKey, nil).decode(t, &after)
	if after.WebhookSecret != before.WebhookSecret || after.TokenUser != "hoist-bot" || after.Space != "a" {
		t.Fatalf("after restart = %+v, before = %+v", after, before)
	}
	h.must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/acme/test", h.adminKey, nil)
	h.must(http.StatusOK, "GET", "/api/v1/spaces/a", h.adminKey, nil)
	h.assertNoTokenLeaked()
}

// Acceptance 7 (PostgreSQL): two servers started together on one database
// bootstrap once and see the same integrations.
func TestTwoServersOnOnePostgres(t *testing.T) {
	t.Parallel()
	dbURL := freshSchema(t)
	key := make([]byte, 32)
	rand.Read(key)
	encKey := base64.StdEncoding.EncodeToString(key)
	getenv := func(k string) string {
		if k == "HOIST_ENCRYPTION_KEY" {
			return encKey // replicas must share the key
		}
		return ""
	}
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	simURL, err := sim.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	servers := make([]*harness, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range servers {
		h := &harness{t: t, logs: &logBuffer{}, sim: sim, simURL: simURL, http: apitest.Client(t)}
		h.cfg = app.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", DatabaseURL: dbURL, Getenv: getenv,
			Logger: slog.New(slog.NewTextHandler(h.logs, nil))}
		servers[i] = h
		wg.Go(func() {
			srv, err := app.Start(t.Context(), h.cfg)
			if err == nil {
				h.srv = srv
				t.Cleanup(func() { srv.Close() })
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range servers {
		if b, err := os.ReadFile(filepath.Join(h.cfg.DataDir, app.AdminAPIKeyFile)); err == nil {
			keys = append(keys, strings.TrimSpace(string(b)))
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("%d servers wrote an admin API key, want exactly 1", len(keys))
	}
	for _, h := range servers {
		h.adminKey = keys[0]
	}
	a, b := servers[0], servers[1]
	if a.simUser, err = sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
		t.Fatal(err)
	}
	var users struct{ Items []struct{ ID string } }
	b.must(http.StatusOK, "GET", "/api/v1/users", b.adminKey, nil).decode(t, &users)
	if len(users.Items) != 1 {
		t.Fatalf("users = %+v, want one admin", users.Items)
	}
	var created api.Integration
	a.must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", a.adminKey,
		a.integrationBody("Shared", "", a.token(gitlabsim.TokenOptions{}))).decode(t, &created)
	var seen api.Integration
	b.must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/shared", b.adminKey, nil).decode(t, &seen)
	if seen.WebhookSecret != created.WebhookSecret || seen.TokenUser != "hoist-bot" {
		t.Fatalf("server B sees %+v, server A created %+v", seen, created)
	}
	b.must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/shared/test", b.adminKey, nil)
	r := b.call("POST", "/api/v1/integrations/gitlab", b.adminKey, b.integrationBody("Second", "", a.token(gitlabsim.TokenOptions{})))
	if r.status != http.StatusConflict {
		t.Fatalf("second default through the other server = %d %s", r.status, r.body)
	}
	b.must(http.StatusOK, "GET", "/readyz", "", nil)
	a.tokens = append(a.tokens, b.tokens...)
	a.assertNoTokenLeaked()
}

// freshSchema returns HOIST_TEST_POSTGRES pointing at a new, empty schema
// dropped after the test; it skips the test when the variable is unset.
func freshSchema(t *testing.T) string {
	t.Helper()
	return dbtest.PostgresURL(t)
}
