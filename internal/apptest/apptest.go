// Package apptest is what Hoist's tests share to run Hoist and wait on it,
// the one way for every package: the hoist program built once per test run
// (Binary) and started (StartBinary), the GitLab simulator (StartGitLab), a
// client that checks every answer of the API against its document (Client,
// with internal/api/apitest), and the one poll helper (Eventually). It
// imports nothing of the server, so that the tests of any package but the
// simulator's can use it; the server in the test process is its subpackage
// inproc.
//
// Imported only by tests (internal/arch checks that no production package
// does).
package apptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer that a process or a logger writes while the
// test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RepoRoot is the checkout this package was compiled from.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Tofu is the OpenTofu that runs execute: the one scripts/install-tofu.sh
// builds into .tools/bin, else tofu on PATH. Without either the test is
// skipped, or fails under CI, whose script installs it.
func Tofu(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), ".tools", "bin", "tofu")
	_, err := os.Stat(p)
	if err == nil {
		return p
	}
	if lp, lerr := exec.LookPath("tofu"); lerr == nil {
		return lp
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no OpenTofu at %s: scripts/install-tofu.sh builds it", p)
	}
	t.Skipf("no OpenTofu (run scripts/install-tofu.sh): %v", err)
	return ""
}
