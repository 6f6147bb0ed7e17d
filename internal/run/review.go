package run

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Approval policies (issue 17) hold a tracked run whose plan has changes in
// PENDING_REVIEW until they approve it (it goes on to UNCONFIRMED, or with
// autodeploy to CONFIRMED, for a worker to apply) or reject it (FAILED).
// They are evaluated when the plan is reported, on every review, and when
// GitLab says a merge request's approvals changed.

// Decision is what a review says.
type Decision string

// The decisions of a review.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// MaxReviewNote bounds a review's note, in bytes.
const MaxReviewNote = 4000

// Review is one user's approval or rejection of a run in PENDING_REVIEW.
type Review struct {
	ID       int64
	RunID    string
	Reviewer string // the principal
	// Role is the reviewer's effective Hoist role on the stack's space when
	// reviewing ("write" or "admin").
	Role     space.Role
	Decision Decision
	Note     string
	At       time.Time
}

// ReviewStore keeps reviews (sqlstore implements it).
type ReviewStore interface {
	AddReview(ctx context.Context, r Review) (Review, error)
	ListReviews(ctx context.Context, runID string) ([]Review, error)
}

// ApprovalOutcome is what the approval policies of a run say together.
type ApprovalOutcome string

// The outcomes: no approval policy applies; every one approves; any
// rejects (or fails: fail closed); otherwise the run waits.
const (
	ApprovalNone     ApprovalOutcome = "none"
	ApprovalApproved ApprovalOutcome = "approved"
	ApprovalRejected ApprovalOutcome = "rejected"
	ApprovalPending  ApprovalOutcome = "pending"
)

// ApprovalVerdict is the outcome and why (policy id: message).
type ApprovalVerdict struct {
	Outcome  ApprovalOutcome
	Messages []string
}

// ApprovalChecker evaluates the approval policies of a run's stack
// (internal/policy implements it). Its error is a storage failure; a
// policy that fails is a rejection.
type ApprovalChecker interface {
	CheckApproval(ctx context.Context, r Run, st stack.Stack, reviews []Review) (ApprovalVerdict, error)
}

// ReviewInput is a user's review.
type ReviewInput struct {
	Decision Decision
	Note     string
}

// AddReview records principal's review of a run in PENDING_REVIEW (writers
// of its stack's space only) and evaluates the approval policies again.
func (s *Service) AddReview(ctx context.Context, principal, id string, in ReviewInput) (Review, View, error) {
	r, _, _, err := s.load(ctx, principal, id)
	if err != nil {
		return Review{}, View{}, err
	}
	st, a, err := s.stackFor(ctx, principal, r.StackID, space.Write)
	if err != nil {
		return Review{}, View{}, err
	}
	if in.Decision != Approve && in.Decision != Reject {
		return Review{}, View{}, apperr.InvalidField("decision", `must be "approve" or "reject"`)
	}
	if len(in.Note) > MaxReviewNote || !utf8.ValidString(in.Note) {
		return Review{}, View{}, apperr.InvalidField("note", "must be valid UTF-8 of at most %d bytes", MaxReviewNote)
	}
	if strings.ContainsFunc(in.Note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		// It is shown in terminals and pages: no escape sequences.
		return Review{}, View{}, apperr.InvalidField("note", "must not contain control characters")
	}
	if s.cfg.Approvals == nil || s.cfg.Reviews == nil {
		return Review{}, View{}, apperr.Errorf(apperr.Conflict, "runs are not reviewed on this server: it has no approval policies")
	}
	if r.State != PendingReview {
		return Review{}, View{}, apperr.Errorf(apperr.Conflict,
			"the run is %s: only a run in PENDING_REVIEW (held by approval policies) can be reviewed", r.State)
	}
	role := space.Write
	if a.Has(st.SpaceID, space.Admin) {
		role = space.Admin
	}
	rv, err := s.cfg.Reviews.AddReview(ctx, Review{RunID: id, Reviewer: principal, Role: role, Decision: in.Decision,
		Note: strings.TrimSpace(in.Note), At: s.now()})
	if err != nil {
		return Review{}, View{}, err
	}
	if _, err := s.Reevaluate(ctx, id, "review by "+principal); err != nil {
		return rv, View{}, err
	}
	r, err = s.cfg.Runs.GetRun(ctx, id)
	if err != nil {
		return rv, View{}, err
	}
	v, err := s.view(ctx, r)
	return rv, v, err
}

// Reviews lists a run's reviews, oldest first.
func (s *Service) Reviews(ctx context.Context, principal, id string) ([]Review, error) {
	if _, _, _, err := s.load(ctx, principal, id); err != nil {
		return nil, err
	}
	if s.cfg.Reviews == nil {
		return []Review{}, nil
	}
	return s.cfg.Reviews.ListReviews(ctx, id)
}

// Reevaluate evaluates the approval policies of a run in PENDING_REVIEW
// again (after a review, or a change of its merge request's approvals in
// GitLab, named by why) and moves it on when they decide. It returns the
// outcome; a run no longer waiting is left alone (ApprovalNone).
func (s *Service) Reevaluate(ctx context.Context, id, why string) (ApprovalOutcome, error) {
	if s.cfg.Approvals == nil || s.cfg.Reviews == nil {
		return ApprovalNone, nil
	}
	r, err := s.cfg.Runs.GetRun(ctx, id)
	if err != nil || r.State != PendingReview {
		return ApprovalNone, err
	}
	st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
	if err != nil {
		return ApprovalNone, err
	}
	reviews, err := s.cfg.Reviews.ListReviews(ctx, id)
	if err != nil {
		return ApprovalNone, err
	}
	v, err := s.cfg.Approvals.CheckApproval(ctx, r, st, reviews)
	if err != nil {
		return ApprovalNone, fmt.Errorf("approval policies of run %s: %w", id, err)
	}
	m := Move{RunID: id, From: []State{PendingReview}, At: s.now(), Actor: "policy"}
	switch v.Outcome {
	case ApprovalApproved, ApprovalNone: // none: the policies were detached meanwhile
		m.To, m.Note = Unconfirmed, "approved ("+why+")"
		if st.Autodeploy || r.Trigger == string(vcs.KindNote) { // a /hoist apply was its confirmation
			m.To, m.Note = Confirmed, "approved ("+why+"); applying"
		}
	case ApprovalRejected:
		m.To, m.Error = Failed, errorDetail("rejected by approval policy ("+why+"): "+strings.Join(v.Messages, "; "))
		m.Note = m.Error
	default:
		return ApprovalPending, nil
	}
	if _, err := s.moveRun(ctx, m); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			return ApprovalNone, nil // another review or server moved it first
		}
		return ApprovalNone, err
	}
	s.Notify()
	return v.Outcome, nil
}

// PendingForMergeRequest lists the runs in PENDING_REVIEW of the stacks
// stackIDs whose commit is sha or whose merge request is iid: the runs a
// change of that merge request's approvals in GitLab may decide.
func (s *Service) PendingForMergeRequest(ctx context.Context, stackIDs []string, sha string, iid int64) ([]string, error) {
	want := make(map[string]bool, len(stackIDs))
	for _, id := range stackIDs {
		want[id] = true
	}
	// Every run in PENDING_REVIEW, page by page, rather than a query per
	// stack: a repository may hold thousands of stacks, and few runs wait
	// for a review.
	var out []string
	for cursor := ""; ; {
		runs, next, err := s.cfg.Runs.ListRuns(ctx, Filter{States: []State{PendingReview}}, cursor, pendingPage)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if want[r.StackID] && ((sha != "" && r.CommitSHA == sha) || (iid != 0 && r.MergeRequestIID == iid)) {
				out = append(out, r.ID)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// pendingPage is how many runs in PENDING_REVIEW one read lists.
const pendingPage = 200
