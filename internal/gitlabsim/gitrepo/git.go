package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is; the returned errors wrap
// them with the offending name or path.
var (
	ErrRepoNotFound   = errors.New("repository not found")
	ErrInvalid        = errors.New("invalid argument")
	ErrRefNotFound    = errors.New("ref not found")
	ErrBranchNotFound = errors.New("branch not found")
	ErrBranchExists   = errors.New("branch already exists")
	ErrTagNotFound    = errors.New("tag not found")
	ErrTagExists      = errors.New("tag already exists")
	ErrFileExists     = errors.New("file already exists")
	ErrFileNotFound   = errors.New("file not found")
	// ErrStaleRef means a ref moved between reading it and updating it: another
	// writer won the race. Retrying the whole operation is safe.
	ErrStaleRef = errors.New("ref changed concurrently")
	// ErrMergeConflict is matched by *MergeConflictError.
	ErrMergeConflict = errors.New("merge conflict")
)

// GitError is a failed git invocation. Its message carries git's stderr,
// which never holds secrets here: no credentials are ever passed to git.
type GitError struct {
	Args     []string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *GitError) Error() string {
	sub := ""
	if len(e.Args) > 0 {
		sub = e.Args[0]
	}
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: exit %d: %s", sub, e.ExitCode, msg)
}

func (e *GitError) Unwrap() error { return e.Err }

// baseConfig applies to every git process. gc must not detach into the
// background, where it would race with callers removing the repository (for
// instance t.TempDir cleanup); paths are printed unquoted.
var baseConfig = [...]string{"gc.autoDetach=false", "core.quotePath=false"}

// gitEnv is the environment of every git process: nothing from the user's or
// the system's configuration leaks in, so results do not depend on the
// machine. config holds extra "key=value" settings; they reach child git
// processes too, as they travel in the environment.
func gitEnv(config []string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.DevNull,
		"XDG_CONFIG_HOME=" + os.DevNull,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_NO_REPLACE_OBJECTS=1",
	}
	all := append(baseConfig[:len(baseConfig):len(baseConfig)], config...)
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(all)))
	for i, kv := range all {
		k, v, _ := strings.Cut(kv, "=")
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+k, "GIT_CONFIG_VALUE_"+n+"="+v)
	}
	return append(env, extra...)
}

// invocation describes one git process run against a repository.
type invocation struct {
	args   []string
	config []string // extra "key=value" settings, see gitEnv
	stdin  io.Reader
	stdout io.Writer // nil: collect into the returned buffer
	env    []string
}

// run executes git with --git-dir set to the repository and returns stdout.
func (r *Repo) run(ctx context.Context, inv invocation) ([]byte, error) {
	args := append([]string{"--git-dir", r.dir}, inv.args...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = gitEnv(inv.config, inv.env...)
	cmd.Dir = r.dir
	cmd.Stdin = inv.stdin
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	if inv.stdout != nil {
		cmd.Stdout = inv.stdout
	}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("git %s: %w", inv.args[0], ctxErr)
		}
		code := -1
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		}
		return out.Bytes(), &GitError{Args: inv.args, ExitCode: code, Stderr: stderr.String(), Err: err}
	}
	return out.Bytes(), nil
}

// git is run for the common case: arguments only, stdout returned.
func (r *Repo) git(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, invocation{args: args})
}

// limitedBuffer keeps the first max bytes written to it so a chatty git
// cannot grow memory without bound; the rest is dropped.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

// exitCode returns git's exit status from err, or -1 when err is not a
// GitError.
func exitCode(err error) int {
	var ge *GitError
	if errors.As(err, &ge) {
		return ge.ExitCode
	}
	return -1
}

func stderrOf(err error) string {
	var ge *GitError
	if errors.As(err, &ge) {
		return ge.Stderr
	}
	return ""
}
