package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// Every file the server keeps in its data dir — the database with its -wal
// and -shm, and the secrets — is 0600 under a 022 umask in a 0755 data dir,
// checked after writes (SQLite creates -wal and -shm when it needs them).
// Not parallel: the umask belongs to the whole process.
func TestDataDirFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := setup(t, func(c *app.Config) { c.DataDir = dir })
	h.space("Platform", "root")
	h.apiKey("ci", "platform:read")
	h.Must(http.StatusOK, "GET", "/api/v1/audit", h.AdminKey, nil)
	want := []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm",
		app.AdminAPIKeyFile, app.AdminPasswordFile, "encryption-key"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		seen[e.Name()] = true
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o, want 600", e.Name(), perm)
		}
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s is not in the data dir: the check checked less than it should", name)
		}
	}
}
