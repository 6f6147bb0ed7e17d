package gitlab

import (
	"context"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// MergeMergeRequest merges !iid at head sha (PUT
// /projects/:id/merge_requests/:iid/merge with sha): GitLab refuses when
// the head moved, so what merges is what was applied. A merge request
// merged already (an earlier attempt whose answer was lost) fails with
// kind vcs.KindUnchanged; one GitLab will not merge (closed, not
// mergeable, its head moved) with kind vcs.KindInvalid and GitLab's
// reason, never retried.
func (c *Client) MergeMergeRequest(ctx context.Context, ep vcs.Endpoint, project string, iid int64, sha string) error {
	if !vcs.IsSHA(sha) {
		return apperr.Errorf(apperr.Invalid, "%q is not a full commit SHA", cutRunes(sha, 80))
	}
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	mr, resp, err := client.MergeRequests.GetMergeRequest(project, iid, nil, gl.WithContext(ctx))
	if err != nil {
		return apiError(resp, err, "merge request !%d in %s", iid, project)
	}
	switch {
	case mr == nil || mr.IID != iid:
		return fmt.Errorf("merge request !%d in %s: GitLab answered another or none", iid, project)
	case mr.State == "merged":
		return &vcs.Error{Kind: vcs.KindUnchanged, Status: http.StatusOK, Message: fmt.Sprintf("!%d is merged already", iid)}
	case mr.State != "opened":
		return &vcs.Error{Kind: vcs.KindInvalid, Status: http.StatusOK, Message: fmt.Sprintf("!%d is %s", iid, cutRunes(mr.State, 20))}
	case mr.SHA != sha:
		return &vcs.Error{Kind: vcs.KindInvalid, Status: http.StatusOK,
			Message: fmt.Sprintf("!%d's head moved to %s since the apply at %s", iid, short(mr.SHA), short(sha))}
	}
	_, resp, err = client.MergeRequests.AcceptMergeRequest(project, iid, &gl.AcceptMergeRequestOptions{SHA: gl.Ptr(sha)},
		gl.WithContext(ctx))
	if err == nil {
		return nil
	}
	e := classify(resp, err)
	switch e.Status {
	case http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusUnprocessableEntity:
		e.Kind, e.Message = vcs.KindInvalid, "GitLab will not merge it: "+e.Message
	case http.StatusConflict:
		e.Kind, e.Message = vcs.KindInvalid, "its head moved since the apply: "+e.Message
	}
	return e
}
