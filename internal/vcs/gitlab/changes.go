package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// maxDiffPages bounds the merge request diff pages read (100 files each):
// far past any merge request a person reviews, short of a runaway loop.
const maxDiffPages = 1000

// CompareFiles returns the paths a compare of from...to (merge-base
// compare, GET /projects/:id/repository/compare) touches: old and new
// path of every diff, so a rename counts for both folders (SPEC §4.1).
// from may be a SHA or a branch name. A project or ref GitLab does not
// know is apperr.NotFound; a compare GitLab cut short (compare_timeout) is
// apperr.Invalid, since the file list would be incomplete.
func (c *Client) CompareFiles(ctx context.Context, ep vcs.Endpoint, projectID int64, from, to string) ([]string, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return nil, err
	}
	defer release()
	cmp, resp, err := client.Repositories.Compare(projectID, &gl.CompareOptions{From: gl.Ptr(from), To: gl.Ptr(to)}, gl.WithContext(ctx))
	if err != nil {
		return nil, apiError(resp, err, "compare %s...%s in project %d", short(from), short(to), projectID)
	}
	if cmp == nil {
		return nil, fmt.Errorf("compare %s...%s in project %d: empty answer", short(from), short(to), projectID)
	}
	if cmp.CompareTimeout {
		return nil, apperr.Errorf(apperr.Invalid, "GitLab's compare of %s...%s timed out; the changed files are unknown", short(from), short(to))
	}
	files := make([]string, 0, 2*len(cmp.Diffs))
	for _, d := range cmp.Diffs {
		if d != nil {
			files = append(files, d.OldPath, d.NewPath)
		}
	}
	return files, nil
}

// MergeRequestFiles returns the paths of a merge request's diffs (GET
// /projects/:id/merge_requests/:iid/diffs), every page, old and new paths.
func (c *Client) MergeRequestFiles(ctx context.Context, ep vcs.Endpoint, projectID, iid int64) ([]string, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return nil, err
	}
	defer release()
	var files []string
	opt := &gl.ListMergeRequestDiffsOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1}}
	for range maxDiffPages {
		diffs, resp, err := client.MergeRequests.ListMergeRequestDiffs(projectID, iid, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, apiError(resp, err, "diffs of merge request !%d in project %d", iid, projectID)
		}
		for _, d := range diffs {
			if d != nil {
				files = append(files, d.OldPath, d.NewPath)
			}
		}
		// Follow X-Next-Page, not the totals: GitLab omits X-Total past
		// 10,000 results.
		if resp == nil || resp.NextPage == 0 {
			return files, nil
		}
		opt.Page = int64(resp.NextPage)
	}
	return nil, fmt.Errorf("diffs of merge request !%d in project %d: more than %d pages", iid, projectID, maxDiffPages)
}

// DefaultBranch returns a project's default branch (GET /projects/:id).
func (c *Client) DefaultBranch(ctx context.Context, ep vcs.Endpoint, projectID int64) (string, error) {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return "", err
	}
	defer release()
	p, resp, err := client.Projects.GetProject(projectID, nil, gl.WithContext(ctx))
	if err != nil {
		return "", apiError(resp, err, "project %d", projectID)
	}
	if p == nil || p.DefaultBranch == "" {
		return "", apperr.Errorf(apperr.NotFound, "project %d has no default branch", projectID)
	}
	return p.DefaultBranch, nil
}

// apiError describes a failed call: NotFound for 404 (retrying cannot
// help), a plain error otherwise (outages, 429s, token trouble: worth
// retrying). The token never appears in client-go's errors.
func apiError(resp *gl.Response, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	e := classify(resp, err)
	switch {
	case e.Kind == vcs.KindNotFound:
		return apperr.Wrap(apperr.NotFound, e, "GitLab: %s not found", what)
	case e.Kind == vcs.KindRateLimited:
		return fmt.Errorf("GitLab rate-limited %s (429): %w", what, e)
	case e.Status != 0:
		return fmt.Errorf("GitLab answered %d for %s: %w", e.Status, what, e)
	}
	return fmt.Errorf("GitLab unreachable for %s: %w", what, e)
}

func short(ref string) string {
	if vcs.IsSHA(ref) {
		return ref[:8]
	}
	return ref
}
