package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// The merge request workflow's reads: who approved a merge request, with
// what access to its project, and which merge requests contain a commit.

const (
	// maxApprovers bounds the approvers of one merge request read (each
	// costs a members call): more is refused, not cut, so a hostile
	// GitLab cannot make Hoist send thousands of calls.
	maxApprovers = 100
	// maxUsername is GitLab's own bound on a username's length; a longer
	// one is cut (the approver's ID identifies them, not the name).
	maxUsername = 255
	// maxCommitMRPages bounds the pages of a commit's merge requests read
	// (20 each: client-go's call takes no per_page). A commit is in a
	// handful of merge requests; more than 200 is a runaway answer.
	maxCommitMRPages = 10
)

// MergeRequestApprovals returns the approval state of merge request !iid:
// its state and head SHA (GET /projects/:id/merge_requests/:iid: no
// approvals entity carries the sha, and GitLab CE's carries no state),
// then approved, approvals_left and approved_by (GET …/:iid/approvals),
// then each approver's effective access to the project (see
// ProjectAccessLevel).
//
// The merge request is read first: when a push lands between the two
// reads and GitLab resets approvals on push, the approvals read are those
// of the newer head, fewer, never more than HeadSHA earned. Approved is
// GitLab's verdict, which differs by edition: on GitLab EE (Free tier
// included) the approval rules are met, true with no approval when no
// rule requires one; on GitLab CE at least one user approved, and
// ApprovalsLeft is always 0. Count ApprovedBy when approvals themselves
// matter. Duplicate and unidentified approvers are dropped. An unknown
// project or merge request is apperr.NotFound; more than 100 approvers is
// an error.
func (c *Client) MergeRequestApprovals(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) (vcs.Approvals, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return vcs.Approvals{}, err
	}
	defer release()
	mr, resp, err := client.MergeRequests.GetMergeRequest(projectID, iid, nil, gl.WithContext(ctx))
	if err != nil {
		return vcs.Approvals{}, apiError(resp, err, "merge request !%d in project %d", iid, projectID)
	}
	if mr == nil || mr.IID != iid {
		return vcs.Approvals{}, fmt.Errorf("merge request !%d in project %d: GitLab answered another or none", iid, projectID)
	}
	a, resp, err := client.MergeRequestApprovals.GetConfiguration(projectID, iid, gl.WithContext(ctx))
	if err != nil {
		return vcs.Approvals{}, apiError(resp, err, "approvals of merge request !%d in project %d", iid, projectID)
	}
	if a == nil {
		return vcs.Approvals{}, fmt.Errorf("approvals of merge request !%d in project %d: empty answer", iid, projectID)
	}
	if len(a.ApprovedBy) > maxApprovers {
		return vcs.Approvals{}, fmt.Errorf("approvals of merge request !%d in project %d: GitLab lists %d approvers, more than the %d Hoist reads",
			iid, projectID, len(a.ApprovedBy), maxApprovers)
	}
	out := vcs.Approvals{IID: iid, State: mr.State, HeadSHA: mr.SHA, Approved: a.Approved, ApprovalsLeft: a.ApprovalsLeft}
	seen := make(map[int64]bool, len(a.ApprovedBy))
	for _, by := range a.ApprovedBy {
		if by == nil || by.User == nil || by.User.ID <= 0 || seen[by.User.ID] {
			continue
		}
		seen[by.User.ID] = true
		level, err := memberLevel(ctx, client, projectID, by.User.ID)
		if err != nil {
			return vcs.Approvals{}, err
		}
		out.ApprovedBy = append(out.ApprovedBy, vcs.Approver{ID: by.User.ID, Username: cutRunes(by.User.Username, maxUsername), AccessLevel: level})
	}
	return out, nil
}

// ProjectAccessLevel returns userID's effective access level on the
// project (GET /projects/:id/members/all/:user_id): direct, inherited from
// its groups, or through a group invited to it. A user who is not a member
// is vcs.AccessNone, administrators included; a project GitLab does not
// show the token is apperr.NotFound (a second call, GET /projects/:id,
// tells it from a non-member).
func (c *Client) ProjectAccessLevel(ctx context.Context, ep vcs.Endpoint, projectID, userID int64) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	level, err := memberLevel(ctx, client, projectID, userID)
	if err != nil || level != vcs.AccessNone {
		return level, err
	}
	return level, requireProject(ctx, client, projectID)
}

// memberLevel is userID's level on a project the caller knows exists:
// GitLab answers 404 for a non-member, and for a project the token cannot
// see, and client-go drops the message that tells them apart.
func memberLevel(ctx context.Context, client *gl.Client, projectID, userID int64) (int64, error) {
	m, resp, err := client.ProjectMembers.GetInheritedProjectMember(projectID, userID, gl.WithContext(ctx))
	if err != nil {
		if classify(resp, err).Kind == vcs.KindNotFound {
			return vcs.AccessNone, nil
		}
		return 0, apiError(resp, err, "access of user %d to project %d", userID, projectID)
	}
	if m == nil {
		return 0, fmt.Errorf("access of user %d to project %d: empty answer", userID, projectID)
	}
	return int64(m.AccessLevel), nil
}

// requireProject is nil when the token sees the project (GET
// /projects/:id), apperr.NotFound when it does not: it tells a 404 about
// something in a project from the project's own.
func requireProject(ctx context.Context, client *gl.Client, projectID int64) error {
	_, resp, err := client.Projects.GetProject(projectID, nil, gl.WithContext(ctx))
	if err != nil {
		return apiError(resp, err, "project %d", projectID)
	}
	return nil
}

// CommitMergeRequests returns the merge requests targeting the project
// that contain commit sha (GET
// /projects/:id/repository/commits/:sha/merge_requests), newest first.
// GitLab counts every commit of a merge request's diff and its merge (or
// squash) commit, so compare HeadSHA or MergeCommitSHA with sha when only
// those matter. A commit GitLab does not know is in none: GitLab answers
// 404 Commit Not Found, told from an unknown project (apperr.NotFound) by
// GET /projects/:id. A sha that is not a full commit SHA is
// apperr.Invalid, since GitLab would read a branch or tag name.
func (c *Client) CommitMergeRequests(ctx context.Context, ep vcs.Endpoint, projectID int64, sha string) ([]vcs.CommitMergeRequest, error) {
	if !vcs.IsSHA(sha) {
		return nil, apperr.Errorf(apperr.Invalid, "%q is not a full commit SHA", cutRunes(sha, 80))
	}
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return nil, err
	}
	defer release()
	var out []vcs.CommitMergeRequest
	page := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	for range maxCommitMRPages {
		mrs, resp, err := client.Commits.ListMergeRequestsByCommit(projectID, sha, page...)
		if err != nil {
			if classify(resp, err).Kind == vcs.KindNotFound {
				// The commit's 404 or the project's: GitLab's message
				// would tell, but client-go drops it.
				return nil, requireProject(ctx, client, projectID)
			}
			return nil, apiError(resp, err, "merge requests of commit %s in project %d", short(sha), projectID)
		}
		for _, m := range mrs {
			if m != nil {
				out = append(out, vcs.CommitMergeRequest{IID: m.IID, State: m.State, SourceBranch: m.SourceBranch,
					TargetBranch: m.TargetBranch, HeadSHA: m.SHA, MergeCommitSHA: m.MergeCommitSHA})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		page = []gl.RequestOptionFunc{gl.WithContext(ctx), gl.WithOffsetPaginationParameters(resp.NextPage)}
	}
	return nil, fmt.Errorf("merge requests of commit %s in project %d: more than %d pages", short(sha), projectID, maxCommitMRPages)
}

// maxStatusPages bounds the pages of a commit's statuses read for
// MergeRequestChecks (100 each).
const maxStatusPages = 5

// MergeRequestChecks returns what GitLab says about merging !iid: its
// detailed_merge_status and diverged commit count (GET
// /projects/:id/merge_requests/:iid?include_diverged_commits_count=true),
// its approval verdict (GET …/:iid/approvals), and, when GitLab says a
// pipeline must pass, the head commit's statuses on the source branch (GET
// /projects/:id/repository/commits/:sha/statuses?ref=), so that the
// caller can tell its own statuses from the project's CI. An unknown
// project or merge request is apperr.NotFound.
func (c *Client) MergeRequestChecks(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) (vcs.MergeChecks, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return vcs.MergeChecks{}, err
	}
	defer release()
	mr, resp, err := client.MergeRequests.GetMergeRequest(projectID, iid,
		&gl.GetMergeRequestsOptions{IncludeDivergedCommitsCount: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return vcs.MergeChecks{}, apiError(resp, err, "merge request !%d in project %d", iid, projectID)
	}
	if mr == nil || mr.IID != iid {
		return vcs.MergeChecks{}, fmt.Errorf("merge request !%d in project %d: GitLab answered another or none", iid, projectID)
	}
	a, resp, err := client.MergeRequestApprovals.GetConfiguration(projectID, iid, gl.WithContext(ctx))
	if err != nil {
		return vcs.MergeChecks{}, apiError(resp, err, "approvals of merge request !%d in project %d", iid, projectID)
	}
	if a == nil {
		return vcs.MergeChecks{}, fmt.Errorf("approvals of merge request !%d in project %d: empty answer", iid, projectID)
	}
	out := vcs.MergeChecks{IID: iid, State: mr.State, HeadSHA: mr.SHA, DetailedMergeStatus: cutRunes(mr.DetailedMergeStatus, 64),
		DivergedCommits: mr.DivergedCommitsCount, Approved: a.Approved, ApprovalsLeft: a.ApprovalsLeft}
	if out.DetailedMergeStatus != "ci_must_pass" && out.DetailedMergeStatus != "ci_still_running" || !vcs.IsSHA(mr.SHA) {
		return out, nil
	}
	opt := &gl.GetCommitStatusesOptions{Ref: gl.Ptr(mr.SourceBranch), ListOptions: gl.ListOptions{PerPage: 100}}
	for page := 1; ; page++ {
		if page > maxStatusPages {
			return vcs.MergeChecks{}, fmt.Errorf("statuses of commit %s in project %d: more than %d pages", short(mr.SHA), mr.SourceProjectID, maxStatusPages)
		}
		opt.Page = int64(page)
		sts, resp, err := client.Commits.GetCommitStatuses(mr.SourceProjectID, mr.SHA, opt, gl.WithContext(ctx))
		if err != nil {
			return vcs.MergeChecks{}, apiError(resp, err, "statuses of commit %s in project %d", short(mr.SHA), mr.SourceProjectID)
		}
		for _, st := range sts {
			if st != nil {
				out.Statuses = append(out.Statuses, vcs.CommitStatus{SHA: mr.SHA, Ref: mr.SourceBranch, Name: cutRunes(st.Name, 255), State: st.Status})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			out.StatusesRead = true
			return out, nil
		}
	}
}
