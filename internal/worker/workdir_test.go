package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/sandbox"
)

func TestPrepareWorkDir(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "hoist-workdir-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	want := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		want = 0o711
	}

	fresh := filepath.Join(base, "fresh")
	got, err := PrepareWorkDir(fresh)
	if err != nil || got != fresh {
		t.Fatalf("a new work dir: %q, %v", got, err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != want {
		t.Fatalf("mode %04o, want %04o", fi.Mode().Perm(), want)
	}
	// Again: an existing dir of this user is kept as it is.
	if _, err := PrepareWorkDir(fresh); err != nil {
		t.Fatal(err)
	}

	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareWorkDir(open); err == nil || !strings.Contains(err.Error(), "written by others") {
		t.Fatalf("a world-writable work dir: %v", err)
	}
	if fi, _ := os.Stat(open); fi.Mode().Perm() != 0o777 {
		t.Fatal("an existing work dir was chmod-ed")
	}

	link := filepath.Join(base, "link")
	if err := os.Symlink(fresh, link); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareWorkDir(link); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("a symlink as work dir: %v", err)
	}

	if os.Geteuid() == 0 {
		closed := filepath.Join(base, "closed")
		if err := os.Mkdir(closed, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := PrepareWorkDir(filepath.Join(closed, "w")); err == nil || !strings.Contains(err.Error(), "cannot enter "+closed) {
			t.Fatalf("a work dir the run user cannot reach: %v", err)
		}
	}
}

func TestStartRefusesWorkDirInsideHidden(t *testing.T) {
	t.Parallel()
	data, err := os.MkdirTemp("", "hoist-data-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	sb := sandbox.New(t.Context(), sandbox.Options{SimulateUnavailable: "not needed here"})
	_, err = Start(t.Context(), Config{WorkDir: filepath.Join(data, "runs"), Hidden: []string{data}, Sandbox: sb})
	if err == nil || !strings.Contains(err.Error(), "outside the data dir") {
		t.Fatalf("a work dir inside the data dir: %v", err)
	}
}

// TestStartRefusesToolsDirInsideHidden: runs read the tools folder's
// binaries, so it cannot live where they must see nothing; a tools folder
// that is not there stops the start too.
func TestStartRefusesToolsDirInsideHidden(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tools := filepath.Join(data, "tools")
	if err := os.Mkdir(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(t.Context(), sandbox.Options{SimulateUnavailable: "not needed here"})
	for dir, want := range map[string]string{tools: "choose a --tools-dir outside the data dir", filepath.Join(data, "nope"): "no such file"} {
		_, err := Start(t.Context(), Config{WorkDir: t.TempDir(), ToolsDir: dir, Hidden: sandbox.RealPaths(data), Sandbox: sb})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("tools dir %s: %v, want %q", dir, err, want)
		}
	}
}
