package apptest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names the variable holding a hoist binary built from this
// checkout: scripts/test.sh builds it once for all the packages it tests.
// It must be readable by any user (runs re-exec it in their sandbox).
const EnvBinary = "HOIST_TEST_BINARY"

// Bounds on the program: starting includes opening and migrating the
// database; stopping, its graceful shutdown (bounded at 15s itself).
const (
	startTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

// built is the binary Binary built for this test process: package state,
// since the one build serves every test of the process.
var built struct {
	inMain    atomic.Bool // Main runs the tests, and removes dir after
	once      sync.Once
	dir, path string
	err       error
}

// Main runs a package's tests and then removes the binary Binary built,
// if it did: call it from the TestMain of a package whose tests call
// Binary or StartBinary, as os.Exit(apptest.Main(m)).
func Main(m *testing.M) int {
	built.inMain.Store(true)
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	return code
}

// Binary is the hoist program built from this checkout: $HOIST_TEST_BINARY
// when set, else built once per test process, whatever the number of tests
// asking, into a temporary folder that Main removes.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", EnvBinary, err)
		}
		return p
	}
	if !built.inMain.Load() {
		t.Fatal("apptest.Binary needs the package's TestMain to call apptest.Main, which removes the binary")
	}
	built.once.Do(func() { built.dir, built.path, built.err = build() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// build runs go build ./cmd/hoist into a new temporary folder.
func build() (dir, bin string, err error) {
	dir, err = os.MkdirTemp("", "hoist-test-bin-")
	if err != nil {
		return "", "", fmt.Errorf("build hoist: %w", err)
	}
	// Sandboxed runs re-exec the binary as an unprivileged user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, "", fmt.Errorf("build hoist: %w", err)
	}
	bin = filepath.Join(dir, "hoist")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/hoist")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, "", fmt.Errorf("go build ./cmd/hoist: %w\n%s", err, out)
	}
	return dir, bin, nil
}

// Command is what StartBinary runs.
type Command struct {
	// Args follow the program's name: "server", "--data-dir", dir, …
	Args []string
	// Env is added to the test's environment, in which
	// HOIST_ENCRYPTION_KEY is cleared (later entries win).
	Env []string
	// Dir is the working directory ("": the test's).
	Dir string
}

// Process is the hoist program serving for one test; its Client calls the
// API at the URL it printed.
type Process struct {
	*Client
	t              testing.TB
	name           string // the command: "server"
	cmd            *exec.Cmd
	stdout, stderr *Buffer
	exited         chan struct{} // closed when cmd.Wait returned
	stopOnce       sync.Once
}

// StartBinary runs Binary with c and waits (bounded) until it prints
// "Hoist server at <URL>"; the test fails if it exits first. It is stopped
// when the test ends, and the tail of its standard error logged if the
// test failed.
func StartBinary(t testing.TB, c Command) *Process {
	t.Helper()
	p := &Process{Client: NewClient(t, ""), t: t, name: c.Args[0], stdout: &Buffer{}, stderr: &Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), c.Args...)
	p.cmd.Dir = c.Dir
	p.cmd.Env = append(append(os.Environ(), "HOIST_ENCRYPTION_KEY="), c.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	// Runs' processes may hold the output pipes after the server is gone.
	p.cmd.WaitDelay = 10 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("hoist %s: standard error (tail):\n%s", p.name, tail(p.Stderr(), 6000))
		}
	})
	_, line, _ := strings.Cut(p.WaitOutput("Hoist server at "), "Hoist server at ")
	p.URL = strings.Fields(line)[0]
	return p
}

// WaitOutput waits (bounded) until a whole line of the standard output
// contains text and returns the output so far; the test fails if the
// program exits first.
func (p *Process) WaitOutput(text string) string {
	p.t.Helper()
	var out string
	Eventually(p.t, startTimeout, fmt.Sprintf("hoist %s to print %q", p.name, text), func() error {
		out = p.stdout.String()
		if _, after, ok := strings.Cut(out, text); ok && strings.Contains(after, "\n") {
			return nil
		}
		select {
		case <-p.exited:
			p.t.Fatalf("hoist exited (%v) before printing %q:\n%s\nstandard error (tail):\n%s",
				p.cmd.ProcessState, text, out, tail(p.Stderr(), 6000))
		default:
		}
		return fmt.Errorf("it printed:\n%s", out)
	})
	return out
}

// Stderr is what the program printed on its standard error (its log).
func (p *Process) Stderr() string { return p.stderr.String() }

// Pid is the program's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop interrupts the program as Ctrl-C (or a service manager) would and
// waits (bounded) until it has exited; past the bound it kills it and
// fails the test. Stopping an exited program does nothing.
func (p *Process) Stop() {
	p.t.Helper()
	p.stopOnce.Do(func() {
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			p.t.Errorf("interrupt hoist: %v", err)
		}
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			p.t.Errorf("hoist did not stop within %s of SIGINT:\n%s", stopTimeout, tail(p.Stderr(), 6000))
			p.kill()
		}
	})
}

// Signal sends sig to the program (SIGTERM, as a service manager stops it).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Exited waits at most timeout for the program to exit and returns how it
// ended; ok is false while it still runs.
func (p *Process) Exited(timeout time.Duration) (state *os.ProcessState, ok bool) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Kill ends the program at once (SIGKILL), as a crash would, and waits
// until it is gone.
func (p *Process) Kill() {
	p.t.Helper()
	p.stopOnce.Do(p.kill)
}

func (p *Process) kill() {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Errorf("kill hoist: %v", err)
	}
	<-p.exited
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
