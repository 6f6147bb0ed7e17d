package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// REST routes of the merge request workflow: approvals, merging, award
// emoji on notes, and the instance version.
func (s *Server) workflowRoutes(rt apiRoutes, proj string) {
	mr := proj + "/merge_requests/{iid}"
	rt.handle("GET", "/api/v4/version", s.getVersion)
	rt.handle("GET", mr+"/approvals", s.getApprovals)
	rt.handle("GET", mr+"/approval_state", s.getApprovalState)
	rt.handle("POST", mr+"/approve", s.approve)
	rt.handle("POST", mr+"/unapprove", s.unapprove)
	rt.handle("PUT", mr+"/merge", s.acceptMR)
	rt.handle("GET", mr+"/notes/{note_id}/award_emoji", s.listAwards)
	rt.handle("POST", mr+"/notes/{note_id}/award_emoji", s.createAward)
	rt.handle("GET", mr+"/notes/{note_id}/award_emoji/{award_id}", s.getAward)
	rt.handle("DELETE", mr+"/notes/{note_id}/award_emoji/{award_id}", s.deleteAward)
}

// getVersion is GET /version; like GitLab it needs a signed-in user.
func (s *Server) getVersion(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	return c.ok(http.StatusOK, obj{"version": Version, "revision": "gitlab-sim", "enterprise": false,
		"kas": obj{"enabled": false, "externalUrl": nil, "externalK8sProxyUrl": nil, "version": nil}})
}

// changesCount is GitLab's changes_count: the number of changed files as a
// string, "1000+" past GitLab's diff limit.
func (s *Server) changesCount(ctx context.Context, repo *gitrepo.Repo, m MergeRequest) (string, error) {
	diffs, err := mrDiffs(ctx, repo, m)
	if err != nil {
		return "", err
	}
	if len(diffs) > 1000 {
		return "1000+", nil
	}
	return fmt.Sprint(len(diffs)), nil
}

// mrDiffs are the merge request's changes from the merge base (from the
// merge commit's first parent once merged).
func mrDiffs(ctx context.Context, repo *gitrepo.Repo, m MergeRequest) ([]gitrepo.Diff, error) {
	from := "refs/heads/" + m.TargetBranch
	if m.State == "merged" && m.MergeCommitSHA != "" {
		from = m.MergeCommitSHA + "^1"
	}
	return repo.Diffs(ctx, from, m.HeadSHA, false)
}

// approvalsObj is GitLab's MergeRequestApprovals entity.
func (s *Server) approvalsObj(c *call, p Project, m MergeRequest) obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := make([]obj, 0, len(m.ApprovedBy))
	for _, id := range m.ApprovedBy {
		by = append(by, obj{"user": s.userBasic(s.st.userByID(id))})
	}
	left := approvalsLeft(p, m)
	mergeStatus := "can_be_merged"
	hasApproved := c.user != nil && containsInt(m.ApprovedBy, c.user.ID)
	canApprove := c.user != nil && !hasApproved && m.State == "opened" && m.AuthorID != c.user.ID &&
		(c.user.Admin || s.st.accessLevel(c.user, &p) >= Developer)
	return obj{"id": m.ID, "iid": m.IID, "project_id": m.ProjectID, "title": m.Title, "description": m.Description,
		"state": m.State, "created_at": apiTime(m.CreatedAt), "updated_at": apiTime(m.UpdatedAt),
		"merge_status": mergeStatus, "approved": left == 0, "approvals_required": p.ApprovalsRequired,
		"approvals_left": left, "require_password_to_approve": false, "approved_by": by,
		"suggested_approvers": []any{}, "approvers": []any{}, "approver_groups": []any{},
		"user_has_approved": hasApproved, "user_can_approve": canApprove, "approval_rules_left": []any{},
		"has_approval_rules": p.ApprovalsRequired > 0, "merge_request_approvers_available": true,
		"multiple_approval_rules_available": false, "invalid_approvers_rules": []any{}}
}

func (s *Server) getApprovals(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, s.approvalsObj(c, p, m))
}

// getApprovalState is GET …/approval_state: one "any approver" rule when
// the project requires approvals, none otherwise.
func (s *Server) getApprovalState(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	rules := []obj{}
	if p.ApprovalsRequired > 0 {
		s.mu.Lock()
		by := make([]obj, 0, len(m.ApprovedBy))
		for _, id := range m.ApprovedBy {
			by = append(by, s.userBasic(s.st.userByID(id)))
		}
		s.mu.Unlock()
		rules = append(rules, obj{"id": p.ID, "name": "All Members", "rule_type": "any_approver",
			"eligible_approvers": []any{}, "approvals_required": p.ApprovalsRequired, "users": []any{}, "groups": []any{},
			"contains_hidden_groups": false, "approved_by": by, "source_rule": nil,
			"approved": approvalsLeft(p, m) == 0, "overridden": false})
	}
	return c.ok(http.StatusOK, obj{"approval_rules_overwritten": false, "rules": rules})
}

// approve is POST …/approve. GitLab answers 401 to every "you cannot
// approve this" and 409 to a stale sha.
func (s *Server) approve(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	if err := c.requireUser(); err != nil {
		return err
	}
	sha, _ := c.param("sha")
	m, err = s.ApproveMergeRequest(c.r.Context(), fmt.Sprint(p.ID), m.IID, c.user.ID, sha)
	switch {
	case errors.Is(err, ErrSHAMismatch):
		return msgError(http.StatusConflict, "SHA does not match HEAD of source branch: "+sha)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict):
		return unauthorized()
	case err != nil:
		return err
	}
	return c.ok(http.StatusCreated, s.approvalsObj(c, p, m))
}

func (s *Server) unapprove(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	if err := c.requireUser(); err != nil {
		return err
	}
	m, err = s.UnapproveMergeRequest(c.r.Context(), fmt.Sprint(p.ID), m.IID, c.user.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound("")
	case err != nil:
		return err
	}
	return c.ok(http.StatusCreated, s.approvalsObj(c, p, m))
}

// acceptMR is PUT …/merge, with GitLab's documented answers: 401 without
// Developer access, 405 when the merge request is not open or not
// mergeable (draft, pipeline, approvals), 406 on conflicts, 409 on a stale
// sha. The Go API and control API merge without these checks.
func (s *Server) acceptMR(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	m, err := s.MergeRequest(fmt.Sprint(p.ID), c.pathInt("iid"))
	if err != nil {
		return notFound("Merge Request")
	}
	s.mu.Lock()
	level := c.level(&p)
	s.mu.Unlock()
	if c.user == nil || level < Developer {
		return unauthorized()
	}
	if m.State != "opened" {
		return msgError(http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
	sha, _ := c.param("sha")
	switch err := s.checkMergeable(c.r.Context(), p, repo, m, sha); {
	case errors.Is(err, ErrSHAMismatch):
		return msgError(http.StatusConflict, "SHA does not match HEAD of source branch: "+sha)
	case errors.Is(err, errNotMergeable):
		return msgError(http.StatusMethodNotAllowed, "405 Method Not Allowed")
	case err != nil:
		return err
	}
	m, err = s.MergeMergeRequest(c.r.Context(), fmt.Sprint(p.ID), m.IID, c.user.ID)
	if errors.Is(err, gitrepo.ErrMergeConflict) {
		return msgError(http.StatusNotAcceptable, "Branch cannot be merged")
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	o := s.mrObj(&p, &m, "not_open", true)
	s.mu.Unlock()
	return c.ok(http.StatusOK, o)
}

// emojiName is what the simulator accepts as an emoji name; GitLab checks
// against its emoji list, which the simulator does not carry.
var emojiName = regexp.MustCompile(`^[a-z0-9_+-]{1,64}$`)

func (s *Server) awardObj(a *AwardEmoji) obj {
	return obj{"id": a.ID, "name": a.Name, "user": s.userBasic(s.st.userByID(a.UserID)),
		"created_at": apiTime(a.CreatedAt), "updated_at": apiTime(a.CreatedAt),
		"awardable_id": a.NoteID, "awardable_type": "Note"}
}

// awardNote resolves :iid and :note_id for the award emoji routes.
func (c *call) awardNote() (Project, Note, error) {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return Project{}, Note{}, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n, err := c.note(p, m)
	if err != nil {
		return Project{}, Note{}, err
	}
	return p, *n, nil
}

func (s *Server) listAwards(c *call) error {
	_, n, err := c.awardNote()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*AwardEmoji
	for _, a := range s.st.AwardEmoji {
		if a.NoteID == n.ID {
			list = append(list, a)
		}
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, a := range page {
		out = append(out, s.awardObj(a))
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) createAward(c *call) error {
	p, n, err := c.awardNote()
	if err != nil {
		return err
	}
	if err := c.requireUser(); err != nil {
		return err
	}
	name, ok := c.param("name")
	if !ok {
		return paramError("name is missing")
	}
	if !emojiName.MatchString(name) {
		return validationError("name", "is not a valid emoji name")
	}
	var out obj
	err = s.mutate(func(st *state) error {
		for _, a := range st.AwardEmoji {
			if a.NoteID == n.ID && a.UserID == c.user.ID && a.Name == name {
				// GitLab renders the model error through not_found!.
				return notFound("Award Emoji Name has already been taken")
			}
		}
		a := &AwardEmoji{ID: st.nextID("award_emoji"), Name: name, UserID: c.user.ID, ProjectID: p.ID,
			MRIID: n.MRIID, NoteID: n.ID, CreatedAt: s.now()}
		st.AwardEmoji = append(st.AwardEmoji, a)
		out = s.awardObj(a)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusCreated, out)
}

// award resolves :award_id on the note (caller holds s.mu).
func (c *call) award(n Note) (*AwardEmoji, error) {
	id := c.pathInt("award_id")
	for _, a := range c.s.st.AwardEmoji {
		if a.ID == id && a.NoteID == n.ID {
			return a, nil
		}
	}
	return nil, notFound("Award Emoji")
}

func (s *Server) getAward(c *call) error {
	_, n, err := c.awardNote()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := c.award(n)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, s.awardObj(a))
}

// deleteAward removes a reaction; only its user (or an admin) may.
func (s *Server) deleteAward(c *call) error {
	_, n, err := c.awardNote()
	if err != nil {
		return err
	}
	if err := c.requireUser(); err != nil {
		return err
	}
	err = s.mutate(func(st *state) error {
		a, err := c.award(n)
		if err != nil {
			return err
		}
		if a.UserID != c.user.ID && !c.user.Admin {
			return forbidden()
		}
		st.AwardEmoji = deleteFirst(st.AwardEmoji, a)
		return nil
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func deleteFirst[T comparable](xs []T, x T) []T {
	for i, y := range xs {
		if y == x {
			return append(xs[:i], xs[i+1:]...)
		}
	}
	return xs
}

// AwardEmoji lists the reactions on a merge request note, oldest first.
func (s *Server) AwardEmoji(project string, noteID int) ([]AwardEmoji, error) {
	return collect(s, project, func(st *state, p *Project) []AwardEmoji {
		var out []AwardEmoji
		for _, a := range st.AwardEmoji {
			if a.ProjectID == p.ID && a.NoteID == noteID {
				out = append(out, *a)
			}
		}
		return out
	})
}
