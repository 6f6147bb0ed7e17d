// Package sandbox confines what a run executes — OpenTofu, its providers
// and every program they start — to the run's own folders, so that
// repository code can neither read the server's secrets nor write outside
// its workspace (docs/security.md).
//
// The server never restricts itself. To run a program, it starts its own
// binary again as the hidden command `hoist sandbox-exec` (Main) in new
// mount and IPC namespaces (and a user namespace when it is not root). That
// step covers the data dir with an empty file system, applies Landlock to
// itself, and starts the program in a new PID namespace, under an
// unprivileged user when the server is root. Landlock is inherited by
// every descendant and cannot be lifted.
//
// Landlock is required; namespaces are used where the kernel allows them.
// Where no sandbox can be set up, runs are refused (Sandbox.Refusal)
// unless the operator opts out with --unsafe-unsandboxed-runs.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Command is the hidden subcommand of the hoist binary that Main serves.
const Command = "sandbox-exec"

// The unprivileged identity runs take when the server runs as root
// (nobody/nogroup on most distributions).
const (
	RunUID = 65534
	RunGID = 65534
)

// childMarker is set in the environment of the re-exec step and removed
// before the program starts. A binary that receives it without serving
// Command (a test binary without the TestMain hook) must not start
// sandboxes of its own: New refuses, which ends the recursion at once.
const childMarker = "HOIST_SANDBOX_EXEC"

// MinLandlockABI is the oldest Landlock ABI Hoist accepts: ABI 3 (Linux
// 6.2) is the first that controls truncation, without which a run could
// empty any file the server's user can write (hoist.db among them).
const MinLandlockABI = 3

// UnsafeFlag is the opt-out named in every refusal.
const UnsafeFlag = "--unsafe-unsandboxed-runs"

// probeTimeout bounds the start-up probe: it starts two small processes.
const probeTimeout = 30 * time.Second

// Policy is what one run's programs may touch besides the system's
// read-only folders (systemReadable).
type Policy struct {
	// Writable folders: read, written and executed (the run's workspace,
	// home and temp folder).
	Writable []string
	// Readable files and folders: read and executed (the OpenTofu binary,
	// the files Hoist wrote for the run).
	Readable []string
	// Hidden paths are covered with an empty, read-only file system in the
	// sandbox's mount namespace (the data dir), a second wall behind
	// Landlock. Without a mount namespace, a hidden path inside a readable
	// one is refused (Wrap).
	Hidden []string
}

// Options configure New.
type Options struct {
	// Exe is the binary that serves Command (default: this program,
	// os.Executable).
	Exe string
	// AllowUnsandboxed is --unsafe-unsandboxed-runs: where no sandbox can
	// be set up, run programs directly instead of refusing.
	AllowUnsandboxed bool
	// ProbeProgram is what the start-up probe runs in a full sandbox
	// (default /bin/sh -c :); the worker passes tofu version.
	ProbeProgram []string
	// SimulateUnavailable, when set, makes setting up the sandbox fail with
	// this reason, as on a machine without Landlock (tests).
	SimulateUnavailable string
}

// Sandbox starts programs confined (or, opted out, not).
type Sandbox struct {
	exe      string
	mode     mode
	err      error // why programs cannot be sandboxed; nil when they can
	unsafe   bool  // err != nil and the operator opted out
	describe string
}

// mode is how the re-exec step confines: decided once by the probe.
type mode struct {
	ABI        int
	Namespaces bool // mount, IPC and PID namespaces (and user, when not root)
	UserNS     bool // a user namespace is needed (the server is not root)
	UID, GID   int  // the run's identity when the server is root; -1 otherwise
}

// UnavailableError says why runs cannot be sandboxed on this machine.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string {
	return "runs cannot be sandboxed on this machine: " + e.Reason
}

// New probes this machine once: Landlock's ABI, then a real start of the
// re-exec step with namespaces, and without them if that fails. The
// returned Sandbox is never nil; Refusal tells whether runs may execute.
func New(ctx context.Context, opts Options) *Sandbox {
	s := &Sandbox{exe: opts.Exe}
	if s.exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return s.unavailable(opts, fmt.Sprintf("cannot find the hoist binary to start the sandbox: %v", err))
		}
		s.exe = exe
	}
	if opts.SimulateUnavailable != "" {
		return s.unavailable(opts, opts.SimulateUnavailable)
	}
	if os.Getenv(childMarker) != "" {
		return s.unavailable(opts, "this program was started as "+Command+" but does not serve it")
	}
	abi, err := landlockABI()
	if err != nil {
		return s.unavailable(opts, err.Error())
	}
	if abi < MinLandlockABI {
		return s.unavailable(opts, fmt.Sprintf("the kernel offers Landlock ABI %d; Hoist needs ABI %d or later (Linux 6.2+)", abi, MinLandlockABI))
	}
	m := mode{ABI: abi, UID: -1, GID: -1, Namespaces: true, UserNS: os.Geteuid() != 0}
	if os.Geteuid() == 0 {
		m.UID, m.GID = RunUID, RunGID
	}
	prog := opts.ProbeProgram
	if len(prog) == 0 {
		prog = []string{"/bin/sh", "-c", ":"}
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	nsErr := s.probe(ctx, m, prog)
	if nsErr != nil {
		m.Namespaces, m.UserNS = false, false
		if err := s.probe(ctx, m, prog); err != nil {
			return s.unavailable(opts, fmt.Sprintf("starting a sandboxed program failed: %v", err))
		}
	}
	s.mode = m
	s.describe = m.String()
	if nsErr != nil {
		s.describe += fmt.Sprintf(" (namespaces unavailable: %v)", nsErr)
	}
	return s
}

func (s *Sandbox) unavailable(opts Options, reason string) *Sandbox {
	s.err = &UnavailableError{Reason: reason}
	s.unsafe = opts.AllowUnsandboxed
	if s.unsafe {
		s.describe = "NOT SANDBOXED (" + UnsafeFlag + "): " + reason
	} else {
		s.describe = "runs refused: " + reason
	}
	return s
}

// probe runs prog through the re-exec step in mode m, with a scratch
// folder as its workspace.
func (s *Sandbox) probe(ctx context.Context, m mode, prog []string) error {
	dir, err := os.MkdirTemp("", "hoist-sandbox-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if m.UID >= 0 {
		if err := os.Chown(dir, m.UID, m.GID); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, prog[0], prog[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir}
	if err := s.wrap(cmd, m, Policy{Writable: []string{dir}, Readable: []string{prog[0]}}); err != nil {
		return err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(lastLine(string(out))))
	}
	return nil
}

// Refusal is the error every run gets when it may not execute here: nil
// when runs are sandboxed, or when the operator opted out.
func (s *Sandbox) Refusal() error {
	if s.err == nil || s.unsafe {
		return nil
	}
	return fmt.Errorf("run refused: Hoist runs OpenTofu only inside a sandbox, and %w. "+
		"Runs need Linux with Landlock ABI %d or later; to run anyway, without protecting the server from repository code, "+
		"start the server (or hoist worker) with %s (see docs/security.md)", s.err, MinLandlockABI, UnsafeFlag)
}

// Sandboxed reports whether programs run confined.
func (s *Sandbox) Sandboxed() bool { return s.err == nil }

// String describes the sandbox for logs and run histories.
func (s *Sandbox) String() string { return s.describe }

func (m mode) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sandboxed: Landlock ABI %d", m.ABI)
	if m.Namespaces {
		if m.UserNS {
			b.WriteString("; user, mount, IPC and PID namespaces")
		} else {
			b.WriteString("; mount, IPC and PID namespaces")
		}
	}
	if m.UID >= 0 {
		fmt.Fprintf(&b, "; uid %d gid %d", m.UID, m.GID)
	}
	return b.String()
}

// Owner is the identity that must own a run's writable folders: the run
// user when the server is root (chown=true), else the server's own user.
func (s *Sandbox) Owner() (uid, gid int, chown bool) {
	if s.err != nil || s.mode.UID < 0 {
		return -1, -1, false
	}
	return s.mode.UID, s.mode.GID, true
}

// Wrap turns cmd, built to run a program directly, into the same program
// started through the re-exec step under p. Its process group settings
// are kept. On an opted-out machine it leaves cmd as it is; on a refused
// one it returns Refusal.
func (s *Sandbox) Wrap(cmd *exec.Cmd, p Policy) error {
	if s.err != nil {
		if s.unsafe {
			return nil
		}
		return s.Refusal()
	}
	return s.wrap(cmd, s.mode, p)
}

func (s *Sandbox) wrap(cmd *exec.Cmd, m mode, p Policy) error {
	sp := spec{Writable: clean(p.Writable), Readable: clean(p.Readable), UID: m.UID, GID: m.GID,
		PIDNS: m.Namespaces, UserNS: m.Namespaces && m.UserNS}
	if err := checkHidden(clean(p.Hidden), sp, m.Namespaces); err != nil {
		return err
	}
	if m.Namespaces {
		// The hoist binary holds no secret, but runs have no business
		// with it either: covered where a mount namespace allows, without
		// refusing runs where none does (it may live under /usr).
		sp.Hidden = append(clean(p.Hidden), s.exe)
	}
	arg, err := sp.encode()
	if err != nil {
		return err
	}
	prog := cmd.Path
	if !filepath.IsAbs(prog) {
		return fmt.Errorf("sandbox: program %q must be an absolute path", prog)
	}
	cmd.Args = append([]string{s.exe, Command, arg, "--", prog}, cmd.Args[1:]...)
	cmd.Path = s.exe
	cmd.Err = nil
	cmd.Env = append(withoutMarker(cmd.Env), childMarker+"=1")
	attr := cmd.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	if m.Namespaces {
		setNamespaces(attr, m.UserNS)
	}
	cmd.SysProcAttr = attr
	return nil
}

// checkHidden refuses a policy whose run folders lie inside a hidden path
// (covering it would hide them too) and, where no mount namespace can
// cover a hidden path, one that would let the run read it.
func checkHidden(hidden []string, sp spec, canCover bool) error {
	own := append(append([]string{}, sp.Writable...), sp.Readable...)
	for _, h := range hidden {
		for _, p := range own {
			if Within(h, p) {
				return fmt.Errorf("sandbox: the run's %s is inside %s, which runs must not see; keep run folders (--work-dir) and OpenTofu outside it", p, h)
			}
		}
		if canCover {
			continue
		}
		for _, r := range append(append([]string{}, systemDirs...), own...) {
			if Within(r, h) {
				return fmt.Errorf("sandbox: %s would be readable by runs through %s, and this machine offers no mount namespace to hide it; move it", h, r)
			}
		}
	}
	return nil
}

// Within reports whether p is dir or inside it (as text: resolve links
// first, RealPaths).
func Within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// RealPaths returns paths absolute and with their links resolved (a path
// that does not exist yet stays as given), without the empty ones: what
// Policy.Hidden wants, computed once by the caller rather than at every
// program start.
func RealPaths(paths ...string) []string {
	out := clean(paths)
	for i, p := range out {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			out[i] = real
		}
	}
	return out
}

func clean(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		out = append(out, filepath.Clean(p))
	}
	return out
}

func withoutMarker(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, childMarker+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ErrNotServed is returned by Dispatch's caller path when the binary is
// asked for Command but cannot serve it on this OS.
var ErrNotServed = errors.New(Command + " is only available on Linux")
