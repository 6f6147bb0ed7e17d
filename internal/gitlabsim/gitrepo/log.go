package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Commit is a commit as GitLab's API describes it. Message is stored
// verbatim; Title is its first line.
type Commit struct {
	SHA            string
	ParentSHAs     []string
	Title          string
	Message        string
	AuthorName     string
	AuthorEmail    string
	AuthoredAt     time.Time
	CommitterName  string
	CommitterEmail string
	CommittedAt    time.Time
}

// commitFormat prints the fields parseCommits reads, NUL-separated; with -z
// each record is NUL-terminated too, and messages never contain NULs.
const commitFormat = "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"

const commitFields = 9

func parseCommits(out []byte) ([]Commit, error) {
	fields := strings.Split(string(out), "\x00")
	var commits []Commit
	for i := 0; i+commitFields <= len(fields); i += commitFields {
		f := fields[i : i+commitFields]
		authored, err := time.Parse(time.RFC3339, f[4])
		if err != nil {
			return nil, fmt.Errorf("parse author date of %s: %w", f[0], err)
		}
		committed, err := time.Parse(time.RFC3339, f[7])
		if err != nil {
			return nil, fmt.Errorf("parse committer date of %s: %w", f[0], err)
		}
		title, _, _ := strings.Cut(f[8], "\n")
		commits = append(commits, Commit{
			SHA:            f[0],
			ParentSHAs:     strings.Fields(f[1]),
			Title:          title,
			Message:        f[8],
			AuthorName:     f[2],
			AuthorEmail:    f[3],
			AuthoredAt:     authored,
			CommitterName:  f[5],
			CommitterEmail: f[6],
			CommittedAt:    committed,
		})
	}
	return commits, nil
}

// GetCommit reads the commit a SHA or ref names, or ErrRefNotFound.
func (r *Repo) GetCommit(ctx context.Context, ref string) (Commit, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return Commit{}, fmt.Errorf("get commit %q: %w", ref, ErrInvalid)
	}
	out, err := r.git(ctx, "log", "-1", "-z", commitFormat, "--end-of-options", ref+"^{commit}", "--")
	if err != nil {
		return Commit{}, r.refError(ctx, "get commit "+ref, err, ref)
	}
	commits, err := parseCommits(out)
	if err != nil {
		return Commit{}, err
	}
	if len(commits) != 1 {
		return Commit{}, fmt.Errorf("get commit %s: %w", ref, ErrRefNotFound)
	}
	return commits[0], nil
}

// refError explains a failed git call: when one of refs does not resolve the
// result is ErrRefNotFound, otherwise git's own error. It only runs on the
// failure path, so successful calls cost a single process.
func (r *Repo) refError(ctx context.Context, op string, gitErr error, refs ...string) error {
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if _, err := r.ResolveRef(ctx, ref); errors.Is(err, ErrRefNotFound) || errors.Is(err, ErrInvalid) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return fmt.Errorf("%s: %w", op, gitErr)
}

// Log lists the commits reachable from to but not from from (git's
// from..to), newest first; from == "" lists all ancestors of to.
func (r *Repo) Log(ctx context.Context, from, to string) ([]Commit, error) {
	return r.log(ctx, from, to)
}

func (r *Repo) log(ctx context.Context, from, to string, extra ...string) ([]Commit, error) {
	if to == "" || strings.HasPrefix(to, "-") || strings.HasPrefix(from, "-") {
		return nil, fmt.Errorf("log %q..%q: %w", from, to, ErrInvalid)
	}
	args := append([]string{"log", "-z", commitFormat}, extra...)
	args = append(args, "--end-of-options", to)
	if from != "" {
		args = append(args, "^"+from)
	}
	out, err := r.git(ctx, append(args, "--")...)
	if err != nil {
		return nil, r.refError(ctx, "log "+from+".."+to, err, from, to)
	}
	return parseCommits(out)
}

// CommitFileChanges lists the files a commit added, modified and removed
// compared with its first parent (everything is added for a root commit).
// Renames count as a removal plus an addition, as in GitLab's push events.
func (r *Repo) CommitFileChanges(ctx context.Context, sha string) (added, modified, removed []string, err error) {
	if sha == "" || strings.HasPrefix(sha, "-") {
		return nil, nil, nil, fmt.Errorf("file changes of %q: %w", sha, ErrInvalid)
	}
	out, err := r.git(ctx, "diff-tree", "-r", "-z", "--no-renames", "--name-status", "--root",
		"--no-commit-id", "--diff-merges=first-parent", "--end-of-options", sha+"^{commit}", "--")
	if err != nil {
		return nil, nil, nil, r.refError(ctx, "file changes of "+sha, err, sha)
	}
	recs := splitNul(out)
	for i := 0; i+1 < len(recs); i += 2 {
		status, path := recs[i], recs[i+1]
		switch status[0] {
		case 'A':
			added = append(added, path)
		case 'D':
			removed = append(removed, path)
		default: // M, T (type change)
			modified = append(modified, path)
		}
	}
	return added, modified, removed, nil
}

// ReadFile returns a file's content at a commit: ErrRefNotFound for an
// unknown commit, ErrFileNotFound for a path that is not a file there.
func (r *Repo) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	if err := checkPath(path); err != nil {
		return nil, fmt.Errorf("read file: %w", err)
	}
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("read file at %q: %w", ref, ErrInvalid)
	}
	out, err := r.git(ctx, "cat-file", "blob", ref+"^{commit}:"+path)
	if err != nil {
		if _, rerr := r.ResolveRef(ctx, ref); rerr != nil {
			return nil, fmt.Errorf("read %s at %s: %w", path, ref, rerr)
		}
		return nil, fmt.Errorf("read %s at %s: %w", path, ref, ErrFileNotFound)
	}
	return out, nil
}

// Files lists every file path of a commit's tree, sorted.
func (r *Repo) Files(ctx context.Context, ref string) ([]string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("list files at %q: %w", ref, ErrInvalid)
	}
	out, err := r.git(ctx, "ls-tree", "-r", "-z", "--name-only", "--full-tree", ref+"^{commit}")
	if err != nil {
		return nil, r.refError(ctx, "list files at "+ref, err, ref)
	}
	return splitNul(bytes.TrimSuffix(out, []byte{0})), nil
}
