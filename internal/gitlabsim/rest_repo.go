package gitlabsim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// restRoutes is GitLab's REST API as far as the simulator serves it. A
// wildcard matches one segment of the escaped path, so an {id} of
// "group%2Fproject" stays one segment and reads back decoded.
func (s *Server) restRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	rt := apiRoutes{s: s, mux: mux}
	const proj = "/api/v4/projects/{id}"
	rt.handle("GET", "/api/v4/personal_access_tokens/self", s.getTokenSelf)
	rt.handle("GET", "/api/v4/user", s.getUser)
	rt.handle("GET", proj, s.getProject)
	rt.handle("GET", proj+"/members/all/{user_id}", s.getMemberAll)
	rt.handle("GET", proj+"/repository/branches", s.listBranches)
	rt.handle("GET", proj+"/repository/branches/{branch}", s.getBranch)
	rt.handle("GET", proj+"/repository/commits/{sha}", s.getCommit)
	rt.handle("GET", proj+"/repository/commits/{sha}/statuses", s.listStatuses)
	rt.handle("GET", proj+"/repository/commits/{sha}/merge_requests", s.listCommitMRs)
	rt.handle("GET", proj+"/repository/compare", s.compare)
	rt.handle("GET", proj+"/merge_requests", s.listMRs)
	rt.handle("GET", proj+"/merge_requests/{iid}", s.getMR)
	rt.handle("GET", proj+"/merge_requests/{iid}/diffs", s.listMRDiffs)
	rt.handle("GET", proj+"/merge_requests/{iid}/notes", s.listNotes)
	rt.handle("POST", proj+"/merge_requests/{iid}/notes", s.createNote)
	rt.handle("GET", proj+"/merge_requests/{iid}/notes/{note_id}", s.getNote)
	rt.handle("PUT", proj+"/merge_requests/{iid}/notes/{note_id}", s.updateNote)
	rt.handle("DELETE", proj+"/merge_requests/{iid}/notes/{note_id}", s.deleteNote)
	s.workflowRoutes(rt, proj)
	rt.handle("POST", proj+"/statuses/{sha}", s.postStatus)
	rt.handle("GET", proj+"/environments", s.listEnvironments)
	rt.handle("POST", proj+"/environments", s.createEnvironment)
	rt.handle("GET", proj+"/environments/{env_id}", s.getEnvironment)
	rt.handle("GET", proj+"/deployments", s.listDeployments)
	rt.handle("POST", proj+"/deployments", s.createDeployment)
	rt.handle("GET", proj+"/deployments/{deployment_id}", s.getDeployment)
	rt.handle("PUT", proj+"/deployments/{deployment_id}", s.updateDeployment)
	s.issueRoutes(rt, proj)
	rt.handle("GET", proj+"/hooks", s.listHooks)
	rt.handle("POST", proj+"/hooks", s.createHook)
	rt.handle("GET", proj+"/hooks/{hook_id}", s.getHook)
	rt.handle("PUT", proj+"/hooks/{hook_id}", s.editHook)
	rt.handle("DELETE", proj+"/hooks/{hook_id}", s.deleteHook)
	// archive, archive.tar.gz, archive.zip, ... share one segment; the
	// literal segments above are more specific and win.
	rt.handle("GET", proj+"/repository/{archive}", s.archive)
	mux.HandleFunc("/api/v4/", rt.unknown)
	return mux
}

func (s *Server) getTokenSelf(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	t := c.token
	var expires any
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.Format("2006-01-02")
	}
	now := s.now()
	o := obj{"id": t.ID, "name": t.Name, "revoked": t.Revoked, "created_at": apiTime(t.CreatedAt), "description": nil,
		"scopes": t.Scopes, "user_id": t.UserID, "last_used_at": apiTimePtr(t.LastUsedAt),
		"active": !t.Revoked && !t.expired(now), "expires_at": expires}
	if t.Kind != TokenPersonal {
		o["access_level"] = t.AccessLevel
	}
	return c.ok(http.StatusOK, o)
}

func (s *Server) getUser(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	s.mu.Lock()
	o := s.userFull(c.user)
	s.mu.Unlock()
	return c.ok(http.StatusOK, o)
}

func (s *Server) getProject(c *call) error {
	if _, err := c.project(0); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(c.r.PathValue("id"))
	if err != nil {
		return notFound("Project")
	}
	return c.ok(http.StatusOK, s.projectObj(p, s.st.accessLevel(c.user, p)))
}

// getMemberAll is the effective membership, inherited from groups too.
func (s *Server) getMemberAll(c *call) error {
	p, err := c.project(0)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.userByID(c.pathInt("user_id"))
	if u == nil {
		return notFound("")
	}
	level := s.st.accessLevel(u, &p)
	if u.Admin && !s.st.isMember(u, &p) {
		level = NoAccess // administrators are not members by virtue of being admins
	}
	if level == NoAccess {
		return notFound("")
	}
	o := s.userBasic(u)
	o["access_level"], o["created_at"], o["expires_at"], o["membership_state"] = level, apiTime(u.CreatedAt), nil, "active"
	o["created_by"], o["member_role"] = nil, nil
	return c.ok(http.StatusOK, o)
}

// isMember reports a direct or inherited membership. Callers hold s.mu.
func (st *state) isMember(u *User, p *Project) bool {
	groups := st.groupChain(p)
	for _, m := range st.Members {
		if m.UserID == u.ID && ((m.SourceKind == "project" && m.SourceID == p.ID) || (m.SourceKind == "group" && containsInt(groups, m.SourceID))) {
			return true
		}
	}
	return p.NamespaceKind == "user" && p.NamespaceID == u.ID
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Server) branchObj(c *call, p Project, repo *gitrepo.Repo, b gitrepo.Branch) (obj, error) {
	commit, err := repo.GetCommit(c.r.Context(), b.SHA)
	if err != nil {
		return nil, err
	}
	web := s.webURL(p)
	isDefault := b.Name == p.DefaultBranch
	return obj{"name": b.Name, "merged": false, "protected": isDefault, "default": isDefault,
		"developers_can_push": false, "developers_can_merge": false, "can_push": true,
		"web_url": web + "/-/tree/" + b.Name, "commit": commitObj(web, commit)}, nil
}

func (s *Server) listBranches(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	branches, err := repo.Branches(c.r.Context())
	if err != nil {
		return err
	}
	search := strings.ToLower(c.str("search"))
	var keep []gitrepo.Branch
	for _, b := range branches {
		if search == "" || strings.Contains(strings.ToLower(b.Name), search) {
			keep = append(keep, b)
		}
	}
	page := paginate(c, keep)
	out := make([]obj, 0, len(page))
	for _, b := range page {
		o, err := s.branchObj(c, p, repo, b)
		if err != nil {
			return err
		}
		out = append(out, o)
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) getBranch(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	b, err := repo.Branch(c.r.Context(), c.r.PathValue("branch"))
	if err != nil {
		if errors.Is(err, gitrepo.ErrBranchNotFound) || errors.Is(err, gitrepo.ErrInvalid) {
			return notFound("Branch")
		}
		return err
	}
	o, err := s.branchObj(c, p, repo, b)
	if err != nil {
		return err
	}
	return c.ok(http.StatusOK, o)
}

func (s *Server) getCommit(c *call) error {
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	commit, err := repo.GetCommit(c.r.Context(), c.r.PathValue("sha"))
	if err != nil {
		if isNotFound(err) {
			return notFound("Commit")
		}
		return err
	}
	o := commitObj(s.webURL(p), commit)
	o["stats"] = obj{"additions": 0, "deletions": 0, "total": 0}
	o["status"], o["last_pipeline"], o["project_id"] = nil, nil, p.ID
	return c.ok(http.StatusOK, o)
}

func isNotFound(err error) bool {
	return errors.Is(err, gitrepo.ErrRefNotFound) || errors.Is(err, gitrepo.ErrBranchNotFound) ||
		errors.Is(err, gitrepo.ErrInvalid) || errors.Is(err, gitrepo.ErrTagNotFound)
}

func (s *Server) compare(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	from, hasFrom := c.param("from")
	to, hasTo := c.param("to")
	switch {
	case !hasFrom:
		return paramError("from is missing")
	case !hasTo:
		return paramError("to is missing")
	}
	repo, err := s.repo(p)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	fromSHA, err1 := repo.ResolveRef(ctx, from)
	toSHA, err2 := repo.ResolveRef(ctx, to)
	if err1 != nil || err2 != nil {
		return notFound("Ref")
	}
	commits, diffs, err := repo.Compare(ctx, fromSHA, toSHA, c.boolParam("straight", false))
	if err != nil {
		if errors.Is(err, gitrepo.ErrRefNotFound) {
			return notFound("Ref")
		}
		return err
	}
	web := s.webURL(p)
	cs := make([]obj, 0, len(commits))
	for _, cm := range commits {
		cs = append(cs, commitObj(web, cm))
	}
	ds := make([]obj, 0, len(diffs))
	for _, d := range diffs {
		ds = append(ds, diffObj(d))
	}
	var last any
	if len(cs) > 0 {
		last = cs[len(cs)-1]
	}
	return c.ok(http.StatusOK, obj{"commit": last, "commits": cs, "diffs": ds, "compare_timeout": false,
		"compare_same_ref": fromSHA == toSHA, "web_url": fmt.Sprintf("%s/-/compare/%s...%s", web, fromSHA, toSHA)})
}

var archiveTypes = map[string]string{
	"tar.gz": "application/gzip", "tgz": "application/gzip", "gz": "application/gzip",
	"tar": "application/x-tar", "zip": "application/zip",
	"tar.bz2": "application/x-bzip2", "tbz": "application/x-bzip2", "tbz2": "application/x-bzip2",
	"tb2": "application/x-bzip2", "bz2": "application/x-bzip2",
}

// archive serves repository/archive[.format]?sha=&path=. The single top
// folder is <project>-<sha>/.
func (s *Server) archive(c *call) error {
	seg := c.r.PathValue("archive")
	format, ok := strings.CutPrefix(seg, "archive")
	if !ok || (format != "" && !strings.HasPrefix(format, ".")) {
		return notFound("")
	}
	format = strings.TrimPrefix(format, ".")
	if format == "" {
		format = "tar.gz"
	}
	ctype, ok := archiveTypes[format]
	if !ok {
		return notFound("")
	}
	p, repo, err := c.projectRepo(Reporter)
	if err != nil {
		return err
	}
	ref := c.str("sha")
	if ref == "" {
		ref = p.DefaultBranch
	}
	sha, err := repo.ResolveRef(c.r.Context(), ref)
	if err != nil {
		return notFound("Ref")
	}
	var paths []string
	if path := strings.Trim(c.str("path"), "/"); path != "" {
		paths = []string{path}
	}
	prefix := p.Path + "-" + sha
	c.w.Header().Set("Content-Type", ctype)
	c.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, prefix, format))
	if err := repo.Archive(c.r.Context(), c.w, sha, prefix+"/", format, paths...); err != nil {
		if errors.Is(err, gitrepo.ErrFileNotFound) {
			c.w.Header().Del("Content-Disposition")
			return notFound("File")
		}
		return err
	}
	return nil
}
