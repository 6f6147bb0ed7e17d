package gitrepo

import (
	"context"
	"fmt"
	"strings"
)

// MergeConflictError lists the paths that conflict; errors.Is matches it
// against ErrMergeConflict.
type MergeConflictError struct {
	Paths []string
}

func (e *MergeConflictError) Error() string {
	return "merge conflict in " + strings.Join(e.Paths, ", ")
}

// Is makes errors.Is(err, ErrMergeConflict) true.
func (e *MergeConflictError) Is(target error) bool { return target == ErrMergeConflict }

// Merge records a merge commit of source (a SHA or ref) into targetBranch
// with the target head as first parent, as GitLab's "merge commit" method
// does, and moves the branch to it. The merge runs on trees only (git
// merge-tree --write-tree), so no worktree is needed. Conflicts give a
// *MergeConflictError; a moved branch gives ErrStaleRef.
func (r *Repo) Merge(ctx context.Context, targetBranch, source, message string, author Signature) (Commit, error) {
	target, err := r.Branch(ctx, targetBranch)
	if err != nil {
		return Commit{}, fmt.Errorf("merge into %s: %w", targetBranch, err)
	}
	src, err := r.ResolveRef(ctx, source)
	if err != nil {
		return Commit{}, fmt.Errorf("merge %s: %w", source, err)
	}
	if strings.TrimSpace(message) == "" {
		return Commit{}, fmt.Errorf("merge: empty message: %w", ErrInvalid)
	}
	env, err := r.commitEnv(author, nil)
	if err != nil {
		return Commit{}, fmt.Errorf("merge: %w", err)
	}
	out, err := r.git(ctx, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", target.SHA, src)
	fields := splitNul(out)
	if err != nil {
		// Both sides resolved, so exit status 1 can only mean conflicts.
		if exitCode(err) == 1 && len(fields) > 0 {
			return Commit{}, fmt.Errorf("merge %s into %s: %w", source, targetBranch, conflictError(fields[1:]))
		}
		return Commit{}, fmt.Errorf("merge %s into %s: %w", source, targetBranch, err)
	}
	if len(fields) == 0 {
		return Commit{}, fmt.Errorf("merge %s into %s: merge-tree printed no tree", source, targetBranch)
	}
	sha, err := r.commitTree(ctx, fields[0], []string{target.SHA, src}, message, env)
	if err != nil {
		return Commit{}, fmt.Errorf("merge %s into %s: %w", source, targetBranch, err)
	}
	if err := r.updateRef(ctx, "refs/heads/"+targetBranch, sha, target.SHA); err != nil {
		return Commit{}, fmt.Errorf("merge %s into %s: %w", source, targetBranch, err)
	}
	return r.GetCommit(ctx, sha)
}

func conflictError(paths []string) *MergeConflictError {
	seen := make(map[string]bool)
	e := &MergeConflictError{}
	for _, p := range paths {
		if p != "" && !seen[p] {
			seen[p] = true
			e.Paths = append(e.Paths, p)
		}
	}
	return e
}

// Conflicts lists the paths that conflict when merging source into target
// (SHAs or refs), nil when the merge is clean. It writes objects, never a
// ref, so the answer can be computed on every read of a merge request.
func (r *Repo) Conflicts(ctx context.Context, target, source string) ([]string, error) {
	out, err := r.git(ctx, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", target, source)
	if err == nil {
		return nil, nil
	}
	if fields := splitNul(out); exitCode(err) == 1 && len(fields) > 0 {
		return conflictError(fields[1:]).Paths, nil
	}
	return nil, fmt.Errorf("conflicts of %s into %s: %w", source, target, err)
}
