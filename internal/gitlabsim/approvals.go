package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// ErrSHAMismatch is returned when an approve or merge names a head SHA that
// is no longer the merge request's head.
var ErrSHAMismatch = fmt.Errorf("SHA does not match HEAD of source branch: %w", ErrConflict)

// ProjectSettings changes the merge settings of a project; nil fields stay.
type ProjectSettings struct {
	ApprovalsRequired                *int  `json:"approvals_required,omitempty"`
	OnlyAllowMergeIfPipelineSucceeds *bool `json:"only_allow_merge_if_pipeline_succeeds,omitempty"`
}

// SetProjectSettings changes how many approvals merge requests need and
// whether their pipeline must succeed.
func (s *Server) SetProjectSettings(ctx context.Context, project string, o ProjectSettings) (Project, error) {
	var out Project
	err := s.mutate(func(st *state) error {
		p, err := st.projectByRef(project)
		if err != nil {
			return err
		}
		if o.ApprovalsRequired != nil {
			if *o.ApprovalsRequired < 0 || *o.ApprovalsRequired > 100 {
				return fmt.Errorf("approvals_required %d: %w", *o.ApprovalsRequired, ErrInvalid)
			}
			p.ApprovalsRequired = *o.ApprovalsRequired
		}
		if o.OnlyAllowMergeIfPipelineSucceeds != nil {
			p.OnlyAllowMergeIfPipelineSucceeds = *o.OnlyAllowMergeIfPipelineSucceeds
		}
		out = *p
		return nil
	})
	return out, err
}

// approvalsLeft is how many more approvals the merge request needs.
func approvalsLeft(p Project, m MergeRequest) int {
	return max(p.ApprovalsRequired-len(m.ApprovedBy), 0)
}

// ApproveMergeRequest approves as userID (0 means root). As in GitLab, the
// author cannot approve (the default "prevent approval by author"),
// approvers need Developer access, a user approves once, and a non-empty
// sha must still be the head. It fires one Merge Request Hook: "approved"
// when this approval leaves none missing, else "approval".
func (s *Server) ApproveMergeRequest(ctx context.Context, project string, iid, userID int, sha string) (MergeRequest, error) {
	user, err := s.actor(userID)
	if err != nil {
		return MergeRequest{}, err
	}
	p, err := s.Project(project)
	if err != nil {
		return MergeRequest{}, err
	}
	mr, err := s.editMR(project, iid, func(m *MergeRequest) error {
		switch {
		case m.State != "opened":
			return fmt.Errorf("merge request !%d is %s: %w", iid, m.State, ErrInvalid)
		case m.AuthorID == user.ID:
			return fmt.Errorf("the author of !%d cannot approve it: %w", iid, ErrInvalid)
		case slices.Contains(m.ApprovedBy, user.ID):
			return fmt.Errorf("%s already approved !%d: %w", user.Username, iid, ErrConflict)
		case sha != "" && sha != m.HeadSHA:
			return fmt.Errorf("approve !%d at %s: %w", iid, sha, ErrSHAMismatch)
		case !user.Admin && s.st.accessLevel(&user, &p) < Developer:
			return fmt.Errorf("%s cannot approve in %s: %w", user.Username, p.PathWithNamespace, ErrInvalid)
		}
		m.ApprovedBy = append(m.ApprovedBy, user.ID)
		return nil
	}, nil)
	if err != nil {
		return MergeRequest{}, err
	}
	action := "approval"
	if approvalsLeft(p, mr) == 0 {
		action = "approved"
	}
	return mr, s.fireMR(ctx, mr, user, action, "", nil)
}

// UnapproveMergeRequest withdraws userID's approval. It fires "unapproved"
// when the merge request stops being approved, else "unapproval".
func (s *Server) UnapproveMergeRequest(ctx context.Context, project string, iid, userID int) (MergeRequest, error) {
	user, err := s.actor(userID)
	if err != nil {
		return MergeRequest{}, err
	}
	p, err := s.Project(project)
	if err != nil {
		return MergeRequest{}, err
	}
	var wasApproved bool
	mr, err := s.editMR(project, iid, func(m *MergeRequest) error {
		i := slices.Index(m.ApprovedBy, user.ID)
		if i < 0 {
			return fmt.Errorf("%s has not approved !%d: %w", user.Username, iid, ErrNotFound)
		}
		wasApproved = approvalsLeft(p, *m) == 0
		m.ApprovedBy = slices.Delete(slices.Clone(m.ApprovedBy), i, i+1)
		return nil
	}, nil)
	if err != nil {
		return MergeRequest{}, err
	}
	action := "unapproval"
	if wasApproved && approvalsLeft(p, mr) > 0 {
		action = "unapproved"
	}
	return mr, s.fireMR(ctx, mr, user, action, "", nil)
}

// DetailedMergeStatus computes what GitLab reports in
// detailed_merge_status, checking in this order: not_open, draft_status,
// conflict, ci_must_pass (the project requires a successful pipeline and
// the head's statuses on the source branch are not all success), and
// not_approved (approvals are missing). Otherwise mergeable. The simulator
// never answers checking, discussions_not_resolved, need_rebase or the
// other statuses: it has no discussions, rebase rules or async checks.
func (s *Server) DetailedMergeStatus(ctx context.Context, project string, iid int) (string, error) {
	p, repo, err := s.projectRepo(project)
	if err != nil {
		return "", err
	}
	m, err := s.MergeRequest(project, iid)
	if err != nil {
		return "", err
	}
	return s.detailedMergeStatus(ctx, p, repo, m)
}

func (s *Server) detailedMergeStatus(ctx context.Context, p Project, repo *gitrepo.Repo, m MergeRequest) (string, error) {
	switch {
	case m.State != "opened":
		return "not_open", nil
	case m.Draft:
		return "draft_status", nil
	}
	conflicts, err := repo.Conflicts(ctx, "refs/heads/"+m.TargetBranch, m.HeadSHA)
	if err != nil {
		return "", err
	}
	if len(conflicts) > 0 {
		return "conflict", nil
	}
	if p.OnlyAllowMergeIfPipelineSucceeds && !s.pipelineSucceeded(m) {
		return "ci_must_pass", nil
	}
	if approvalsLeft(p, m) > 0 {
		return "not_approved", nil
	}
	return "mergeable", nil
}

// pipelineSucceeded reports whether the merge request head's current
// statuses on its source branch exist and all succeeded (skipped counts as
// success, as in GitLab).
func (s *Server) pipelineSucceeded(m MergeRequest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := false
	for _, st := range s.st.Statuses {
		if st.ProjectID != m.SourceProjectID || st.SHA != m.HeadSHA || st.Ref != m.SourceBranch || st.Retried {
			continue
		}
		if st.State != "success" && st.State != "skipped" {
			return false
		}
		seen = true
	}
	return seen
}

// errNotMergeable marks a merge the REST API refuses with 405.
var errNotMergeable = errors.New("merge request is not mergeable")

// checkMergeable refuses merging what GitLab would refuse: anything but a
// mergeable or conflicting merge request.
func (s *Server) checkMergeable(ctx context.Context, p Project, repo *gitrepo.Repo, m MergeRequest, sha string) error {
	if sha != "" && sha != m.HeadSHA {
		return fmt.Errorf("merge !%d at %s: %w", m.IID, sha, ErrSHAMismatch)
	}
	status, err := s.detailedMergeStatus(ctx, p, repo, m)
	if err != nil {
		return err
	}
	if status != "mergeable" && status != "conflict" {
		return fmt.Errorf("merge !%d: %s: %w: %w", m.IID, status, errNotMergeable, ErrInvalid)
	}
	return nil
}
