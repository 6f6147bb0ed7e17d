package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// FileAction is one file change of a commit, as in GitLab's commits API.
type FileAction struct {
	Action       string `json:"action"` // create, update, delete, move
	Path         string `json:"file_path"`
	PreviousPath string `json:"previous_path,omitempty"` // move
	Content      string `json:"content,omitempty"`       // create, update; move keeps content when empty
}

// CommitSpec is one commit of a push.
type CommitSpec struct {
	Message string       `json:"message"`
	Actions []FileAction `json:"actions"`
}

// PushOptions pushes commits to a branch, creating it (from StartBranch,
// default the project's default branch) when missing. One push webhook
// fires for the whole push, and open merge requests whose source is the
// branch get an update with oldrev.
type PushOptions struct {
	Project     string       `json:"project"`
	Branch      string       `json:"branch"`
	StartBranch string       `json:"start_branch,omitempty"`
	UserID      int          `json:"user_id,omitempty"` // pusher and author; 0 means root
	Commits     []CommitSpec `json:"commits"`
}

// PushResult is a branch update: Before is "" for a new branch; Commits are
// the new SHAs, oldest first.
type PushResult struct {
	Before  string   `json:"before"`
	After   string   `json:"after"`
	Commits []string `json:"commits"`
}

// Push creates the commits and fires the webhooks.
func (s *Server) Push(ctx context.Context, o PushOptions) (PushResult, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	p, repo, err := s.projectRepo(o.Project)
	if err != nil {
		return PushResult{}, err
	}
	pusher, err := s.actor(o.UserID)
	if err != nil {
		return PushResult{}, err
	}
	before, start, err := s.branchStart(ctx, p, repo, o.Branch, o.StartBranch)
	if err != nil {
		return PushResult{}, err
	}
	res := PushResult{Before: before, After: before}
	for i, c := range o.Commits {
		actions := make([]gitrepo.Action, 0, len(c.Actions))
		for _, a := range c.Actions {
			ga := gitrepo.Action{Kind: a.Action, Path: a.Path, PreviousPath: a.PreviousPath}
			if a.Content != "" || a.Action != "move" {
				ga.Content = []byte(a.Content)
			}
			actions = append(actions, ga)
		}
		opts := gitrepo.CommitOptions{Branch: o.Branch, Message: c.Message, Actions: actions,
			Author: gitrepo.Signature{Name: pusher.Name, Email: pusher.Email, When: s.now()}}
		if i == 0 && before == "" {
			opts.StartSHA = start
		}
		commit, err := repo.Commit(ctx, opts)
		if err != nil {
			return res, fmt.Errorf("push to %s %s: %w", p.PathWithNamespace, o.Branch, mapGitErr(err))
		}
		res.After = commit.SHA
		res.Commits = append(res.Commits, commit.SHA)
	}
	if len(o.Commits) == 0 && before == "" {
		if start == "" {
			return res, fmt.Errorf("create branch %s: nothing to branch from: %w", o.Branch, ErrInvalid)
		}
		b, err := repo.CreateBranch(ctx, o.Branch, start)
		if err != nil {
			return res, fmt.Errorf("create branch %s: %w", o.Branch, mapGitErr(err))
		}
		res.After = b.SHA
	}
	if res.After == res.Before {
		return res, nil
	}
	return res, s.refUpdated(ctx, p, repo, pusher, "refs/heads/"+o.Branch, res.Before, res.After)
}

// branchStart returns the branch head (before, "" when missing) and, for a
// missing branch, the SHA to start it from ("" in an empty repository).
func (s *Server) branchStart(ctx context.Context, p Project, repo *gitrepo.Repo, branch, startBranch string) (before, start string, err error) {
	b, err := repo.Branch(ctx, branch)
	if err == nil {
		return b.SHA, "", nil
	}
	if !errors.Is(err, gitrepo.ErrBranchNotFound) {
		return "", "", fmt.Errorf("branch %s: %w", branch, mapGitErr(err))
	}
	if startBranch == "" {
		startBranch = p.DefaultBranch
	}
	start, err = repo.ResolveRef(ctx, startBranch)
	if err != nil {
		if o := startBranch; o != p.DefaultBranch {
			return "", "", fmt.Errorf("start branch %s: %w", o, mapGitErr(err))
		}
		start = "" // empty repository: a root commit
	}
	return "", start, nil
}

// CreateBranch creates a branch at ref (a branch, tag or SHA).
func (s *Server) CreateBranch(ctx context.Context, project, branch, ref string, userID int) (string, error) {
	res, err := s.Push(ctx, PushOptions{Project: project, Branch: branch, StartBranch: ref, UserID: userID})
	if err == nil && res.Before != "" {
		return "", fmt.Errorf("branch %s: %w", branch, ErrConflict)
	}
	return res.After, err
}

// DeleteBranch deletes a branch and fires the push webhook with an all-zero
// after.
func (s *Server) DeleteBranch(ctx context.Context, project, branch string, userID int) error {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	p, repo, err := s.projectRepo(project)
	if err != nil {
		return err
	}
	pusher, err := s.actor(userID)
	if err != nil {
		return err
	}
	b, err := repo.Branch(ctx, branch)
	if err != nil {
		return fmt.Errorf("delete branch %s: %w", branch, mapGitErr(err))
	}
	if err := repo.DeleteBranch(ctx, branch); err != nil {
		return fmt.Errorf("delete branch %s: %w", branch, mapGitErr(err))
	}
	return s.refUpdated(ctx, p, repo, pusher, "refs/heads/"+branch, b.SHA, "")
}

// TagOptions creates a tag; a Message makes it annotated.
type TagOptions struct {
	Project string `json:"project"`
	Tag     string `json:"tag"`
	Ref     string `json:"ref"`
	Message string `json:"message,omitempty"`
	UserID  int    `json:"user_id,omitempty"`
}

// CreateTag creates a tag and fires the tag push webhook.
func (s *Server) CreateTag(ctx context.Context, o TagOptions) (string, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	p, repo, err := s.projectRepo(o.Project)
	if err != nil {
		return "", err
	}
	pusher, err := s.actor(o.UserID)
	if err != nil {
		return "", err
	}
	if o.Ref == "" {
		o.Ref = p.DefaultBranch
	}
	tag, err := repo.CreateTag(ctx, o.Tag, o.Ref, o.Message, gitrepo.Signature{Name: pusher.Name, Email: pusher.Email, When: s.now()})
	if err != nil {
		return "", fmt.Errorf("create tag %s: %w", o.Tag, mapGitErr(err))
	}
	return tag.SHA, s.refUpdated(ctx, p, repo, pusher, "refs/tags/"+o.Tag, "", tag.TargetSHA)
}

// DeleteTag deletes a tag and fires the tag push webhook with an all-zero
// after.
func (s *Server) DeleteTag(ctx context.Context, project, tag string, userID int) error {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	p, repo, err := s.projectRepo(project)
	if err != nil {
		return err
	}
	pusher, err := s.actor(userID)
	if err != nil {
		return err
	}
	t, err := repo.Tag(ctx, tag)
	if err != nil {
		return fmt.Errorf("delete tag %s: %w", tag, mapGitErr(err))
	}
	if err := repo.DeleteTag(ctx, tag); err != nil {
		return fmt.Errorf("delete tag %s: %w", tag, mapGitErr(err))
	}
	return s.refUpdated(ctx, p, repo, pusher, "refs/tags/"+tag, t.TargetSHA, "")
}

// refUpdated fires the push or tag push webhook for one ref update and,
// for a branch, refreshes the merge requests it is the source of. Callers
// hold gitMu.
func (s *Server) refUpdated(ctx context.Context, p Project, repo *gitrepo.Repo, pusher User, ref, before, after string) error {
	push := hooks.Push{Project: s.hookProject(p), User: hookUser(pusher), Ref: ref, Before: before, After: after}
	branch, isBranch := strings.CutPrefix(ref, "refs/heads/")
	var commits []gitrepo.Commit
	var err error
	switch {
	case after == "":
	case !isBranch:
		c, err := repo.GetCommit(ctx, after)
		if err != nil {
			return fmt.Errorf("tag push: %w", err)
		}
		push.CheckoutSHA = c.SHA
		if t, err := repo.Tag(ctx, strings.TrimPrefix(ref, "refs/tags/")); err == nil {
			push.Message = t.Message
		}
		commits = []gitrepo.Commit{c}
	case before != "":
		commits, err = repo.Log(ctx, before, after)
	case branch == p.DefaultBranch:
		commits, err = repo.Log(ctx, "", after)
	default:
		from := ""
		if def, derr := repo.ResolveRef(ctx, "refs/heads/"+p.DefaultBranch); derr == nil {
			from = def
		}
		commits, err = repo.Log(ctx, from, after)
	}
	if err != nil {
		return fmt.Errorf("push commits of %s: %w", ref, err)
	}
	slices.Reverse(commits) // Log is newest first; the payload wants oldest first
	if push.Commits, err = s.hookCommits(ctx, p, repo, commits); err != nil {
		return err
	}
	body, err := hooks.PushPayload(push)
	if err != nil {
		return fmt.Errorf("push payload: %w", err)
	}
	s.touchProject(p.ID)
	s.fire(p.ID, push.Event(), branch, body)
	if isBranch && after != "" {
		return s.sourceBranchMoved(ctx, p, branch, after, pusher)
	}
	return nil
}

// hookCommits converts commits (oldest first) for a payload. Only the
// newest 20 are listed by GitLab, so only those get their file lists.
func (s *Server) hookCommits(ctx context.Context, p Project, repo *gitrepo.Repo, commits []gitrepo.Commit) ([]hooks.Commit, error) {
	out := make([]hooks.Commit, 0, len(commits))
	for i, c := range commits {
		hc := s.hookCommit(p, c)
		if i >= len(commits)-20 {
			var err error
			hc.Added, hc.Modified, hc.Removed, err = repo.CommitFileChanges(ctx, c.SHA)
			if err != nil {
				return nil, fmt.Errorf("files of %s: %w", c.SHA, err)
			}
		}
		out = append(out, hc)
	}
	return out, nil
}

func (s *Server) hookCommit(p Project, c gitrepo.Commit) hooks.Commit {
	return hooks.Commit{ID: c.SHA, Message: c.Message, Title: c.Title, URL: s.webURL(p) + "/-/commit/" + c.SHA,
		Timestamp: c.AuthoredAt, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail}
}

func (s *Server) projectRepo(ref string) (Project, *gitrepo.Repo, error) {
	p, err := s.Project(ref)
	if err != nil {
		return Project{}, nil, err
	}
	repo, err := s.repo(p)
	return p, repo, err
}

func (s *Server) touchProject(id int) {
	_ = s.mutate(func(st *state) error {
		if p := st.projectByID(id); p != nil {
			p.LastActivityAt = s.now()
		}
		return nil
	})
}

// mapGitErr turns gitrepo's sentinels into the simulator's.
func mapGitErr(err error) error {
	switch {
	case errors.Is(err, gitrepo.ErrBranchNotFound), errors.Is(err, gitrepo.ErrRefNotFound),
		errors.Is(err, gitrepo.ErrTagNotFound), errors.Is(err, gitrepo.ErrFileNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, gitrepo.ErrBranchExists), errors.Is(err, gitrepo.ErrTagExists),
		errors.Is(err, gitrepo.ErrFileExists), errors.Is(err, gitrepo.ErrMergeConflict), errors.Is(err, gitrepo.ErrStaleRef):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, gitrepo.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
