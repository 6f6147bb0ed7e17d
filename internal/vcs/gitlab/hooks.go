package gitlab

import (
	"context"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// ProjectHooks implements integration.HookClient: GET /projects/:id, then
// GET /projects/:id/hooks (every page).
func (c *Client) ProjectHooks(ctx context.Context, ep vcs.Endpoint, project string) (int64, []vcs.ProjectHook, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	p, resp, err := client.Projects.GetProject(project, nil, gl.WithContext(ctx))
	if err != nil {
		return 0, nil, hookError(resp, err, "project "+project)
	}
	var out []vcs.ProjectHook
	opt := &gl.ListProjectHooksOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		hooks, resp, err := client.Projects.ListProjectHooks(p.ID, opt, gl.WithContext(ctx))
		if err != nil {
			return 0, nil, hookError(resp, err, "the hooks of "+project)
		}
		for _, h := range hooks {
			out = append(out, vcs.ProjectHook{ID: h.ID, URL: h.URL, PushEvents: h.PushEvents, TagPushEvents: h.TagPushEvents,
				MergeRequestsEvents: h.MergeRequestsEvents, NoteEvents: h.NoteEvents})
		}
		if resp == nil || resp.NextPage == 0 {
			return p.ID, out, nil
		}
		opt.Page = resp.NextPage
	}
}

// AddProjectHook implements integration.HookClient: POST
// /projects/:id/hooks with Hoist's events (push, tag push, merge
// requests, comments) and SSL verification on.
func (c *Client) AddProjectHook(ctx context.Context, ep vcs.Endpoint, projectID int64, url, token string) (int64, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return 0, err
	}
	defer release()
	h, resp, err := client.Projects.AddProjectHook(projectID, &gl.AddProjectHookOptions{URL: gl.Ptr(url), Token: gl.Ptr(token),
		PushEvents: gl.Ptr(true), TagPushEvents: gl.Ptr(true), MergeRequestsEvents: gl.Ptr(true), NoteEvents: gl.Ptr(true),
		EnableSSLVerification: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return 0, hookError(resp, err, "a hook")
	}
	return h.ID, nil
}

// EditProjectHook implements integration.HookClient: PUT
// /projects/:id/hooks/:hook_id, with the events and SSL verification of
// AddProjectHook.
func (c *Client) EditProjectHook(ctx context.Context, ep vcs.Endpoint, projectID, hookID int64, url, token string) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	_, resp, err := client.Projects.EditProjectHook(projectID, hookID, &gl.EditProjectHookOptions{URL: gl.Ptr(url),
		Token: gl.Ptr(token), PushEvents: gl.Ptr(true), TagPushEvents: gl.Ptr(true), MergeRequestsEvents: gl.Ptr(true),
		NoteEvents: gl.Ptr(true), EnableSSLVerification: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return hookError(resp, err, "hook")
	}
	return nil
}

// hookError says what to fix: a project the token's user does not see, or
// a user below Maintainer (GitLab requires it for hooks).
func hookError(resp *gl.Response, err error, what string) error {
	e := classify(resp, err)
	switch e.Kind {
	case vcs.KindNotFound:
		return apperr.InvalidField("repository", "GitLab has no %s the token's user can see", what)
	case vcs.KindForbidden, vcs.KindUnauthorized:
		return apperr.InvalidField("repository", "GitLab refused %s: the token's user needs Maintainer on the project to manage its webhooks", what)
	}
	return apperr.Wrap(apperr.Invalid, e, "calling GitLab about %s failed: %s", what, e.Error())
}
