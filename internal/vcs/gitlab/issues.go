package gitlab

import (
	"context"
	"strings"

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

// FindIssue's bounds: 200 issues, 20 a page, so that a page of issues
// with long descriptions (up to 1 MB each) stays under the answer cap.
const (
	issuesPerPage = 20
	maxIssuePages = 10
)

// FindIssue returns the iid of the newest open issue of project whose
// description contains marker, among the 200 newest open issues that
// GitLab's search for term finds; 0 when there is none. term narrows the
// list on GitLab's side (it searches titles and descriptions); the marker
// is checked here, so a loose search cannot adopt someone else's issue.
func (c *Client) FindIssue(ctx context.Context, ep vcs.Endpoint, project, term, marker string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	opt := &gl.ListProjectIssuesOptions{ListOptions: gl.ListOptions{PerPage: issuesPerPage, Page: 1},
		State: gl.Ptr("opened"), Search: gl.Ptr(term), In: gl.Ptr("description"),
		OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("desc")}
	for range maxIssuePages {
		list, resp, err := client.Issues.ListProjectIssues(project, opt, gl.WithContext(ctx))
		if err != nil {
			return 0, classify(resp, err)
		}
		for _, is := range list {
			if is != nil && strings.Contains(is.Description, marker) {
				return is.IID, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return 0, nil
}
