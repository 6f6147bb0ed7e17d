package app

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs"
)

// approvalReader is what approval policies read of GitLab (the gitlab
// client implements it).
type approvalReader interface {
	MergeRequestApprovals(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) (vcs.Approvals, error)
	CommitMergeRequests(ctx context.Context, ep vcs.Endpoint, projectID int64, sha string) ([]vcs.CommitMergeRequest, error)
}

// gitlabApprovals gives approval policies GitLab's approval state of the
// merge request a run comes from (policy.GitLabApprovals): the run's own,
// or else the merge request that holds its commit — merged into the
// tracked branch (its merge commit), or open from it (its head).
type gitlabApprovals struct {
	endpoints feedback.EndpointSource
	gitlab    approvalReader
}

func (g gitlabApprovals) RunApprovals(ctx context.Context, st stack.Stack, r run.Run) (*vcs.Approvals, error) {
	ep, err := g.endpoints.Endpoint(ctx, st.IntegrationID)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", st.IntegrationID, err)
	}
	iid := r.MergeRequestIID
	if iid == 0 && vcs.IsSHA(r.CommitSHA) {
		mrs, err := g.gitlab.CommitMergeRequests(ctx, ep, st.ProjectID, r.CommitSHA)
		if err != nil {
			return nil, err
		}
		iid = mergeRequestOf(mrs, r)
	}
	if iid == 0 {
		return nil, nil
	}
	a, err := g.gitlab.MergeRequestApprovals(ctx, ep, st.ProjectID, iid)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// mergeRequestOf picks the merge request a tracked run's commit comes
// from: one merged into the run's branch with that merge commit, else one
// open from the run's branch with that head; 0 when none.
func mergeRequestOf(mrs []vcs.CommitMergeRequest, r run.Run) int64 {
	for _, m := range mrs {
		if m.State == "merged" && m.MergeCommitSHA == r.CommitSHA && m.TargetBranch == r.Branch {
			return m.IID
		}
	}
	for _, m := range mrs {
		if m.State == "opened" && m.HeadSHA == r.CommitSHA && m.SourceBranch == r.Branch {
			return m.IID
		}
	}
	return 0
}

// approvalConsumer evaluates again the approval policies of the runs in
// PENDING_REVIEW that a change of a merge request's approvals in GitLab
// may decide (approvals arrive as merge request events).
func approvalConsumer(store *sqlstore.Store, runs *run.Service) func(ctx context.Context, integrationID string, ev *vcs.Event) error {
	return func(ctx context.Context, integrationID string, ev *vcs.Event) error {
		mr := ev.MergeRequest
		if ev.Kind != vcs.KindMergeRequest || mr == nil {
			return nil
		}
		switch mr.Action {
		case vcs.ActionApproved, vcs.ActionApproval, vcs.ActionUnapproved, vcs.ActionUnapproval:
		default:
			return nil
		}
		stacks, err := store.ListStacksByRepository(ctx, integrationID, ev.ProjectID, ev.Repository)
		if err != nil {
			return err
		}
		pending, err := runs.PendingForMergeRequest(ctx, stack.IDs(stacks), mr.HeadSHA, mr.IID)
		if err != nil {
			return err
		}
		why := fmt.Sprintf("GitLab approvals of !%d changed (%s)", mr.IID, mr.Action)
		for _, id := range pending {
			if _, err := runs.Reevaluate(ctx, id, why); err != nil {
				return err
			}
		}
		return nil
	}
}
