package gitlab

import (
	"context"
	"io"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
)

// ResolveCommit implements module.Source with GET
// /projects/:id/repository/commits/:sha, which also accepts abbreviated
// SHAs and answers the full one.
func (c *Client) ResolveCommit(ctx context.Context, ep vcs.Endpoint, project, sha string) (string, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return "", err
	}
	defer release()
	commit, resp, err := client.Commits.GetCommit(project, sha, nil, gl.WithContext(ctx))
	if err != nil {
		e := classify(resp, err)
		if e.Kind == vcs.KindNotFound {
			return "", wrapField("sha", e, "commit %s not found in %s", sha, project)
		}
		return "", explain(ctx, ep.APIHost, "projects/:id/repository/commits/:sha", e)
	}
	if commit == nil || !vcs.IsSHA(commit.ID) {
		return "", notGitLab(ep.APIHost, "repository/commits/:sha answered without a commit id")
	}
	return commit.ID, nil
}

// Archive implements module.Source with GET
// /projects/:id/repository/archive.tar.gz?sha=&path=, streamed to w. It is
// a download: capped by the archive cap instead of the API answers' one,
// with no total time but bounded silences (see Timeouts); ctx, the run's
// or the registry request's, cancels it.
func (c *Client) Archive(ctx context.Context, ep vcs.Endpoint, project, sha, path string, w io.Writer) error {
	client, release, err := c.clientFor(ep, download)
	if err != nil {
		return err
	}
	defer release()
	opt := &gl.ArchiveOptions{Format: gl.Ptr("tar.gz"), SHA: gl.Ptr(sha)}
	if path != "" {
		opt.Path = gl.Ptr(path)
	}
	resp, err := client.Repositories.StreamArchive(project, w, opt, gl.WithContext(ctx))
	if err != nil {
		e := classify(resp, err)
		if e.Kind == vcs.KindNotFound {
			return wrapField("sha", e, "no archive of %s at %s (path %q)", project, sha, path)
		}
		return explain(ctx, ep.APIHost, "projects/:id/repository/archive.tar.gz", e)
	}
	return nil
}
