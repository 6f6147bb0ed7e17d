package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.Dispatch() // this test binary is also the re-exec step
	os.Exit(apptest.Main(m))
}

// newSandbox probes this machine; a machine without Landlock fails the
// test with the reason, since Hoist refuses runs there.
func newSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	sb := sandbox.New(t.Context(), sandbox.Options{})
	if err := sb.Refusal(); err != nil {
		t.Fatalf("this machine cannot sandbox runs, so Hoist would refuse them: %v", err)
	}
	return sb
}

// runFolder is a folder the run's user can reach: every parent of a
// test's temp dir is made traversable (the run user is not root).
func runFolder(t testing.TB, sb *sandbox.Sandbox) string {
	t.Helper()
	dir := t.TempDir()
	for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if uid, gid, chown := sb.Owner(); chown {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exe is this test binary: the re-exec step, as the hoist binary is for
// a server.
func exe(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sh runs a shell script sandboxed in dir and returns its output.
func sh(t *testing.T, sb *sandbox.Sandbox, p sandbox.Policy, dir, script string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	if err := sb.Wrap(cmd, p); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestSandboxConfinesFiles(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	t.Log(sb)
	ws := runFolder(t, sb)
	secretDir := t.TempDir()
	secretFile := filepath.Join(secretDir, "admin-api-key")
	if err := os.WriteFile(secretFile, []byte("hoist_secret_canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(secretDir, "written-by-run")
	p := sandbox.Policy{Writable: []string{ws}}

	tests := []struct {
		name, script string
		wantOK       bool
		want         string // in the output
	}{
		{"writes its workspace", "echo ok > f && cat f", true, "ok"},
		{"runs system programs", "ls /usr/bin >/dev/null && echo listed", true, "listed"},
		{"lists no root folder", "ls /", false, "Permission denied"},
		{"reads no secret by absolute path", "cat " + secretFile, false, "Permission denied"},
		{"reads no secret through a symlink", "ln -s " + secretFile + " link && cat link", false, "Permission denied"},
		{"lists no foreign folder", "ls " + secretDir, false, "Permission denied"},
		{"writes nothing outside", "echo x > " + outside, false, "Permission denied"},
		{"reads no process environment", fmt.Sprintf("cat /proc/%d/environ", os.Getpid()), false, "Permission denied"},
		{"reads no /proc at all", "cat /proc/self/status", false, "Permission denied"},
		{"reads no /etc secrets", "cat /etc/shadow", false, ""},
		{"reads not the server's binary", "head -c 4 " + exe(t), false, ""},
		{"signals no outside process", fmt.Sprintf("kill -0 %d", os.Getpid()), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := sh(t, sb, p, ws, tt.script)
			if (err == nil) != tt.wantOK || !strings.Contains(out, tt.want) {
				t.Fatalf("%s: err %v, output %q; want ok=%v and %q", tt.script, err, out, tt.wantOK, tt.want)
			}
			if strings.Contains(out, "hoist_secret_canary") {
				t.Fatalf("the secret leaked: %q", out)
			}
		})
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file was written outside the workspace: %v", err)
	}
}

func TestSandboxIdentityAndNamespaces(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	ws := runFolder(t, sb)
	out, err := sh(t, sb, sandbox.Policy{Writable: []string{ws}}, ws, "id -u; echo pid $$")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if os.Geteuid() == 0 && !strings.HasPrefix(out, fmt.Sprint(sandbox.RunUID)+"\n") {
		t.Fatalf("the server is root, the run must not be: %q", out)
	}
	if strings.Contains(sb.String(), "PID namespace") && !strings.Contains(out, "pid 1\n") {
		t.Fatalf("with a PID namespace the program is its first process: %q", out)
	}
}

func TestSandboxHidesDataDir(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	if !strings.Contains(sb.String(), "mount") {
		t.Skip("no mount namespace on this machine: hidden paths are checked, not covered (TestCheckHidden)")
	}
	ws := runFolder(t, sb)
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "encryption-key"), []byte("canary"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	// The data dir's parent readable by policy, to show the cover works
	// on its own, without Landlock's refusal.
	out, err := sh(t, sb, sandbox.Policy{Writable: []string{ws}, Readable: []string{parent}, Hidden: []string{data}}, ws,
		"ls -A "+parent+"; ls -A "+data+"; cat "+data+"/encryption-key")
	if err == nil || strings.Contains(out, "canary") || strings.Contains(out, "encryption-key\n") {
		t.Fatalf("the data dir is visible: %v %q", err, out)
	}
}

func TestSandboxExitStatusAndStop(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	ws := runFolder(t, sb)
	out, err := sh(t, sb, sandbox.Policy{Writable: []string{ws}}, ws, "exit 7")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("exit status: %v %q", err, out)
	}

	// A stop signals the process group: the program and its children end.
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "sleep 60 & sleep 60; wait")
	cmd.Dir = ws
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := sb.Wrap(cmd, sandbox.Policy{Writable: []string{ws}}); err != nil {
		t.Fatal(err)
	}
	if !cmd.SysProcAttr.Setpgid {
		t.Fatal("Wrap dropped the process group")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	_ = cmd.Wait()
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the sandboxed program took %v to stop", d)
	}
	if err := syscall.Kill(-cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("processes of the group outlived the stop: %v", err)
	}
}

func TestRefusedWithoutSandbox(t *testing.T) {
	t.Parallel()
	reason := "simulated: no Landlock"
	sb := sandbox.New(t.Context(), sandbox.Options{SimulateUnavailable: reason})
	err := sb.Refusal()
	if err == nil || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), sandbox.UnsafeFlag) ||
		!strings.Contains(err.Error(), "docs/security.md") {
		t.Fatalf("refusal: %v", err)
	}
	cmd := exec.Command("/bin/true")
	if err := sb.Wrap(cmd, sandbox.Policy{Writable: []string{t.TempDir()}}); err == nil || err.Error() != sb.Refusal().Error() {
		t.Fatalf("Wrap on a refused machine: %v", err)
	}

	unsafe := sandbox.New(t.Context(), sandbox.Options{SimulateUnavailable: reason, AllowUnsandboxed: true})
	if unsafe.Refusal() != nil || unsafe.Sandboxed() || !strings.Contains(unsafe.String(), "NOT SANDBOXED") {
		t.Fatalf("opted out: refusal %v, sandboxed %v, %q", unsafe.Refusal(), unsafe.Sandboxed(), unsafe)
	}
	cmd = exec.Command("/bin/true")
	if err := unsafe.Wrap(cmd, sandbox.Policy{Writable: []string{t.TempDir()}}); err != nil || cmd.Path != "/bin/true" {
		t.Fatalf("opted out, the program runs as it is: %v %s", err, cmd.Path)
	}
}

func TestWrapRefusesRunFoldersInsideHidden(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	data := t.TempDir()
	cmd := exec.Command("/bin/true")
	err := sb.Wrap(cmd, sandbox.Policy{Writable: []string{filepath.Join(data, "runs", "r1")}, Hidden: []string{data}})
	if err == nil || !strings.Contains(err.Error(), "--work-dir") {
		t.Fatalf("a workspace inside the data dir: %v", err)
	}
}

func TestMainUsage(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := sandbox.Main([]string{"{}"}, &stderr); code != 125 || !strings.Contains(stderr.String(), "usage") {
		t.Fatalf("code %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := sandbox.Main([]string{"{not json", "--", "/bin/true"}, &stderr); code != 125 || !strings.Contains(stderr.String(), "bad spec") {
		t.Fatalf("code %d: %s", code, stderr.String())
	}
}

// BenchmarkDirect and BenchmarkSandboxed measure the cost of the re-exec
// step: a run starts four programs (init, plan, show, apply), each paying
// the difference once.
func BenchmarkDirect(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		cmd := exec.Command("/bin/true")
		cmd.Dir = dir
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSandboxed(b *testing.B) {
	benchSandboxed(b, newSandbox(b))
}

// benchSandboxed starts /bin/true through sb, as a run starts OpenTofu.
func benchSandboxed(b *testing.B, sb *sandbox.Sandbox) {
	ws := runFolder(b, sb)
	p := sandbox.Policy{Writable: []string{ws}, Hidden: []string{b.TempDir()}}
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command("/bin/true")
		cmd.Dir = ws
		if err := sb.Wrap(cmd, p); err != nil {
			b.Fatal(err)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkSandboxedHoistBinary is BenchmarkSandboxed with the real hoist
// binary as the re-exec step (bigger than this test binary), as servers
// run it.
func BenchmarkSandboxedHoistBinary(b *testing.B) {
	exe := apptest.Binary(b) // in a folder the run's unprivileged user can read
	sb := sandbox.New(b.Context(), sandbox.Options{Exe: exe})
	if err := sb.Refusal(); err != nil {
		b.Fatal(err)
	}
	benchSandboxed(b, sb)
}
