package main

// `hoist server`, `worker` and `vcs-agent` configured by the environment
// (issue 16): their bare HOIST_<FLAG> names, secrets from …_FILE, and
// --print-config, on the real commands.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// TestBareNamesOfRealCommands: what the bare names of the long-running
// commands set, and the collisions they avoid.
func TestBareNamesOfRealCommands(t *testing.T) {
	t.Parallel()
	root := newRoot(&env{getenv: func(string) string { return "" }}, "test", commands())
	for _, tt := range []struct {
		variable, path, flag string
		reads                bool
	}{
		{"HOIST_LISTEN", "server", "listen", true},
		{"HOIST_DATA_DIR", "server", "data-dir", true},
		{"HOIST_ENCRYPTION_KEY", "server", "encryption-key", true},
		{"HOIST_ENCRYPTION_KEY_FILE", "server", "encryption-key", true},
		{"HOIST_DATABASE_URL_FILE", "server", "database-url", true},
		{"HOIST_SERVER_DATABASE_URL_FILE", "server", "database-url", true},
		{"HOIST_WORKER_SLOTS", "server", "worker-slots", false}, // `worker --slots`
		{"HOIST_SERVER_WORKER_SLOTS", "server", "worker-slots", true},
		{"HOIST_SLOTS", "worker", "slots", true},
		{"HOIST_SERVER", "worker", "server", true},
		{"HOIST_POOL_TOKEN", "worker", "pool-token", true},
		{"HOIST_POOL_TOKEN_FILE", "worker", "pool-token-file", true},
		{"HOIST_POOL_TOKEN", "vcs-agent", "pool-token", false}, // the worker pool's
		{"HOIST_POOL_TOKEN_FILE", "vcs-agent", "pool-token-file", false},
		{"HOIST_VCS_AGENT_POOL_TOKEN_FILE", "vcs-agent", "pool-token-file", true},
		{"HOIST_SERVER_CA_FILE", "vcs-agent", "server-ca-file", false}, // among `server`'s names
		{"HOIST_TARGET_CA_FILE", "vcs-agent", "target-ca-file", true},
		{"HOIST_NAME", "vcs-agent", "name", true},
		{"HOIST_SERVER", "vcs-agent", "server", true},
		{"HOIST_LISTEN", "gitlab-sim", "listen", false}, // only the three long-running commands
		{"HOIST_NAME", "stack create", "name", false},
		{"HOIST_TOKEN_FILE", "stack list", "token", true},
		{"HOIST_GITLAB_SIM_TOKEN_FILE", "gitlab-sim push", "token", true},
	} {
		c, _, err := root.Find(strings.Fields(tt.path))
		if err != nil || cmdName(c) != tt.path {
			t.Fatalf("no command %q: %v", tt.path, err)
		}
		f := c.Flags().Lookup(tt.flag)
		names := append(envNames(c, f), fileEnvNames(c, f)...)
		if slices.Contains(names, tt.variable) != tt.reads {
			t.Errorf("hoist %s --%s reads %q; want $%s read: %v", tt.path, tt.flag, names, tt.variable, tt.reads)
		}
	}
}

// TestPrintConfig: each long-running command prints its configuration,
// secrets redacted, and starts nothing, even without its required flags.
func TestPrintConfig(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	vars := map[string]string{
		"HOIST_DATA_DIR":             dataDir,
		"HOIST_DATABASE_URL_FILE":    writeTemp(t, "db", "postgres://hoist:s3cr3t-db@db.internal/hoist\n"),
		"HOIST_ENCRYPTION_KEY":       "s3cr3t" + strings.Repeat("A", 38),
		"HOIST_POOL_TOKEN":           "s3cr3t-pool",
		"HOIST_VCS_AGENT_POOL_TOKEN": "s3cr3t-agent",
		"HOIST_VCS_AGENT_VENDOR":     "gitlab",
		"HOIST_SERVER":               "https://hoist.example.com",
		"HOIST_TOKEN":                "s3cr3t-client",
	}
	for _, tt := range []struct {
		args []string
		want []string // lines, columns collapsed to one space
	}{
		{[]string{"server", "--print-config", "--listen", "127.0.0.1:9"}, []string{
			"FLAG VALUE SOURCE",
			"--data-dir " + dataDir + " $HOIST_DATA_DIR",
			"--database-url <redacted, 44 bytes> $HOIST_DATABASE_URL_FILE",
			"--encryption-key <redacted, 44 bytes> $HOIST_ENCRYPTION_KEY",
			"--listen 127.0.0.1:9 flag",
			"--max-archive-size 1 GiB default",
			`--public-url "" default`,
		}},
		{[]string{"worker", "--print-config"}, []string{
			"--pool-token <redacted, 11 bytes> $HOIST_POOL_TOKEN",
			"--server https://hoist.example.com $HOIST_SERVER",
			"--slots 2 default",
		}},
		{[]string{"vcs-agent", "-print-config"}, []string{
			"--pool-token <redacted, 12 bytes> $HOIST_VCS_AGENT_POOL_TOKEN",
			"--server https://hoist.example.com $HOIST_SERVER",
			"--vendor gitlab $HOIST_VCS_AGENT_VENDOR",
		}},
	} {
		stdout, stderr, err := runLocal(t, "", vars, tt.args...)
		if err != nil || stderr != "" {
			t.Errorf("hoist %s: err %v, stderr %q", strings.Join(tt.args, " "), err, stderr)
			continue
		}
		var lines []string
		for _, l := range strings.Split(stdout, "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		for _, w := range tt.want {
			if !slices.Contains(lines, w) {
				t.Errorf("hoist %s: no line %q in:\n%s", strings.Join(tt.args, " "), w, stdout)
			}
		}
		if strings.Contains(stdout, "s3cr3t") {
			t.Errorf("hoist %s shows a secret:\n%s", strings.Join(tt.args, " "), stdout)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("--print-config made the data dir: %v", err)
	}

	stdout, _, err := runLocal(t, "", vars, "server", "--print-config=json")
	var got struct{ Flags []configEntry }
	if err != nil || json.Unmarshal([]byte(stdout), &got) != nil || len(got.Flags) < 15 || strings.Contains(stdout, "s3cr3t") {
		t.Fatalf("server --print-config=json: %v\n%s", err, stdout)
	}
}

// TestEncryptionKeyErrorsNameTheirSource: a bad key is refused before the
// server starts, naming where it came from and never quoting it.
func TestEncryptionKeyErrorsNameTheirSource(t *testing.T) {
	t.Parallel()
	bad := base64.StdEncoding.EncodeToString([]byte("s3cr3t, 16 bytes"))
	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"HOIST_ENCRYPTION_KEY": bad}, "$HOIST_ENCRYPTION_KEY: encryption key must be base64 of 32 bytes"},
		{map[string]string{"HOIST_SERVER_ENCRYPTION_KEY_FILE": writeTemp(t, "key", bad)}, "$HOIST_SERVER_ENCRYPTION_KEY_FILE: encryption key"},
		{map[string]string{"HOIST_ENCRYPTION_KEY_FILE": writeTemp(t, "key", "not base64!")}, "$HOIST_ENCRYPTION_KEY_FILE: encryption key is not base64"},
	} {
		tt.vars["HOIST_DATA_DIR"] = t.TempDir()
		_, stderr, err := runLocal(t, "", tt.vars, "server", "--listen", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error()+stderr, bad) {
			t.Errorf("%v: err = %v, want %q and no key", tt.vars, err, tt.want)
		}
	}
}

// TestServerFromEnvironmentOnly (issue 16, acceptance 5): `hoist server`
// with no flag at all — configured by the rule's names, bare names and
// secrets in files — serves, with those settings: its listen address and
// public URL, its database (PostgreSQL from a …_FILE when
// HOIST_TEST_POSTGRES is set, else SQLite in the data dir), its
// encryption key from a …_FILE, its work dir.
func TestServerFromEnvironmentOnly(t *testing.T) {
	t.Parallel()
	dataDir, workParent := t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Dir(workParent), workParent} { // runs reach their workspace as another user
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	workDir := filepath.Join(workParent, "work")
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	keyText := base64.StdEncoding.EncodeToString(key)
	vars := map[string]string{
		"HOIST_LISTEN":              "127.0.0.1:0",
		"HOIST_SERVER_DATA_DIR":     dataDir,
		"HOIST_PUBLIC_URL":          "https://hoist.example.com",
		"HOIST_WORK_DIR":            workDir,
		"HOIST_SERVER_WORKER_SLOTS": "1",
		"HOIST_ENCRYPTION_KEY_FILE": writeTemp(t, "encryption-key", keyText+"\n"),
	}
	dialect := "sqlite"
	if os.Getenv(dbtest.EnvPostgres) != "" {
		dialect = "postgres"
		vars["HOIST_DATABASE_URL_FILE"] = writeTemp(t, "database-url", dbtest.PostgresURL(t)+"\n")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr apptest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"server"}, nil, &stdout, &stderr, func(k string) string { return vars[k] })
	}()
	var m []string
	apptest.Eventually(t, 30*time.Second, "hoist server to serve", func() bool {
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v\n%s", err, stderr.String())
		default:
		}
		m = serverAt.FindStringSubmatch(stdout.String())
		return m != nil
	})
	base, public := m[1], m[2]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || public != "https://hoist.example.com" {
		t.Errorf("server at %s, public URL %s", base, public)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz = %d", resp.StatusCode)
	}
	log := stderr.String()
	for _, want := range []string{"database=" + dialect, "encryption key from the configuration"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(stdout.String()+log, keyText) {
		t.Error("the server printed its encryption key")
	}
	if _, err := os.Stat(filepath.Join(dataDir, secret.KeyFileName)); !os.IsNotExist(err) {
		t.Errorf("the server made a key file in the data dir though given a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "admin-api-key")); err != nil {
		t.Errorf("the data dir is not the one configured: %v", err)
	}
	if info, err := os.Stat(workDir); err != nil || !info.IsDir() {
		t.Errorf("the work dir was not prepared: %v", err)
	}
	stopServer(t, cancel, done)
}
