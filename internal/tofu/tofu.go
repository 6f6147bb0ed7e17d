// Package tofu runs the OpenTofu command line for one run: init, plan to a
// saved plan file, show -json of that plan for the counts and the resource
// list, and apply of the saved plan. Output goes line by line to a sink (the
// worker masks secrets there); cancelling the context kills the whole process
// group, so providers started by tofu do not outlive a stopped run.
package tofu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Binary is the program name looked up on PATH.
const Binary = "tofu"

// killGrace is how long tofu may take to stop after SIGTERM before the whole
// process group is killed.
const killGrace = 5 * time.Second

// ErrNotFound is returned by Find when no usable binary exists.
var ErrNotFound = errors.New("tofu not found")

// Find resolves the binary: the explicit path when given (the --tofu-path
// flag), else "tofu" on the PATH of getenv. The result is absolute: tofu
// runs in another working directory, and the sandbox starts only absolute
// programs.
func Find(path string, getenv func(string) string) (string, error) {
	if path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("%w on PATH or at --tofu-path %q: %v", ErrNotFound, path, err)
		}
		return filepath.Abs(path)
	}
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, Binary)
		if executable(p) == nil {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%w on PATH or at --tofu-path (install OpenTofu or pass --tofu-path)", ErrNotFound)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode().Perm()&0o111 == 0:
		return errors.New("is not executable")
	}
	return nil
}

// LineFunc receives one line of output, without its newline. Calls are
// serialised.
type LineFunc func(line string)

// Runner runs tofu commands in a working directory with a fixed
// environment.
type Runner struct {
	Path string   // the binary, from Find
	Env  []string // the complete environment of the process (see Env)
	// WrapFunc turns each command into its sandboxed form
	// (sandbox.Sandbox.Wrap with the run's policy); an error stops the
	// command before it starts. nil runs tofu as it is.
	WrapFunc func(*exec.Cmd) error
}

// EnvConfig is what Env builds a process environment from.
type EnvConfig struct {
	// Path is the PATH tofu sees (providers and local-exec find programs
	// there).
	Path string
	// Home is HOME for tofu: a folder of the run, never the server's.
	Home string
	// TmpDir is TMPDIR: a folder of the run (default Home).
	TmpDir string
	// CLIConfigFile is the CLI configuration tofu reads (CLIConfig).
	CLIConfigFile string
	// Vars are the stack's variables and the run's own (NAME=value), added
	// last so that they win over nothing but each other.
	Vars []string
}

// Env returns a clean environment: nothing of the server's own environment
// (which may hold HOIST_ENCRYPTION_KEY or database passwords) leaks into a
// run except PATH.
func Env(c EnvConfig) []string {
	if c.TmpDir == "" {
		c.TmpDir = c.Home
	}
	env := []string{
		"PATH=" + c.Path,
		"HOME=" + c.Home,
		"TMPDIR=" + c.TmpDir,
		"TF_CLI_CONFIG_FILE=" + c.CLIConfigFile,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
	}
	return append(env, c.Vars...)
}

// CLIConfig is the CLI configuration of a run: empty. An explicit file
// keeps tofu from reading ~/.terraformrc or a TF_CLI_CONFIG_FILE of the
// host that may not exist.
const CLIConfig = "# Written by Hoist for one run.\n"

// Init runs `tofu init`.
func (r Runner) Init(ctx context.Context, dir string, sink LineFunc) error {
	return r.run(ctx, dir, sink, "init", "-input=false", "-no-color")
}

// PlanOptions tune a plan.
type PlanOptions struct {
	// NoLock plans without taking the state lock: proposed runs only read
	// the state and must not wait for (or block) a tracked run.
	NoLock bool
}

// Plan runs `tofu plan` into the saved plan file planFile (relative to dir
// or absolute).
func (r Runner) Plan(ctx context.Context, dir, planFile string, opts PlanOptions, sink LineFunc) error {
	args := []string{"plan", "-input=false", "-no-color", "-out=" + planFile}
	if opts.NoLock {
		args = append(args, "-lock=false")
	}
	return r.run(ctx, dir, sink, args...)
}

// Apply runs `tofu apply` of the saved plan file: exactly what was planned.
func (r Runner) Apply(ctx context.Context, dir, planFile string, sink LineFunc) error {
	return r.run(ctx, dir, sink, "apply", "-input=false", "-no-color", planFile)
}

// Exec runs tofu with args (a task's command, issue 21), its output to
// sink like a plan's.
func (r Runner) Exec(ctx context.Context, dir string, sink LineFunc, args ...string) error {
	if len(args) == 0 {
		return fmt.Errorf("tofu: no command")
	}
	return r.run(ctx, dir, sink, args...)
}

// Show runs `tofu show -json` of the saved plan and summarises it.
func (r Runner) Show(ctx context.Context, dir, planFile string) (Plan, error) {
	stdout := &limitedBuffer{max: MaxShowBytes, Buffer: &bytes.Buffer{}}
	var stderr bytes.Buffer
	cmd, err := r.command(ctx, dir, "show", "-json", "-no-color", planFile)
	if err != nil {
		return Plan{}, err
	}
	cmd.Stdout, cmd.Stderr = stdout, &limitedBuffer{max: 64 << 10, Buffer: &stderr}
	if err := runCommand(ctx, cmd); err != nil {
		return Plan{}, fmt.Errorf("tofu show: %w: %s", err, lastLines(stderr.String(), 5))
	}
	if stdout.over {
		return Plan{}, fmt.Errorf("tofu show: the plan's JSON is larger than %d MiB", MaxShowBytes>>20)
	}
	p, err := ParsePlan(stdout.Bytes())
	p.JSON = stdout.Bytes()
	return p, err
}

// run runs tofu with args, sending stdout and stderr to sink line by line.
// A failure is an *Error holding tofu's error messages.
func (r Runner) run(ctx context.Context, dir string, sink LineFunc, args ...string) error {
	cmd, err := r.command(ctx, dir, args...)
	if err != nil {
		return fmt.Errorf("tofu %s: %w", args[0], err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	var diag diagnostics
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			diag.line(sc.Text())
			if sink != nil {
				sink(sc.Text())
			}
		}
		// A line over 1 MiB stops the scan; drain so tofu never blocks.
		_, _ = io.Copy(io.Discard, pr)
	}()
	err = runCommand(ctx, cmd)
	_ = pw.Close()
	<-done
	if err != nil {
		return &Error{Command: args[0], Err: err, Diagnostics: diag.text()}
	}
	return nil
}

func (r Runner) command(ctx context.Context, dir string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, r.Path, args...)
	cmd.Dir = dir
	cmd.Env = r.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // never inherit the server's environment
	}
	setProcessGroup(cmd)
	cmd.WaitDelay = killGrace
	if r.WrapFunc != nil {
		if err := r.WrapFunc(cmd); err != nil {
			return nil, err
		}
	}
	return cmd, nil
}

// Version runs `tofu version -json` (Terraform answers the same) and
// returns the version the binary reports: 1.10.6.
func (r Runner) Version(ctx context.Context, dir string) (string, error) {
	stdout := &limitedBuffer{max: 64 << 10, Buffer: &bytes.Buffer{}}
	var stderr bytes.Buffer
	cmd, err := r.command(ctx, dir, "version", "-json")
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = stdout, &limitedBuffer{max: 64 << 10, Buffer: &stderr}
	if err := runCommand(ctx, cmd); err != nil {
		return "", fmt.Errorf("%s version: %w: %s", r.Path, err, lastLines(stderr.String(), 5))
	}
	var out struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Version == "" {
		return "", fmt.Errorf("%s version -json: no version in its answer %.200q", r.Path, stdout.String())
	}
	return out.Version, nil
}

// MaxShowBytes bounds the JSON of one plan that Hoist reads.
const MaxShowBytes = 256 << 20

// limitedBuffer keeps the first max bytes written and drops the rest, so
// that a program's output cannot grow the server's memory without bound.
type limitedBuffer struct {
	*bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Buffer == nil {
		b.Buffer = &bytes.Buffer{}
	}
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// runCommand starts cmd, waits, and makes sure no process of its group is
// left behind whatever happened.
func runCommand(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w on PATH or at --tofu-path %q", ErrNotFound, cmd.Path)
		}
		return err
	}
	err := cmd.Wait()
	killGroup(cmd)
	if ctxErr := context.Cause(ctx); ctxErr != nil && err != nil {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
