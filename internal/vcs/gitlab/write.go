package gitlab

import (
	"context"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
)

// The write-back's calls (internal/feedback): commit statuses, merge
// request notes, deployments and environments. Each is one request (a
// search, a page at a time), never retried here; a failure is a
// *vcs.Error for the writer's retry policy.

// maxDescription is how much of a commit status description GitLab keeps.
const maxDescription = 255

// SetCommitStatus posts a commit status (POST /projects/:id/statuses/:sha).
// GitLab's "Cannot transition status" (the status is already in that
// state, or past it) is a *vcs.Error of kind vcs.KindUnchanged.
func (c *Client) SetCommitStatus(ctx context.Context, ep vcs.Endpoint, s vcs.CommitStatus) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	opt := &gl.SetCommitStatusOptions{State: gl.BuildStateValue(s.State), Name: gl.Ptr(s.Name)}
	if s.Ref != "" {
		opt.Ref = gl.Ptr(s.Ref)
	}
	if s.Description != "" {
		opt.Description = gl.Ptr(cutRunes(s.Description, maxDescription))
	}
	if s.TargetURL != "" {
		opt.TargetURL = gl.Ptr(s.TargetURL)
	}
	_, resp, err := client.Commits.SetCommitStatus(s.Project, s.SHA, opt, gl.WithContext(ctx))
	if err != nil {
		e := classify(resp, err)
		if e.Status == http.StatusBadRequest && strings.Contains(e.Message, "Cannot transition status") {
			e.Kind = vcs.KindUnchanged
		}
		return e
	}
	return nil
}

// HasCommitStatus reports whether GitLab's latest status named s.Name on
// s.SHA (and s.Ref when set) is s: the same state, target URL and
// description (as SetCommitStatus sends it). GitLab lists only the latest
// status per name and ref without all=true.
func (c *Client) HasCommitStatus(ctx context.Context, ep vcs.Endpoint, s vcs.CommitStatus) (bool, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return false, err
	}
	defer release()
	opt := &gl.GetCommitStatusesOptions{Name: gl.Ptr(s.Name), ListOptions: gl.ListOptions{PerPage: 20}}
	if s.Ref != "" {
		opt.Ref = gl.Ptr(s.Ref)
	}
	sts, resp, err := client.Commits.GetCommitStatuses(s.Project, s.SHA, opt, gl.WithContext(ctx))
	if err != nil {
		return false, classify(resp, err)
	}
	var latest *gl.CommitStatus
	for _, st := range sts {
		if st != nil && st.Name == s.Name && (latest == nil || st.ID > latest.ID) {
			latest = st
		}
	}
	return latest != nil && latest.Status == s.State && latest.TargetURL == s.TargetURL &&
		latest.Description == cutRunes(s.Description, maxDescription), nil
}

// maxNotePages bounds FindNote's search (100 notes a page).
const maxNotePages = 5

// FindNote returns the id of the newest note of merge request !iid whose
// body contains marker, among its 500 newest notes; 0 when there is none.
func (c *Client) FindNote(ctx context.Context, ep vcs.Endpoint, project string, iid int64, marker string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	opt := &gl.ListMergeRequestNotesOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		Sort: gl.Ptr("desc"), OrderBy: gl.Ptr("created_at")}
	for range maxNotePages {
		notes, resp, err := client.Notes.ListMergeRequestNotes(project, iid, opt, gl.WithContext(ctx))
		if err != nil {
			return 0, classify(resp, err)
		}
		for _, n := range notes {
			if strings.Contains(n.Body, marker) {
				return n.ID, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return 0, nil
}

// CreateNote adds a note to merge request !iid and returns its id.
func (c *Client) CreateNote(ctx context.Context, ep vcs.Endpoint, project string, iid int64, body string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	n, resp, err := client.Notes.CreateMergeRequestNote(project, iid,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(resp, err)
	}
	return n.ID, nil
}

// UpdateNote replaces the body of note noteID of merge request !iid. A
// note deleted in GitLab is a *vcs.Error of kind vcs.KindNotFound.
func (c *Client) UpdateNote(ctx context.Context, ep vcs.Endpoint, project string, iid, noteID int64, body string) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	_, resp, err := client.Notes.UpdateMergeRequestNote(project, iid, noteID,
		&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return classify(resp, err)
	}
	return nil
}

// CreateDeployment creates a deployment (never for a tag) and returns its
// id.
func (c *Client) CreateDeployment(ctx context.Context, ep vcs.Endpoint, d vcs.Deployment) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	status := gl.DeploymentStatusValue(d.Status)
	out, resp, err := client.Deployments.CreateProjectDeployment(d.Project, &gl.CreateProjectDeploymentOptions{
		Environment: gl.Ptr(d.Environment), Ref: gl.Ptr(d.Ref), SHA: gl.Ptr(d.SHA), Tag: gl.Ptr(false), Status: &status,
	}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(resp, err)
	}
	return out.ID, nil
}

// UpdateDeployment moves deployment id to status.
func (c *Client) UpdateDeployment(ctx context.Context, ep vcs.Endpoint, project string, id int64, status string) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	st := gl.DeploymentStatusValue(status)
	_, resp, err := client.Deployments.UpdateProjectDeployment(project, id,
		&gl.UpdateProjectDeploymentOptions{Status: &st}, gl.WithContext(ctx))
	if err != nil {
		return classify(resp, err)
	}
	return nil
}

// FindEnvironment returns the id of the project's environment called
// name; 0 when there is none.
func (c *Client) FindEnvironment(ctx context.Context, ep vcs.Endpoint, project, name string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	envs, resp, err := client.Environments.ListEnvironments(project,
		&gl.ListEnvironmentsOptions{Name: gl.Ptr(name)}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(resp, err)
	}
	for _, e := range envs {
		if e.Name == name {
			return e.ID, nil
		}
	}
	return 0, nil
}

// CreateEnvironment creates the project's environment called name and
// returns its id. A name already taken is a *vcs.Error of kind
// vcs.KindInvalid with status 400.
func (c *Client) CreateEnvironment(ctx context.Context, ep vcs.Endpoint, project, name string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	e, resp, err := client.Environments.CreateEnvironment(project,
		&gl.CreateEnvironmentOptions{Name: gl.Ptr(name)}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(resp, err)
	}
	return e.ID, nil
}

// cutRunes shortens s to at most n runes, marking the cut.
func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
