package gitlabsim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// MROptions opens a merge request in Project (the target). SourceProject,
// when set, is a fork of it holding SourceBranch.
type MROptions struct {
	Project       string `json:"project"`
	SourceProject string `json:"source_project,omitempty"`
	SourceBranch  string `json:"source_branch"`
	TargetBranch  string `json:"target_branch,omitempty"` // default: the default branch
	Title         string `json:"title"`
	Description   string `json:"description,omitempty"`
	Draft         bool   `json:"draft,omitempty"`
	UserID        int    `json:"user_id,omitempty"` // author; 0 means root
}

// CreateMergeRequest opens a merge request and fires its "open" webhook.
func (s *Server) CreateMergeRequest(ctx context.Context, o MROptions) (MergeRequest, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	target, targetRepo, err := s.projectRepo(o.Project)
	if err != nil {
		return MergeRequest{}, err
	}
	source, sourceRepo := target, targetRepo
	if o.SourceProject != "" {
		if source, sourceRepo, err = s.projectRepo(o.SourceProject); err != nil {
			return MergeRequest{}, err
		}
	}
	author, err := s.actor(o.UserID)
	if err != nil {
		return MergeRequest{}, err
	}
	if o.TargetBranch == "" {
		o.TargetBranch = target.DefaultBranch
	}
	if _, err := targetRepo.Branch(ctx, o.TargetBranch); err != nil {
		return MergeRequest{}, fmt.Errorf("target branch %s: %w", o.TargetBranch, mapGitErr(err))
	}
	head, err := sourceRepo.Branch(ctx, o.SourceBranch)
	if err != nil {
		return MergeRequest{}, fmt.Errorf("source branch %s: %w", o.SourceBranch, mapGitErr(err))
	}
	if strings.TrimSpace(o.Title) == "" {
		return MergeRequest{}, fmt.Errorf("merge request title: %w", ErrInvalid)
	}
	draft := o.Draft || isDraftTitle(o.Title)
	title := o.Title
	if draft && !isDraftTitle(title) {
		title = "Draft: " + title
	}
	var mr MergeRequest
	err = s.mutate(func(st *state) error {
		for _, m := range st.MergeRequests {
			if m.ProjectID == target.ID && m.SourceProjectID == source.ID && m.SourceBranch == o.SourceBranch &&
				m.TargetBranch == o.TargetBranch && m.State == "opened" {
				return fmt.Errorf("merge request for %s already open (!%d): %w", o.SourceBranch, m.IID, ErrConflict)
			}
		}
		now := s.now()
		mr = MergeRequest{ID: st.nextID("merge_request"), IID: st.nextID(fmt.Sprintf("mr_iid/%d", target.ID)),
			ProjectID: target.ID, SourceProjectID: source.ID, SourceBranch: o.SourceBranch, TargetBranch: o.TargetBranch,
			Title: title, Description: o.Description, State: "opened", Draft: draft, AuthorID: author.ID,
			HeadSHA: head.SHA, CreatedAt: now, UpdatedAt: now}
		st.MergeRequests = append(st.MergeRequests, &mr)
		return nil
	})
	if err != nil {
		return MergeRequest{}, err
	}
	if err := targetRepo.FetchFrom(ctx, sourceRepo, head.SHA, mrHeadRef(mr.IID)); err != nil {
		return mr, fmt.Errorf("merge request head: %w", err)
	}
	return mr, s.fireMR(ctx, mr, author, "open", "", nil)
}

func isDraftTitle(t string) bool {
	lt := strings.ToLower(strings.TrimSpace(t))
	return strings.HasPrefix(lt, "draft:") || strings.HasPrefix(lt, "[draft]") || strings.HasPrefix(lt, "(draft)")
}

func mrHeadRef(iid int) string { return fmt.Sprintf("refs/merge-requests/%d/head", iid) }

// MRUpdate changes a merge request's attributes; nil fields stay.
type MRUpdate struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Draft       *bool   `json:"draft,omitempty"`
	UserID      int     `json:"user_id,omitempty"`
}

// UpdateMergeRequest edits attributes and fires an "update" webhook without
// oldrev (no code changed). Push to the source branch for an update with
// oldrev.
func (s *Server) UpdateMergeRequest(ctx context.Context, project string, iid int, u MRUpdate) (MergeRequest, error) {
	user, err := s.actor(u.UserID)
	if err != nil {
		return MergeRequest{}, err
	}
	changes := map[string]hooks.Change{}
	mr, err := s.editMR(project, iid, func(m *MergeRequest) error {
		if u.Draft != nil && *u.Draft != m.Draft {
			changes["draft"] = hooks.Change{Previous: m.Draft, Current: *u.Draft}
			m.Draft = *u.Draft
			if m.Draft && !isDraftTitle(m.Title) {
				m.Title = "Draft: " + m.Title
			} else if !m.Draft {
				m.Title = stripDraft(m.Title)
			}
		}
		if u.Title != nil {
			m.Title = *u.Title
			if m.Draft && !isDraftTitle(m.Title) {
				m.Title = "Draft: " + m.Title
			}
		}
		if u.Description != nil && *u.Description != m.Description {
			changes["description"] = hooks.Change{Previous: m.Description, Current: *u.Description}
			m.Description = *u.Description
		}
		return nil
	}, func(old, m MergeRequest) {
		if old.Title != m.Title {
			changes["title"] = hooks.Change{Previous: old.Title, Current: m.Title}
		}
		if len(changes) > 0 {
			changes["updated_at"] = hooks.Change{Previous: old.UpdatedAt, Current: m.UpdatedAt}
		}
	})
	if err != nil {
		return MergeRequest{}, err
	}
	return mr, s.fireMR(ctx, mr, user, "update", "", changes)
}

func stripDraft(t string) string {
	t = strings.TrimSpace(t)
	for _, p := range []string{"draft:", "[draft]", "(draft)"} {
		if strings.HasPrefix(strings.ToLower(t), p) {
			return strings.TrimSpace(t[len(p):])
		}
	}
	return t
}

// CloseMergeRequest closes an open merge request ("close" webhook).
func (s *Server) CloseMergeRequest(ctx context.Context, project string, iid, userID int) (MergeRequest, error) {
	return s.setMRState(ctx, project, iid, userID, "opened", "closed", "close")
}

// ReopenMergeRequest reopens a closed merge request ("reopen" webhook).
func (s *Server) ReopenMergeRequest(ctx context.Context, project string, iid, userID int) (MergeRequest, error) {
	return s.setMRState(ctx, project, iid, userID, "closed", "opened", "reopen")
}

func (s *Server) setMRState(ctx context.Context, project string, iid, userID int, from, to, action string) (MergeRequest, error) {
	user, err := s.actor(userID)
	if err != nil {
		return MergeRequest{}, err
	}
	changes := map[string]hooks.Change{}
	mr, err := s.editMR(project, iid, func(m *MergeRequest) error {
		if m.State != from {
			return fmt.Errorf("merge request !%d is %s, not %s: %w", iid, m.State, from, ErrInvalid)
		}
		m.State = to
		if to == "closed" {
			now := s.now()
			m.ClosedAt, m.ClosedByID = &now, user.ID
		} else {
			m.ClosedAt, m.ClosedByID = nil, 0
		}
		changes["state_id"] = hooks.Change{Previous: stateID(from), Current: stateID(to)}
		return nil
	}, nil)
	if err != nil {
		return MergeRequest{}, err
	}
	return mr, s.fireMR(ctx, mr, user, action, "", changes)
}

func stateID(state string) int {
	switch state {
	case "closed":
		return 2
	case "merged":
		return 3
	case "locked":
		return 4
	}
	return 1
}

// MergeMergeRequest merges with a merge commit, fires the push webhook of
// the target branch and the "merge" webhook.
func (s *Server) MergeMergeRequest(ctx context.Context, project string, iid, userID int) (MergeRequest, error) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	user, err := s.actor(userID)
	if err != nil {
		return MergeRequest{}, err
	}
	p, repo, err := s.projectRepo(project)
	if err != nil {
		return MergeRequest{}, err
	}
	mr, err := s.MergeRequest(project, iid)
	if err != nil {
		return MergeRequest{}, err
	}
	if mr.State != "opened" {
		return MergeRequest{}, fmt.Errorf("merge request !%d is %s: %w", iid, mr.State, ErrInvalid)
	}
	before, err := repo.Branch(ctx, mr.TargetBranch)
	if err != nil {
		return MergeRequest{}, fmt.Errorf("target branch %s: %w", mr.TargetBranch, mapGitErr(err))
	}
	msg := fmt.Sprintf("Merge branch '%s' into '%s'\n\n%s\n\nSee merge request %s!%d", mr.SourceBranch, mr.TargetBranch, stripDraft(mr.Title), p.PathWithNamespace, mr.IID)
	merge, err := repo.Merge(ctx, mr.TargetBranch, mrHeadRef(iid), msg, gitrepo.Signature{Name: user.Name, Email: user.Email, When: s.now()})
	if err != nil {
		return MergeRequest{}, fmt.Errorf("merge !%d: %w", iid, mapGitErr(err))
	}
	changes := map[string]hooks.Change{"state_id": {Previous: 1, Current: 3}}
	mr, err = s.editMR(project, iid, func(m *MergeRequest) error {
		now := s.now()
		m.State, m.MergedAt, m.MergedByID, m.MergeCommitSHA = "merged", &now, user.ID, merge.SHA
		return nil
	}, nil)
	if err != nil {
		return MergeRequest{}, err
	}
	if err := s.refUpdated(ctx, p, repo, user, "refs/heads/"+mr.TargetBranch, before.SHA, merge.SHA); err != nil {
		return mr, err
	}
	return mr, s.fireMR(ctx, mr, user, "merge", "", changes)
}

// sourceBranchMoved updates open merge requests whose source branch just
// moved and fires their "update" webhook with oldrev, as GitLab does after
// a push. Callers hold gitMu.
func (s *Server) sourceBranchMoved(ctx context.Context, source Project, branch, after string, pusher User) error {
	s.mu.Lock()
	var mrs []MergeRequest
	for _, m := range s.st.MergeRequests {
		if m.SourceProjectID == source.ID && m.SourceBranch == branch && m.State == "opened" && m.HeadSHA != after {
			mrs = append(mrs, *m)
		}
	}
	s.mu.Unlock()
	sourceRepo, err := s.repo(source)
	if err != nil {
		return err
	}
	for _, m := range mrs {
		target, targetRepo, err := s.projectRepo(fmt.Sprint(m.ProjectID))
		if err != nil {
			return err
		}
		if err := targetRepo.FetchFrom(ctx, sourceRepo, after, mrHeadRef(m.IID)); err != nil {
			return fmt.Errorf("merge request !%d head: %w", m.IID, err)
		}
		oldrev := m.HeadSHA
		updated, err := s.editMR(target.PathWithNamespace, m.IID, func(mm *MergeRequest) error {
			mm.HeadSHA = after
			return nil
		}, nil)
		if err != nil {
			return err
		}
		if err := s.fireMR(ctx, updated, pusher, "update", oldrev, nil); err != nil {
			return err
		}
	}
	return nil
}

// editMR applies fn to a merge request under the state lock, bumps
// updated_at and persists; after sees the old and new values.
func (s *Server) editMR(project string, iid int, fn func(*MergeRequest) error, after func(old, m MergeRequest)) (MergeRequest, error) {
	var out MergeRequest
	err := s.mutate(func(st *state) error {
		m, err := st.mergeRequest(project, iid)
		if err != nil {
			return err
		}
		old := *m
		if err := fn(m); err != nil {
			return err
		}
		m.UpdatedAt = s.now()
		if after != nil {
			after(old, *m)
		}
		out = *m
		return nil
	})
	return out, err
}

// MergeRequest returns a merge request by project and IID.
func (s *Server) MergeRequest(project string, iid int) (MergeRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.st.mergeRequest(project, iid)
	if err != nil {
		return MergeRequest{}, err
	}
	return *m, nil
}

func (st *state) mergeRequest(project string, iid int) (*MergeRequest, error) {
	p, err := st.projectByRef(project)
	if err != nil {
		return nil, err
	}
	for _, m := range st.MergeRequests {
		if m.ProjectID == p.ID && m.IID == iid {
			return m, nil
		}
	}
	return nil, fmt.Errorf("merge request !%d of %s: %w", iid, p.PathWithNamespace, ErrNotFound)
}

// fireMR builds and queues a Merge Request Hook for the target project.
func (s *Server) fireMR(ctx context.Context, mr MergeRequest, user User, action, oldrev string, changes map[string]hooks.Change) error {
	hmr, err := s.hookMR(ctx, mr)
	if err != nil {
		return err
	}
	hmr.Action, hmr.OldRev, hmr.Changes = action, oldrev, changes
	body, err := hooks.MergeRequestPayload(hookUser(user), hmr)
	if err != nil {
		return fmt.Errorf("merge request payload: %w", err)
	}
	s.fire(mr.ProjectID, hooks.EventMergeRequest, "", body)
	return nil
}

// hookMR converts a merge request for payloads (action left empty).
func (s *Server) hookMR(ctx context.Context, mr MergeRequest) (hooks.MergeRequest, error) {
	target, repo, err := s.projectRepo(fmt.Sprint(mr.ProjectID))
	if err != nil {
		return hooks.MergeRequest{}, err
	}
	source, err := s.Project(fmt.Sprint(mr.SourceProjectID))
	if err != nil {
		return hooks.MergeRequest{}, err
	}
	author, err := s.User(mr.AuthorID)
	if err != nil {
		return hooks.MergeRequest{}, err
	}
	last, err := repo.GetCommit(ctx, mr.HeadSHA)
	if err != nil {
		return hooks.MergeRequest{}, fmt.Errorf("merge request !%d head: %w", mr.IID, err)
	}
	return hooks.MergeRequest{ID: mr.ID, IID: mr.IID, Title: mr.Title, Description: mr.Description, State: mr.State,
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, SourceProject: s.hookProject(source),
		TargetProject: s.hookProject(target), Author: hookUser(author), LastCommit: s.hookCommit(target, last),
		Draft: mr.Draft, MergeCommitSHA: mr.MergeCommitSHA, MergeUserID: mr.MergedByID, DetailedMergeStatus: s.hookMergeStatus(ctx, target, repo, mr),
		CreatedAt: mr.CreatedAt, UpdatedAt: mr.UpdatedAt, URL: s.mrURL(target, mr.IID)}, nil
}

// hookMergeStatus is the detailed_merge_status a payload carries; "" (the
// payload's own default) when it cannot be computed.
func (s *Server) hookMergeStatus(ctx context.Context, p Project, repo *gitrepo.Repo, mr MergeRequest) string {
	status, err := s.detailedMergeStatus(ctx, p, repo, mr)
	if err != nil {
		s.log.Warn("merge request hook: merge status", "iid", mr.IID, "error", err)
		return ""
	}
	return status
}

func (s *Server) mrURL(p Project, iid int) string {
	return fmt.Sprintf("%s/-/merge_requests/%d", s.webURL(p), iid)
}

// timePtr returns a pointer to a copy of t.
func timePtr(t time.Time) *time.Time { return &t }
