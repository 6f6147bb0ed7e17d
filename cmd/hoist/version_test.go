package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.modified", "false")},
			true, "hoist version v1.2.3, commit 0123456789abcdef0123456789abcdef01234567, go1.26.8"},
		{"modified tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260101000000-0123456789ab+dirty"},
			Settings: settings("vcs.revision", "0123456789ab", "vcs.modified", "true")},
			true, "hoist version v0.0.0-20260101000000-0123456789ab+dirty, commit 0123456789ab (modified), go1.26.8"},
		{"plain build", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			true, "hoist version (devel), commit unknown, go1.26.8"},
		{"no module version", &debug.BuildInfo{GoVersion: "go1.26.8"}, true, "hoist version (devel), commit unknown, go1.26.8"},
		{"no build info", nil, false, "hoist version unknown (no build information)"},
	} {
		if got := versionLine(tt.bi, tt.ok); got != tt.want {
			t.Errorf("%s: versionLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestVersionCommand: `hoist version` and `hoist --version` print this
// binary's line, on stdout.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	want := versionLine(debug.ReadBuildInfo()) + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		stdout, stderr, err := runLocal(t, "", nil, args...)
		if err != nil || stdout != want || stderr != "" {
			t.Errorf("hoist %s: err %v, stdout %q (want %q), stderr %q", args[0], err, stdout, want, stderr)
		}
	}
	if _, _, err := runLocal(t, "", nil, "version", "extra"); exitCode(err) != 2 {
		t.Errorf("hoist version extra: err %v, want a usage error", err)
	}
}

// TestVersionOfABuild builds the binary from a git clone (not a worktree:
// the go command finds no repository behind a .git file) and checks that
// it reports the clone's commit, as a release build would.
func TestVersionOfABuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		t.Skip("not a git clone (a worktree, or no git): the go command stamps no commit")
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hoist")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/hoist")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), "commit "+strings.TrimSpace(string(head))) {
		t.Fatalf("hoist version = %q, %v; want commit %s", out, err, head)
	}
}
