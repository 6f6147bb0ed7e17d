package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apptest"
)

var serverAt = regexp.MustCompile(`Hoist server at (http://\S+) \(public URL (\S+)\)`)

func TestServerCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr apptest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir,
			"--public-url", "https://hoist.example.com", "--allow-gitlab-host", "metadata.internal"},
			nil, &stdout, &stderr, func(string) string { return "" })
	}()

	var m []string
	apptest.Eventually(t, 10*time.Second, "the server to start", func() error {
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v\n%s", err, stderr.String())
		default:
		}
		if m = serverAt.FindStringSubmatch(stdout.String()); m == nil {
			return fmt.Errorf("stderr:\n%s", stderr.String())
		}
		return nil
	})
	base, public := m[1], m[2]
	if public != "https://hoist.example.com" {
		t.Errorf("public URL = %s", public)
	}
	key, err := os.ReadFile(filepath.Join(dir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/spaces", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var spaces struct{ Items []struct{ ID string } }
	err = json.NewDecoder(resp.Body).Decode(&spaces)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(spaces.Items) != 1 || spaces.Items[0].ID != "root" {
		t.Fatalf("GET /api/v1/spaces = %d %+v %v", resp.StatusCode, spaces, err)
	}
	if strings.Contains(stderr.String(), strings.TrimSpace(string(key))) {
		t.Error("the server log contains the admin API key")
	}
	if !strings.Contains(stderr.String(), filepath.Join(dir, "admin-api-key")) {
		t.Error("the server log does not say where the admin API key is")
	}

	stopServer(t, cancel, done)
}

// stopServer ends the context of a `hoist server` run in a goroutine and
// waits, bounded, for it to shut down cleanly.
func stopServer(t *testing.T, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop after the context ended")
	}
}

func TestServerCommandUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--no-such-flag"}, {"extra"}, {"--allow-gitlab-host", "http://x/"}, {"--notify-allow-hosts", "hooks.example.com:443"},
		{"--notify-allow-hosts", "*"}} {
		_, _, err := runLocal(t, "", nil, append([]string{"server"}, args...)...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("hoist server %q = %v, want a usage error", args, err)
		}
	}
	// --notify-allow-hosts has its variables, like every flag; a bad
	// pattern names the variable it came from.
	_, _, err := runLocal(t, "", map[string]string{"HOIST_NOTIFY_ALLOW_HOSTS": "hooks.example.com,10.0.0.0/99"}, "server")
	if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), `pattern "10.0.0.0/99"`) || !strings.Contains(err.Error(), "$HOIST_NOTIFY_ALLOW_HOSTS") {
		t.Errorf("a bad HOIST_NOTIFY_ALLOW_HOSTS: %v", err)
	}
	out, _, err := runLocal(t, "", map[string]string{"HOIST_SERVER_NOTIFY_ALLOW_HOSTS": "hooks.example.com,*.corp.example"}, "server", "--print-config")
	if err != nil || !regexp.MustCompile(`--notify-allow-hosts +\[hooks.example.com,\*.corp.example\] +\$HOIST_SERVER_NOTIFY_ALLOW_HOSTS`).MatchString(out) {
		t.Errorf("--print-config with HOIST_SERVER_NOTIFY_ALLOW_HOSTS: %v\n%s", err, out)
	}
	_, _, err = runLocal(t, "", nil, "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--database-url", "mysql://x")
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("mysql URL: %v", err)
	}
}

// TestToolsDirFlag: a tools folder that is not there stops `hoist server`
// and `hoist worker` at start, naming it absolute however it was given.
func TestToolsDirFlag(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(wd, "no-such-tools")
	for _, args := range [][]string{
		{"server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--tools-dir", "no-such-tools"},
		{"worker", "--server", "http://127.0.0.1:1", "--pool-token", "x", "--tools-dir", "no-such-tools"},
	} {
		_, _, err := runLocal(t, "", map[string]string{}, args...)
		if err == nil || !strings.Contains(err.Error(), "tools dir "+missing) {
			t.Errorf("hoist %s: err = %v, want it to name %s", strings.Join(args, " "), err, missing)
		}
	}
}
