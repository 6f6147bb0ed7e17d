package gitlabsim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// listCommitMRs is GET /projects/:id/repository/commits/:sha/merge_requests:
// the merge requests targeting the project that contain the commit, as
// GitLab's MergeRequestsFinder finds them by commit_sha (a commit of the
// merge request's diff, or its merge commit), newest first, paginated,
// presented as listMRs presents them. :sha may be a branch or tag name, as
// in GitLab; a commit the repository lacks is 404 Commit Not Found, and the
// optional state filters like the merge request list's.
func (s *Server) listCommitMRs(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	commit, err := repo.GetCommit(ctx, c.r.PathValue("sha"))
	if err != nil {
		if isNotFound(err) {
			return notFound("Commit")
		}
		return err
	}
	state := c.str("state")
	s.mu.Lock()
	var candidates []MergeRequest
	for _, m := range s.st.MergeRequests {
		if m.ProjectID == p.ID && (state == "" || state == "all" || state == m.State) {
			candidates = append(candidates, *m)
		}
	}
	s.mu.Unlock()
	var list []MergeRequest
	for _, m := range candidates {
		in, err := mrContains(ctx, repo, m, commit.SHA)
		if err != nil {
			return err
		}
		if in {
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID }) // newest first
	out, err := s.mrObjs(ctx, p, repo, paginate(c, list))
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, out)
}

// mrContains reports whether sha is m's merge commit or a commit of its
// diff: from the target branch (from the merge commit's first parent once
// merged) to its head, which the target repository holds under
// refs/merge-requests/:iid/head. A deleted target branch leaves only the
// head and merge commit to match, where GitLab keeps the diff it stored.
func mrContains(ctx context.Context, repo *gitrepo.Repo, m MergeRequest, sha string) (bool, error) {
	if sha == m.HeadSHA || (m.MergeCommitSHA != "" && sha == m.MergeCommitSHA) {
		return true, nil
	}
	from := "refs/heads/" + m.TargetBranch
	if m.State == "merged" && m.MergeCommitSHA != "" {
		from = m.MergeCommitSHA + "^1"
	}
	commits, err := repo.Log(ctx, from, m.HeadSHA)
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(commits, func(cm gitrepo.Commit) bool { return cm.SHA == sha }), nil
}
