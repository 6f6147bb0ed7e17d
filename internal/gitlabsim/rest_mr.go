package gitlabsim

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// mrObj renders a merge request with its detailed_merge_status, computed
// beforehand without the lock (caller holds s.mu).
func (s *Server) mrObj(p *Project, m *MergeRequest, detailed string, single bool) obj {
	base := s.baseURLLocked()
	author := s.userBasic(s.st.userByID(m.AuthorID))
	var mergedBy, closedBy any
	if m.MergedByID != 0 {
		mergedBy = s.userBasic(s.st.userByID(m.MergedByID))
	}
	if m.ClosedByID != 0 {
		closedBy = s.userBasic(s.st.userByID(m.ClosedByID))
	}
	status := "can_be_merged"
	if detailed == "conflict" {
		status = "cannot_be_merged"
	}
	var mergeSHA any
	if m.MergeCommitSHA != "" {
		mergeSHA = m.MergeCommitSHA
	}
	o := obj{
		"id": m.ID, "iid": m.IID, "project_id": m.ProjectID, "title": m.Title, "description": m.Description,
		"state": m.State, "created_at": apiTime(m.CreatedAt), "updated_at": apiTime(m.UpdatedAt),
		"merged_by": mergedBy, "merge_user": mergedBy, "merged_at": apiTimePtr(m.MergedAt),
		"closed_by": closedBy, "closed_at": apiTimePtr(m.ClosedAt),
		"target_branch": m.TargetBranch, "source_branch": m.SourceBranch, "user_notes_count": 0,
		"upvotes": 0, "downvotes": 0, "author": author, "assignees": []any{}, "assignee": nil, "reviewers": []any{},
		"source_project_id": m.SourceProjectID, "target_project_id": m.ProjectID, "labels": []string{},
		"draft": m.Draft, "work_in_progress": m.Draft, "milestone": nil, "merge_when_pipeline_succeeds": false,
		"merge_status": status, "detailed_merge_status": detailed, "sha": m.HeadSHA, "merge_commit_sha": mergeSHA,
		"squash_commit_sha": nil, "discussion_locked": nil, "should_remove_source_branch": nil,
		"force_remove_source_branch": false, "prepared_at": apiTime(m.CreatedAt),
		"reference":  fmt.Sprintf("!%d", m.IID),
		"references": obj{"short": fmt.Sprintf("!%d", m.IID), "relative": fmt.Sprintf("!%d", m.IID), "full": fmt.Sprintf("%s!%d", p.PathWithNamespace, m.IID)},
		"web_url":    fmt.Sprintf("%s/%s/-/merge_requests/%d", base, p.PathWithNamespace, m.IID),
		"time_stats": obj{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"squash":     false, "squash_on_merge": false, "task_completion_status": obj{"count": 0, "completed_count": 0},
		"has_conflicts": detailed == "conflict", "blocking_discussions_resolved": true,
	}
	if single {
		o["subscribed"], o["changes_count"], o["latest_build_started_at"], o["latest_build_finished_at"] = false, nil, nil, nil
		o["first_deployed_to_production_at"], o["pipeline"], o["head_pipeline"] = nil, nil, nil
		o["diverged_commits_count"], o["rebase_in_progress"], o["first_contribution"] = 0, false, false
		o["user"] = obj{"can_merge": true}
	}
	return o
}

// mrForCall resolves :id and :iid with at least minLevel access.
func (c *call) mergeRequest(minLevel int) (Project, MergeRequest, error) {
	p, err := c.project(minLevel)
	if err != nil {
		return Project{}, MergeRequest{}, err
	}
	m, err := c.s.MergeRequest(fmt.Sprint(p.ID), c.pathInt("iid"))
	if err != nil {
		return Project{}, MergeRequest{}, notFound("Merge Request")
	}
	return p, m, nil
}

func (s *Server) listMRs(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	state := c.str("state")
	s.mu.Lock()
	var list []MergeRequest
	for _, m := range s.st.MergeRequests {
		if m.ProjectID == p.ID && (state == "" || state == "all" || state == m.State) &&
			(c.str("source_branch") == "" || c.str("source_branch") == m.SourceBranch) {
			list = append(list, *m)
		}
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID }) // newest first
	out, err := s.mrObjs(c.r.Context(), p, repo, paginate(c, list))
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, out)
}

// mrObjs presents a page of merge requests as the list endpoints do.
func (s *Server) mrObjs(ctx context.Context, p Project, repo *gitrepo.Repo, page []MergeRequest) ([]obj, error) {
	statuses := make([]string, len(page))
	for i, m := range page {
		var err error
		if statuses[i], err = s.detailedMergeStatus(ctx, p, repo, m); err != nil {
			return nil, err
		}
	}
	out := make([]obj, 0, len(page))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range page {
		out = append(out, s.mrObj(&p, &page[i], statuses[i], false))
	}
	return out, nil
}

func (s *Server) getMR(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	var diffRefs any
	if base, err := repo.MergeBase(ctx, "refs/heads/"+m.TargetBranch, m.HeadSHA); err == nil {
		start, _ := repo.ResolveRef(ctx, "refs/heads/"+m.TargetBranch)
		diffRefs = obj{"base_sha": base, "head_sha": m.HeadSHA, "start_sha": start}
	}
	detailed, err := s.detailedMergeStatus(ctx, p, repo, m)
	if err != nil {
		return err
	}
	changes, err := s.changesCount(ctx, repo, m)
	if err != nil {
		return err
	}
	var diverged int
	if c.str("include_diverged_commits_count") == "true" {
		// GitLab counts the target branch's commits the source lacks.
		behind, err := repo.Log(ctx, m.HeadSHA, "refs/heads/"+m.TargetBranch)
		if err != nil {
			return err
		}
		diverged = len(behind)
	}
	s.mu.Lock()
	o := s.mrObj(&p, &m, detailed, true)
	s.mu.Unlock()
	o["diff_refs"], o["changes_count"], o["diverged_commits_count"] = diffRefs, changes, diverged
	return c.ok(http.StatusOK, o)
}

// listMRDiffs is GET .../merge_requests/:iid/diffs: the MR's current
// changes from the merge base, paginated.
func (s *Server) listMRDiffs(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	diffs, err := mrDiffs(c.r.Context(), repo, m)
	if err != nil {
		return err
	}
	page := paginate(c, diffs)
	out := make([]obj, 0, len(page))
	for _, d := range page {
		out = append(out, diffObj(d))
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) noteObj(n *Note) obj {
	var author *User
	if u := s.st.userByID(n.AuthorID); u != nil {
		author = u
	}
	return obj{"id": n.ID, "type": nil, "body": n.Body, "attachment": nil, "author": s.userBasic(author),
		"created_at": apiTime(n.CreatedAt), "updated_at": apiTime(n.UpdatedAt), "system": n.System,
		"noteable_id": n.MRIID, "noteable_type": "MergeRequest", "project_id": n.ProjectID, "noteable_iid": n.MRIID,
		"resolvable": false, "confidential": n.Internal, "internal": n.Internal, "imported": false, "imported_from": "none",
		"commands_changes": obj{}}
}

func (s *Server) listNotes(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var notes []*Note
	for _, n := range s.st.Notes {
		if n.ProjectID == p.ID && n.MRIID == m.IID {
			notes = append(notes, n)
		}
	}
	orderBy := c.str("order_by")
	asc := c.str("sort") == "asc"
	sort.SliceStable(notes, func(i, j int) bool {
		a, b := notes[i].CreatedAt, notes[j].CreatedAt
		if orderBy == "updated_at" {
			a, b = notes[i].UpdatedAt, notes[j].UpdatedAt
		}
		if a.Equal(b) {
			if asc {
				return notes[i].ID < notes[j].ID
			}
			return notes[i].ID > notes[j].ID
		}
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
	page := paginate(c, notes)
	out := make([]obj, 0, len(page))
	for _, n := range page {
		out = append(out, s.noteObj(n))
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) createNote(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	body, ok := c.param("body")
	if !ok {
		return paramError("body is missing")
	}
	if problem := noteBodyProblem(body); problem != "" {
		return validationError("note", problem)
	}
	if c.user == nil {
		return unauthorized()
	}
	n, err := s.addMRNote(c.r.Context(), p, m, *c.user, body, c.boolParam("internal", false))
	if err != nil {
		return err
	}
	s.mu.Lock()
	o := s.noteObj(&n)
	s.mu.Unlock()
	return c.ok(http.StatusCreated, o)
}

// note resolves :note_id of the merge request.
func (c *call) note(p Project, m MergeRequest) (*Note, error) {
	id := c.pathInt("note_id")
	for _, n := range c.s.st.Notes {
		if n.ID == id && n.ProjectID == p.ID && n.MRIID == m.IID {
			return n, nil
		}
	}
	return nil, notFound("Note")
}

func (s *Server) getNote(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := c.note(p, m)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, s.noteObj(n))
}

func (s *Server) updateNote(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	body, ok := c.param("body")
	if !ok {
		return paramError("body is missing")
	}
	var out Note
	err = s.mutate(func(st *state) error {
		n, err := c.note(p, m)
		if err != nil {
			return err
		}
		if n.AuthorID != c.user.ID && !c.user.Admin {
			return forbidden()
		}
		if problem := noteBodyProblem(body); problem != "" {
			return validationError("note", problem)
		}
		n.Body, n.UpdatedAt = body, s.now()
		out = *n
		return nil
	})
	if err != nil {
		return err
	}
	s.fireNote(c.r.Context(), p, out, "update")
	s.mu.Lock()
	o := s.noteObj(&out)
	s.mu.Unlock()
	return c.ok(http.StatusOK, o)
}

func (s *Server) deleteNote(c *call) error {
	p, m, err := c.mergeRequest(Reporter)
	if err != nil {
		return err
	}
	err = s.mutate(func(st *state) error {
		n, err := c.note(p, m)
		if err != nil {
			return err
		}
		if n.AuthorID != c.user.ID && c.level(&p) < Maintainer {
			return forbidden()
		}
		for i, x := range st.Notes {
			if x == n {
				st.Notes = append(st.Notes[:i], st.Notes[i+1:]...)
				break
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
