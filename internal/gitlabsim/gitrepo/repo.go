package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zeroSHA is the all-zero object name git uses for "no object" (SHA-1
// repositories, which is all this package creates).
const zeroSHA = "0000000000000000000000000000000000000000"

// Repo is a bare Git repository on disk. It holds no open resources, so it
// needs no closing and is safe for concurrent use; concurrent writers to the
// same ref are detected with compare-and-swap ref updates (ErrStaleRef).
type Repo struct {
	dir string
	now func() time.Time
}

// Option configures a Repo.
type Option func(*Repo)

// WithClock sets the clock used for signatures whose When is zero.
func WithClock(now func() time.Time) Option {
	return func(r *Repo) { r.now = now }
}

// Init creates a bare repository at dir (parents included) whose HEAD points
// at defaultBranch. Running it on an existing repository is harmless.
func Init(ctx context.Context, dir, defaultBranch string, opts ...Option) (*Repo, error) {
	if err := checkRefName(defaultBranch); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	r := newRepo(abs, opts)
	if _, err := r.git(ctx, "init", "--bare", "--quiet", "--initial-branch="+defaultBranch); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	return r, nil
}

// Open returns the bare repository at dir, or ErrRepoNotFound.
func Open(dir string, opts ...Option) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if !isBareRepo(abs) {
		return nil, fmt.Errorf("open %s: %w", dir, ErrRepoNotFound)
	}
	return newRepo(abs, opts), nil
}

func newRepo(dir string, opts []Option) *Repo {
	r := &Repo{dir: dir, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// isBareRepo checks the layout without spawning git: HEAD, objects/ and refs/
// are what git itself requires of a repository directory.
func isBareRepo(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// Dir is the absolute path of the bare repository.
func (r *Repo) Dir() string { return r.dir }

// DefaultBranch is the branch HEAD points at (it may not exist yet).
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
	out, err := r.git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", fmt.Errorf("default branch: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// SetDefaultBranch points HEAD at the branch name.
func (r *Repo) SetDefaultBranch(ctx context.Context, name string) error {
	if err := checkRefName(name); err != nil {
		return fmt.Errorf("set default branch: %w", err)
	}
	if _, err := r.git(ctx, "symbolic-ref", "HEAD", "refs/heads/"+name); err != nil {
		return fmt.Errorf("set default branch %s: %w", name, err)
	}
	return nil
}

// ResolveRef turns a branch, tag, full ref or (abbreviated) SHA into the full
// SHA of the commit it names; annotated tags are peeled. Unknown names give
// ErrRefNotFound.
func (r *Repo) ResolveRef(ctx context.Context, ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("resolve %q: %w", ref, ErrInvalid)
	}
	out, err := r.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 || exitCode(err) == 128 {
			return "", fmt.Errorf("resolve %q: %w", ref, ErrRefNotFound)
		}
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// refValue reads a full ref name without peeling; ok is false when the ref
// does not exist.
func (r *Repo) refValue(ctx context.Context, ref string) (sha string, ok bool, err error) {
	out, err := r.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref)
	if err != nil {
		if exitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, fmt.Errorf("read %s: %w", ref, err)
	}
	return strings.TrimSpace(string(out)), true, nil
}

// updateRef moves ref from old to sha atomically; old may be zeroSHA (ref
// must not exist). A lost race is reported as ErrStaleRef.
func (r *Repo) updateRef(ctx context.Context, ref, sha, old string) error {
	if _, err := r.git(ctx, "update-ref", "--no-deref", ref, sha, old); err != nil {
		if strings.Contains(stderrOf(err), "cannot lock ref") {
			return fmt.Errorf("update %s: %w: %w", ref, ErrStaleRef, err)
		}
		return fmt.Errorf("update %s: %w", ref, err)
	}
	return nil
}

// SetRef points any ref under refs/ (e.g. refs/merge-requests/1/head) at the
// commit ref resolves to, creating or overwriting it.
func (r *Repo) SetRef(ctx context.Context, ref, target string) error {
	if !strings.HasPrefix(ref, "refs/") || checkRefName(strings.TrimPrefix(ref, "refs/")) != nil {
		return fmt.Errorf("set ref %q: %w", ref, ErrInvalid)
	}
	sha, err := r.ResolveRef(ctx, target)
	if err != nil {
		return fmt.Errorf("set ref %s: %w", ref, err)
	}
	if _, err := r.git(ctx, "update-ref", "--no-deref", ref, sha); err != nil {
		return fmt.Errorf("set ref %s: %w", ref, err)
	}
	return nil
}

// DeleteRef removes a full ref; a missing ref is ErrRefNotFound.
func (r *Repo) DeleteRef(ctx context.Context, ref string) error {
	return r.deleteRef(ctx, ref, ErrRefNotFound)
}

func (r *Repo) deleteRef(ctx context.Context, ref string, notFound error) error {
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("delete ref %q: %w", ref, ErrInvalid)
	}
	old, ok, err := r.refValue(ctx, ref)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("delete %s: %w", ref, notFound)
	}
	if _, err := r.git(ctx, "update-ref", "--no-deref", "-d", ref, old); err != nil {
		if strings.Contains(stderrOf(err), "cannot lock ref") {
			return fmt.Errorf("delete %s: %w: %w", ref, ErrStaleRef, err)
		}
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	return nil
}

// MergeBase is the best common ancestor of two commits. Unrelated histories
// give ErrRefNotFound wrapped with "no merge base".
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	shaA, err := r.ResolveRef(ctx, a)
	if err != nil {
		return "", fmt.Errorf("merge base: %w", err)
	}
	shaB, err := r.ResolveRef(ctx, b)
	if err != nil {
		return "", fmt.Errorf("merge base: %w", err)
	}
	out, err := r.git(ctx, "merge-base", shaA, shaB)
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("merge base of %s and %s: no merge base: %w", a, b, ErrRefNotFound)
		}
		return "", fmt.Errorf("merge base of %s and %s: %w", a, b, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// FetchFrom copies the commit other's srcRef names, with its history, into
// this repository as dstRef (a full ref such as
// refs/merge-requests/3/head), overwriting dstRef. srcRef may be a ref or a
// full SHA. It serves merge requests from forks.
func (r *Repo) FetchFrom(ctx context.Context, other *Repo, srcRef, dstRef string) error {
	if !strings.HasPrefix(dstRef, "refs/") || checkRefName(strings.TrimPrefix(dstRef, "refs/")) != nil {
		return fmt.Errorf("fetch into %q: %w", dstRef, ErrInvalid)
	}
	sha, err := other.ResolveRef(ctx, srcRef)
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", srcRef, other.dir, err)
	}
	_, err = r.run(ctx, invocation{
		// Fetching by SHA needs the serving side to allow it; the setting
		// reaches the local upload-pack through the environment.
		config: []string{"uploadpack.allowAnySHA1InWant=true"},
		args:   []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", other.dir, "+" + sha + ":" + dstRef},
	})
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", srcRef, other.dir, err)
	}
	return nil
}

// checkRefName applies git's ref name rules (git-check-ref-format) to a short
// name such as a branch or tag, without spawning git.
func checkRefName(name string) error {
	bad := func(why string) error { return fmt.Errorf("ref name %q %s: %w", name, why, ErrInvalid) }
	switch {
	case name == "" || name == "@":
		return bad("is empty or @")
	case strings.HasPrefix(name, "-"):
		return bad("starts with -")
	case strings.HasSuffix(name, "/") || strings.HasSuffix(name, "."):
		return bad("ends with / or .")
	case strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.Contains(name, "//"):
		return bad("contains .., @{ or //")
	case strings.ContainsAny(name, " ~^:?*[\\\x7f"):
		return bad("contains a forbidden character")
	}
	for _, c := range []byte(name) {
		if c < 0x20 {
			return bad("contains a control character")
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("has a component starting with . or ending with .lock")
		}
	}
	return nil
}

// splitNul splits NUL-separated output, dropping the empty tail.
func splitNul(out []byte) []string {
	out = bytes.TrimSuffix(out, []byte{0})
	if len(out) == 0 {
		return nil
	}
	return strings.Split(string(out), "\x00")
}
