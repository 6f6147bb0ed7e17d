// Package gitrepo is the Git layer of the GitLab simulator: bare
// repositories on disk, driven through the real git CLI (2.38 or newer) in a
// clean environment (no system or user configuration, fixed locale), so that
// results depend only on the arguments. Production code never imports it.
//
// A repository:
//
//	repo, err := gitrepo.Init(ctx, dir, "main")      // git init --bare, HEAD -> main
//	repo, err := gitrepo.Open(dir)                   // ErrRepoNotFound if not a repository
//
// Writing commits (GitLab's commit actions; a root commit when the
// repository has no branch yet, a new branch from StartSHA otherwise):
//
//	c, err := repo.Commit(ctx, gitrepo.CommitOptions{
//		Branch: "main", Message: "Add main.tf",
//		Author: gitrepo.Signature{Name: "Ada", Email: "ada@example.com", When: now},
//		Actions: []gitrepo.Action{{Kind: gitrepo.ActionCreate, Path: "main.tf", Content: body}},
//	})
//
// Commit builds the tree in a temporary index with a fixed number of git
// processes whatever the number of files, then moves the branch with a
// compare-and-swap. Merge writes a real two-parent merge commit computed by
// git merge-tree --write-tree. Reading: GetCommit, ResolveRef, Log (newest
// first), CommitFileChanges (added/modified/removed against the first
// parent, renames as removed+added, as in push events), Compare and Diffs
// (GitLab's compare semantics: commits oldest first, diffs from the merge
// base unless straight, renames detected), MergeBase, ReadFile, Files,
// Archive (tar.gz, tar, zip, tar.bz2). Refs: Branches, Branch, CreateBranch,
// DeleteBranch, Tags, Tag, CreateTag (annotated when a message is given),
// DeleteTag, SetRef and DeleteRef (e.g. refs/merge-requests/1/head),
// FetchFrom (copy a fork's commit into this repository), DefaultBranch.
//
// Errors wrap sentinels for errors.Is: ErrRepoNotFound, ErrInvalid,
// ErrRefNotFound, ErrBranchNotFound, ErrBranchExists, ErrTagNotFound,
// ErrTagExists, ErrFileExists, ErrFileNotFound, ErrStaleRef (a concurrent
// writer moved the ref; retry) and ErrMergeConflict (*MergeConflictError
// lists the paths). Other git failures are *GitError.
//
// SmartHTTPHandler and NewSmartHTTPHandler serve clone, fetch and
// (optionally) push over Git's smart HTTP protocol through git http-backend,
// with an AuthorizeFunc deciding access per repository path.
//
// Times: a Signature's When is written exactly, zone included; a zero When
// takes the time from the repository's clock (WithClock, default time.Now).
package gitrepo
