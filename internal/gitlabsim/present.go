package gitlabsim

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// obj is a JSON object as the REST API renders it.
type obj = map[string]any

// apiTime renders a timestamp as GitLab's REST API does.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func apiTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return apiTime(*t)
}

func (s *Server) webURL(p Project) string { return s.URL() + "/" + p.PathWithNamespace }

func (s *Server) host() string {
	if u, err := url.Parse(s.URL()); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return "localhost"
}

// namespaceInfo returns the display name and kind details of a project's
// namespace. Callers hold s.mu.
func (st *state) namespaceObj(p *Project, base string) obj {
	if p.NamespaceKind == "user" {
		u := st.userByID(p.NamespaceID)
		if u == nil {
			return obj{}
		}
		return obj{"id": u.ID, "name": u.Name, "path": u.Username, "kind": "user", "full_path": u.Username,
			"parent_id": nil, "avatar_url": nil, "web_url": base + "/" + u.Username}
	}
	g := st.groupByID(p.NamespaceID)
	if g == nil {
		return obj{}
	}
	var parent any
	if g.ParentID != 0 {
		parent = g.ParentID
	}
	return obj{"id": g.ID, "name": g.Name, "path": g.Path, "kind": "group", "full_path": g.FullPath,
		"parent_id": parent, "avatar_url": nil, "web_url": base + "/groups/" + g.FullPath}
}

// hookProject converts a project for webhook payloads.
func (s *Server) hookProject(p Project) hooks.Project {
	s.mu.Lock()
	ns := s.st.namespaceObj(&p, "")
	s.mu.Unlock()
	web := s.webURL(p)
	level := map[string]int{"private": 0, "internal": 10, "public": 20}[p.Visibility]
	name, _ := ns["name"].(string)
	return hooks.Project{ID: p.ID, Name: p.Name, Description: p.Description, WebURL: web,
		GitSSHURL: fmt.Sprintf("git@%s:%s.git", s.host(), p.PathWithNamespace), GitHTTPURL: web + ".git",
		Namespace: name, PathWithNamespace: p.PathWithNamespace, DefaultBranch: p.DefaultBranch, VisibilityLevel: level}
}

func hookUser(u User) hooks.User {
	return hooks.User{ID: u.ID, Name: u.Name, Username: u.Username, Email: u.Email}
}

// userBasic is GitLab's UserBasic entity (caller holds s.mu).
func (s *Server) userBasic(u *User) obj {
	if u == nil {
		return nil
	}
	return obj{"id": u.ID, "username": u.Username, "name": u.Name, "state": "active", "locked": false,
		"avatar_url": nil, "web_url": s.baseURLLocked() + "/" + u.Username}
}

// userFull is GET /user: the signed-in user with private fields.
func (s *Server) userFull(u *User) obj {
	o := s.userBasic(u)
	o["email"], o["public_email"], o["bot"], o["is_admin"] = u.Email, nil, u.Bot, u.Admin
	o["created_at"], o["bio"], o["location"], o["skype"], o["linkedin"], o["twitter"] = apiTime(u.CreatedAt), "", nil, "", "", ""
	o["website_url"], o["organization"], o["job_title"], o["pronouns"], o["work_information"] = "", nil, "", nil, nil
	o["followers"], o["following"], o["local_time"], o["last_sign_in_at"], o["confirmed_at"] = 0, 0, nil, nil, apiTime(u.CreatedAt)
	o["last_activity_on"], o["theme_id"], o["color_scheme_id"], o["projects_limit"] = nil, 1, 1, 100000
	o["current_sign_in_at"], o["identities"], o["can_create_group"], o["can_create_project"] = nil, []any{}, true, true
	o["two_factor_enabled"], o["external"], o["private_profile"], o["commit_email"] = false, false, false, u.Email
	return o
}

// projectObj renders a project (caller holds s.mu).
func (s *Server) projectObj(p *Project, level int) obj {
	base := s.baseURLLocked()
	web := base + "/" + p.PathWithNamespace
	ns := s.st.namespaceObj(p, base)
	nsName, _ := ns["name"].(string)
	o := obj{
		"id": p.ID, "description": p.Description, "name": p.Name, "path": p.Path,
		"name_with_namespace": strings.ReplaceAll(p.PathWithNamespace, "/", " / "),
		"path_with_namespace": p.PathWithNamespace, "created_at": apiTime(p.CreatedAt),
		"default_branch": p.DefaultBranch, "tag_list": []string{}, "topics": []string{},
		"ssh_url_to_repo":  fmt.Sprintf("git@%s:%s.git", s.hostLocked(), p.PathWithNamespace),
		"http_url_to_repo": web + ".git", "web_url": web, "readme_url": nil, "avatar_url": nil,
		"forks_count": 0, "star_count": 0, "last_activity_at": apiTime(p.LastActivityAt),
		"namespace": ns, "visibility": p.Visibility, "archived": false, "empty_repo": false,
		"issues_enabled": true, "merge_requests_enabled": true, "wiki_enabled": true, "jobs_enabled": true,
		"creator_id": 1, "open_issues_count": 0, "ci_config_path": nil, "shared_with_groups": []any{},
		"only_allow_merge_if_pipeline_succeeds": false, "merge_method": "merge", "squash_option": "default_off",
		"_links": obj{"self": base + "/api/v4/projects/" + fmt.Sprint(p.ID)},
	}
	if nsName != "" {
		o["name_with_namespace"] = nsName + " / " + p.Name
	}
	if p.ForkedFromID != 0 {
		if f := s.st.projectByID(p.ForkedFromID); f != nil {
			o["forked_from_project"] = obj{"id": f.ID, "name": f.Name, "path": f.Path,
				"path_with_namespace": f.PathWithNamespace, "web_url": base + "/" + f.PathWithNamespace,
				"http_url_to_repo": base + "/" + f.PathWithNamespace + ".git", "default_branch": f.DefaultBranch}
		}
	}
	var projAccess any
	if level >= Guest {
		projAccess = obj{"access_level": level, "notification_level": 3}
	}
	o["permissions"] = obj{"project_access": projAccess, "group_access": nil}
	return o
}

func (s *Server) baseURLLocked() string { return s.baseURL }

func (s *Server) hostLocked() string {
	if u, err := url.Parse(s.baseURL); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return "localhost"
}

// commitObj is GitLab's Commit entity.
func commitObj(web string, c gitrepo.Commit) obj {
	parents := c.ParentSHAs
	if parents == nil {
		parents = []string{}
	}
	short := c.SHA
	if len(short) > 8 {
		short = short[:8]
	}
	return obj{"id": c.SHA, "short_id": short, "title": c.Title, "message": c.Message,
		"author_name": c.AuthorName, "author_email": c.AuthorEmail, "authored_date": apiTime(c.AuthoredAt),
		"committer_name": c.CommitterName, "committer_email": c.CommitterEmail, "committed_date": apiTime(c.CommittedAt),
		"created_at": apiTime(c.CommittedAt), "parent_ids": parents, "trailers": obj{}, "extended_trailers": obj{},
		"web_url": web + "/-/commit/" + c.SHA}
}

// diffObj is GitLab's Diff entity.
func diffObj(d gitrepo.Diff) obj {
	return obj{"old_path": d.OldPath, "new_path": d.NewPath, "a_mode": d.AMode, "b_mode": d.BMode, "diff": d.Diff,
		"new_file": d.NewFile, "renamed_file": d.RenamedFile, "deleted_file": d.DeletedFile,
		"generated_file": false, "collapsed": false, "too_large": false}
}
