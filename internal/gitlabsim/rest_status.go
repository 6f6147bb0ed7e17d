package gitlabsim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// statusEvents maps a requested state to the state-machine events GitLab's
// commit status API fires, in order. The first event of "running" is the
// non-raising enqueue: it may fail silently.
var statusEvents = map[string][]string{
	"pending":  {"enqueue!"},
	"running":  {"enqueue", "run!"},
	"success":  {"success!"},
	"failed":   {"drop!"},
	"canceled": {"cancel!"},
	"skipped":  {"skip!"},
}

// statusTransitions are CommitStatus's events: allowed source states and
// the target state.
var statusTransitions = map[string]struct {
	from []string
	to   string
}{
	"enqueue": {[]string{"created", "skipped", "manual", "scheduled"}, "pending"},
	"run":     {[]string{"pending"}, "running"},
	"success": {[]string{"created", "pending", "running"}, "success"},
	"drop":    {[]string{"created", "pending", "running", "manual", "scheduled"}, "failed"},
	"cancel":  {[]string{"created", "pending", "running", "manual", "scheduled"}, "canceled"},
	"skip":    {[]string{"created", "pending"}, "skipped"},
}

// transitionStatus applies the events for the requested state to a status
// in state from, as GitLab's state machine does. It returns the new state,
// or GitLab's error message for an impossible transition.
func transitionStatus(from, requested string) (string, string) {
	state := from
	for _, ev := range statusEvents[requested] {
		name, raise := ev, false
		if ev[len(ev)-1] == '!' {
			name, raise = ev[:len(ev)-1], true
		}
		t := statusTransitions[name]
		if !slices.Contains(t.from, state) {
			if raise {
				return "", fmt.Sprintf("Cannot transition status via :%s from :%s (Reason(s): Status cannot transition via \"%s\")", name, state, name)
			}
			continue
		}
		state = t.to
	}
	return state, ""
}

func (s *Server) statusObj(st *CommitStatus) obj {
	var cov any
	if st.Coverage != nil {
		cov = *st.Coverage
	}
	var desc, target any
	if st.Description != "" {
		desc = st.Description
	}
	if st.TargetURL != "" {
		target = st.TargetURL
	}
	return obj{"id": st.ID, "sha": st.SHA, "ref": st.Ref, "status": st.State, "name": st.Name,
		"target_url": target, "description": desc, "created_at": apiTime(st.CreatedAt),
		"started_at": apiTimePtr(st.StartedAt), "finished_at": apiTimePtr(st.FinishedAt),
		"allow_failure": false, "coverage": cov, "pipeline_id": st.PipelineID,
		"author": s.userBasic(s.st.userByID(st.AuthorID))}
}

// postStatus is POST /projects/:id/statuses/:sha. Only a pending or running
// status with the same (sha, name, ref) is updated; otherwise a new status
// replaces the finished one, as in GitLab.
func (s *Server) postStatus(c *call) error {
	p, err := c.project(Developer)
	if err != nil {
		return err
	}
	requested, ok := c.param("state")
	if !ok {
		return paramError("state is missing")
	}
	if _, valid := statusEvents[requested]; !valid {
		return paramError("state does not have a valid value")
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	commit, err := repo.GetCommit(ctx, c.r.PathValue("sha"))
	if err != nil {
		return notFound("Commit")
	}
	name := c.str("name")
	if name == "" {
		name = c.str("context")
	}
	if name == "" {
		name = "default"
	}
	ref := c.str("ref")
	if ref == "" {
		ref = s.refForCommit(c, p, commit.SHA)
	}
	var coverage *float64
	if v, ok := c.param("coverage"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return paramError("coverage is invalid")
		}
		coverage = &f
	}
	var out CommitStatus
	err = s.mutate(func(st *state) error {
		cur, replaced := st.currentStatus(p.ID, commit.SHA, name, ref)
		now := s.now()
		if cur == nil {
			key := fmt.Sprintf("%d %s %s", p.ID, commit.SHA, ref)
			if st.Pipelines[key] == 0 {
				st.Pipelines[key] = st.nextID("pipeline")
			}
			cur = &CommitStatus{ProjectID: p.ID, SHA: commit.SHA, Ref: ref, Name: name, State: "created",
				PipelineID: st.Pipelines[key], AuthorID: c.user.ID, CreatedAt: now}
		}
		next, msg := transitionStatus(cur.State, requested)
		if msg != "" {
			return msgError(http.StatusBadRequest, msg)
		}
		if cur.ID == 0 {
			cur.ID = st.nextID("status")
			st.Statuses = append(st.Statuses, cur)
			for _, old := range replaced {
				old.Retried = true
			}
		}
		cur.State = next
		if next == "running" && cur.StartedAt == nil {
			cur.StartedAt = timePtr(now)
		}
		if slices.Contains([]string{"success", "failed", "canceled", "skipped"}, next) {
			cur.FinishedAt = timePtr(now)
		}
		if v, ok := c.param("target_url"); ok {
			cur.TargetURL = v
		}
		if v, ok := c.param("description"); ok {
			cur.Description = v
		}
		if coverage != nil {
			cur.Coverage = coverage
		}
		out = *cur
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	o := s.statusObj(&out)
	s.mu.Unlock()
	return c.ok(http.StatusCreated, o)
}

// currentStatus finds the pending or running status for (sha, name, ref)
// and the finished ones a new status would replace. Callers hold s.mu.
func (st *state) currentStatus(projectID int, sha, name, ref string) (*CommitStatus, []*CommitStatus) {
	var replaced []*CommitStatus
	for _, x := range st.Statuses {
		if x.ProjectID != projectID || x.SHA != sha || x.Name != name || x.Ref != ref || x.Retried {
			continue
		}
		if x.State == "pending" || x.State == "running" {
			return x, nil
		}
		replaced = append(replaced, x)
	}
	return nil, replaced
}

// refForCommit picks the ref GitLab would use when none is given: a branch
// whose head is the commit, else the default branch.
func (s *Server) refForCommit(c *call, p Project, sha string) string {
	repo, err := s.repo(p)
	if err != nil {
		return p.DefaultBranch
	}
	branches, err := repo.Branches(c.r.Context())
	if err != nil {
		return p.DefaultBranch
	}
	for _, b := range branches {
		if b.SHA == sha {
			return b.Name
		}
	}
	return p.DefaultBranch
}

// listStatuses is GET /projects/:id/repository/commits/:sha/statuses: the
// latest status per (name, ref) unless all=true.
func (s *Server) listStatuses(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	commit, err := repo.GetCommit(c.r.Context(), c.r.PathValue("sha"))
	if err != nil {
		return notFound("Commit")
	}
	ref, name, all := c.str("ref"), c.str("name"), c.boolParam("all", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*CommitStatus
	for _, x := range s.st.Statuses {
		if x.ProjectID == p.ID && x.SHA == commit.SHA && (ref == "" || x.Ref == ref) &&
			(name == "" || x.Name == name) && (all || !x.Retried) {
			list = append(list, x)
		}
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, x := range page {
		out = append(out, s.statusObj(x))
	}
	return c.ok(http.StatusOK, out)
}
