package integration

import (
	"context"
	"errors"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// GitLabHooks is the HookClient of GitLab's REST API through client-go.
type GitLabHooks struct {
	// NewClient returns the integration's client (gitlab.Checker.NewClient:
	// its CA bundle, its VCS agent pool, no link-local addresses).
	NewClient func(ep vcs.Endpoint) (*gl.Client, error)
}

var _ HookClient = GitLabHooks{}

// ProjectHooks implements HookClient: GET /projects/:id, then GET
// /projects/:id/hooks (every page).
func (g GitLabHooks) ProjectHooks(ctx context.Context, ep vcs.Endpoint, project string) (int64, []ProjectHook, error) {
	c, err := g.NewClient(ep)
	if err != nil {
		return 0, nil, err
	}
	p, resp, err := c.Projects.GetProject(project, nil, gl.WithContext(ctx))
	if err != nil {
		return 0, nil, hookError(resp, err, "project "+project)
	}
	var out []ProjectHook
	opt := &gl.ListProjectHooksOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		hooks, resp, err := c.Projects.ListProjectHooks(p.ID, opt, gl.WithContext(ctx))
		if err != nil {
			return 0, nil, hookError(resp, err, "the hooks of "+project)
		}
		for _, h := range hooks {
			out = append(out, ProjectHook{ID: h.ID, URL: h.URL})
		}
		if resp == nil || resp.NextPage == 0 {
			return p.ID, out, nil
		}
		opt.Page = resp.NextPage
	}
}

// AddProjectHook implements HookClient: POST /projects/:id/hooks.
func (g GitLabHooks) AddProjectHook(ctx context.Context, ep vcs.Endpoint, projectID int64, url, token string) (int64, error) {
	c, err := g.NewClient(ep)
	if err != nil {
		return 0, err
	}
	h, resp, err := c.Projects.AddProjectHook(projectID, &gl.AddProjectHookOptions{URL: gl.Ptr(url), Token: gl.Ptr(token),
		PushEvents: gl.Ptr(true), TagPushEvents: gl.Ptr(true), MergeRequestsEvents: gl.Ptr(true),
		EnableSSLVerification: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return 0, hookError(resp, err, "a hook")
	}
	return h.ID, nil
}

// EditProjectHook implements HookClient: PUT /projects/:id/hooks/:hook_id.
func (g GitLabHooks) EditProjectHook(ctx context.Context, ep vcs.Endpoint, projectID, hookID int64, url, token string) error {
	c, err := g.NewClient(ep)
	if err != nil {
		return err
	}
	_, resp, err := c.Projects.EditProjectHook(projectID, hookID, &gl.EditProjectHookOptions{URL: gl.Ptr(url),
		Token: gl.Ptr(token), PushEvents: gl.Ptr(true), TagPushEvents: gl.Ptr(true), MergeRequestsEvents: gl.Ptr(true),
		EnableSSLVerification: gl.Ptr(true)}, gl.WithContext(ctx))
	if err != nil {
		return hookError(resp, err, "hook")
	}
	return nil
}

// hookError says what to fix: a project the token's user does not see, or
// a user below Maintainer (GitLab requires it for hooks).
func hookError(resp *gl.Response, err error, what string) error {
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	switch {
	case errors.Is(err, gl.ErrNotFound) || status == http.StatusNotFound:
		return apperr.InvalidField("repository", "GitLab has no %s the token's user can see", what)
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return apperr.InvalidField("repository", "GitLab refused %s: the token's user needs Maintainer on the project to manage its webhooks", what)
	}
	return apperr.Wrap(apperr.Invalid, err, "calling GitLab about %s failed: %s", what, err.Error())
}
