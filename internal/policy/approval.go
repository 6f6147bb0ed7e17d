package policy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

var _ run.ApprovalChecker = (*Service)(nil)

// GitLabApprovals reads GitLab's approval state of the merge request a run
// comes from: the run's own, or the one that brought its commit to the
// tracked branch. Nil without one.
type GitLabApprovals interface {
	RunApprovals(ctx context.Context, st stack.Stack, r run.Run) (*vcs.Approvals, error)
}

// ApprovalInput is what an approval policy sees (docs/policies.md).
type ApprovalInput struct {
	Run     RunInput            `json:"run"`
	Stack   StackInput          `json:"stack"`
	Plan    PlanSummary         `json:"plan"`
	Reviews []ReviewInput       `json:"reviews"`
	GitLab  GitLabApprovalInput `json:"gitlab"`
}

// PlanSummary is what the plan would do, counted in resources.
type PlanSummary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// ReviewInput is one review of the run in Hoist.
type ReviewInput struct {
	Reviewer string `json:"reviewer"`
	Role     string `json:"role"` // the reviewer's Hoist role on the stack's space: write or admin
	Decision string `json:"decision"`
	Note     string `json:"note"`
	At       string `json:"at"` // RFC 3339
}

// GitLabApprovalInput is GitLab's approval state of the run's merge
// request: merge_request is null when the run has none; error says why it
// could not be read (the policy then sees no approvals, and a later
// review or approval evaluates again).
type GitLabApprovalInput struct {
	MergeRequest *MergeRequestApprovals `json:"merge_request"`
	Error        string                 `json:"error,omitempty"`
}

// MergeRequestApprovals is GitLab's approvals API answer, approvers with
// their access level on the project.
type MergeRequestApprovals struct {
	IID           int64           `json:"iid"`
	State         string          `json:"state"`
	Approved      bool            `json:"approved"`
	ApprovalsLeft int64           `json:"approvals_left"`
	ApprovedBy    []ApproverInput `json:"approved_by"`
}

// ApproverInput is one GitLab user who approved.
type ApproverInput struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	AccessLevel int64  `json:"access_level"` // 30 developer, 40 maintainer, 50 owner; 0 not a member
	Access      string `json:"access"`       // developer, maintainer, owner, …
}

// CheckApproval implements run.ApprovalChecker: it evaluates the approval
// policies of st against the run, its plan summary, its reviews and
// GitLab's approvals, records each evaluation, and combines them: any
// reject (or failure: fail closed) rejects; all approving approves;
// otherwise the run waits. Without approval policies: ApprovalNone.
func (s *Service) CheckApproval(ctx context.Context, r run.Run, st stack.Stack, reviews []run.Review) (run.ApprovalVerdict, error) {
	all, err := s.applying(ctx, []stack.Stack{st}, nil, Approval)
	if err != nil {
		return run.ApprovalVerdict{}, err
	}
	applying := all[st.ID]
	if len(applying) == 0 {
		return run.ApprovalVerdict{Outcome: run.ApprovalNone}, nil
	}
	in := ApprovalInput{Run: runInput(r), Stack: stackInput(st),
		Plan:    PlanSummary{Add: r.Delta.Add, Change: r.Delta.Change, Destroy: r.Delta.Destroy, Import: r.Delta.Import},
		Reviews: make([]ReviewInput, 0, len(reviews))}
	for _, rv := range reviews {
		in.Reviews = append(in.Reviews, ReviewInput{Reviewer: rv.Reviewer, Role: string(rv.Role), Decision: string(rv.Decision),
			Note: rv.Note, At: rv.At.UTC().Format(time.RFC3339)})
	}
	in.GitLab = s.gitlabApprovals(ctx, st, r)
	input, rec, err := toValue(in)
	if err != nil {
		return run.ApprovalVerdict{}, err
	}
	val := mustAST(input)
	var records []Evaluation
	by := map[Outcome][]string{}
	var msgs []string
	for _, at := range applying {
		p := at.Policy
		ev := Evaluation{PolicyID: p.ID, PolicyVersion: p.Version, Type: Approval, StackID: st.ID, RunID: r.ID,
			Input: recorded(rec), At: s.now(), Messages: []string{}}
		start := time.Now()
		doc, err := s.cfg.Engine.EvalRules(ctx, p.Body, val, "approve", "reject", "message")
		ev.Duration = time.Since(start)
		switch {
		case err != nil:
			ev.Outcome, ev.Error = OutcomeError, cleanMessage(errorText(err))
			s.log.WarnContext(ctx, "approval policy failed", "policy_id", p.ID, "run_id", r.ID, "error", err)
			msgs = append(msgs, fmt.Sprintf("%s failed (fail closed): %s", p.ID, ev.Error))
		default:
			ev.Messages = messages(doc, "message")
			switch {
			case boolRule(doc, "reject"):
				ev.Outcome = OutcomeReject
			case boolRule(doc, "approve"):
				ev.Outcome = OutcomeApprove
			default:
				ev.Outcome = OutcomeWait
			}
			for _, m := range ev.Messages {
				msgs = append(msgs, p.ID+": "+m)
			}
		}
		by[ev.Outcome] = append(by[ev.Outcome], p.ID)
		records = append(records, ev)
	}
	if err := s.cfg.Store.RecordEvaluations(ctx, records); err != nil {
		return run.ApprovalVerdict{}, fmt.Errorf("record approval policy evaluations: %w", err)
	}
	v := run.ApprovalVerdict{Messages: msgs}
	switch {
	case len(by[OutcomeError]) > 0 || len(by[OutcomeReject]) > 0:
		v.Outcome = run.ApprovalRejected
		if len(by[OutcomeReject]) > 0 {
			v.Messages = append([]string{"rejected by " + strings.Join(by[OutcomeReject], ", ")}, v.Messages...)
		}
	case len(by[OutcomeApprove]) == len(applying):
		v.Outcome = run.ApprovalApproved
	default:
		v.Outcome = run.ApprovalPending
		v.Messages = append([]string{"approval policies " + strings.Join(by[OutcomeWait], ", ") + " do not approve yet"}, v.Messages...)
	}
	return v, nil
}

// gitlabApprovals reads GitLab's approval state for the run's input.
func (s *Service) gitlabApprovals(ctx context.Context, st stack.Stack, r run.Run) GitLabApprovalInput {
	if s.cfg.GitLab == nil {
		return GitLabApprovalInput{}
	}
	a, err := s.cfg.GitLab.RunApprovals(ctx, st, r)
	if err != nil {
		s.log.WarnContext(ctx, "read GitLab approvals for approval policies", "run_id", r.ID, "error", err)
		return GitLabApprovalInput{Error: cleanMessage(err.Error())}
	}
	if a == nil {
		return GitLabApprovalInput{}
	}
	mr := &MergeRequestApprovals{IID: a.IID, State: a.State, Approved: a.Approved, ApprovalsLeft: a.ApprovalsLeft,
		ApprovedBy: make([]ApproverInput, 0, len(a.ApprovedBy))}
	for _, u := range a.ApprovedBy {
		mr.ApprovedBy = append(mr.ApprovedBy, ApproverInput{ID: u.ID, Username: u.Username, AccessLevel: u.AccessLevel,
			Access: vcs.AccessName(u.AccessLevel)})
	}
	return GitLabApprovalInput{MergeRequest: mr}
}

// runInput is the run as every policy about a run sees it.
func runInput(r run.Run) RunInput {
	return RunInput{ID: r.ID, Type: string(r.Type), Trigger: r.Trigger, TriggeredBy: r.TriggeredBy, Commit: r.CommitSHA,
		Branch: r.Branch, MergeRequestIID: r.MergeRequestIID}
}
