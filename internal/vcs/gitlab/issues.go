package gitlab

import (
	"context"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
)

// CreateIssue opens an issue in is.Project and returns its iid (is.Open is
// ignored: a new issue is open).
func (c *Client) CreateIssue(ctx context.Context, ep vcs.Endpoint, is vcs.Issue) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	labels := gl.LabelOptions(is.Labels)
	out, resp, err := client.Issues.CreateIssue(is.Project, &gl.CreateIssueOptions{Title: gl.Ptr(is.Title),
		Description: gl.Ptr(is.Description), Labels: &labels}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(resp, err)
	}
	return out.IID, nil
}

// UpdateIssue replaces the title, description and labels of issue iid and
// reopens or closes it as is.Open says. An issue deleted in GitLab is a
// *vcs.Error of kind vcs.KindNotFound.
func (c *Client) UpdateIssue(ctx context.Context, ep vcs.Endpoint, iid int64, is vcs.Issue) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	labels := gl.LabelOptions(is.Labels)
	if labels == nil {
		labels = gl.LabelOptions{} // "": remove every label, not leave them
	}
	event := "close"
	if is.Open {
		event = "reopen"
	}
	_, resp, err := client.Issues.UpdateIssue(is.Project, iid, &gl.UpdateIssueOptions{Title: gl.Ptr(is.Title),
		Description: gl.Ptr(is.Description), Labels: &labels, StateEvent: gl.Ptr(event)}, gl.WithContext(ctx))
	if err != nil {
		return classify(resp, err)
	}
	return nil
}
