package gitlabsim

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// ProjectOptions creates a project.
type ProjectOptions struct {
	// Path is "group/sub/name" (missing groups are created) or
	// "username/name" for a personal project.
	Path          string `json:"path"`
	Description   string `json:"description"`
	DefaultBranch string `json:"default_branch"` // default "main"
	Visibility    string `json:"visibility"`     // private (default), internal, public
	// Files, when set, become the first commit on the default branch.
	Files map[string]string `json:"files"`
	// UserID authors the first commit; 0 means root.
	UserID int `json:"user_id"`
}

// CreateProject creates a project and its bare repository. No webhook fires
// for the initial commit: the project has no hooks yet.
func (s *Server) CreateProject(ctx context.Context, o ProjectOptions) (Project, error) {
	if o.DefaultBranch == "" {
		o.DefaultBranch = "main"
	}
	if o.Visibility == "" {
		o.Visibility = "private"
	}
	if o.Visibility != "private" && o.Visibility != "internal" && o.Visibility != "public" {
		return Project{}, fmt.Errorf("visibility %q: %w", o.Visibility, ErrInvalid)
	}
	p, err := s.addProject(o.Path, o.Description, o.DefaultBranch, o.Visibility, 0)
	if err != nil {
		return Project{}, err
	}
	repo, err := gitrepo.Init(ctx, s.repoDir(p), o.DefaultBranch, gitrepo.WithClock(s.now))
	if err != nil {
		return Project{}, fmt.Errorf("create project %s: %w", p.PathWithNamespace, err)
	}
	if len(o.Files) > 0 {
		names := make([]string, 0, len(o.Files))
		for n := range o.Files {
			names = append(names, n)
		}
		sort.Strings(names)
		actions := make([]gitrepo.Action, 0, len(names))
		for _, n := range names {
			actions = append(actions, gitrepo.Action{Kind: "create", Path: n, Content: []byte(o.Files[n])})
		}
		author, err := s.signature(o.UserID)
		if err != nil {
			return Project{}, err
		}
		if _, err := repo.Commit(ctx, gitrepo.CommitOptions{Branch: o.DefaultBranch, Message: "Initial commit", Author: author, Actions: actions}); err != nil {
			return Project{}, fmt.Errorf("create project %s: initial commit: %w", p.PathWithNamespace, err)
		}
	}
	return p, nil
}

// addProject records a project in state, creating its groups.
func (s *Server) addProject(path, description, defaultBranch, visibility string, forkedFrom int) (Project, error) {
	path = strings.Trim(path, "/")
	i := strings.LastIndex(path, "/")
	if i < 0 || !pathRe.MatchString(path[i+1:]) || strings.HasSuffix(path, ".git") {
		return Project{}, fmt.Errorf("project path %q: want namespace/name: %w", path, ErrInvalid)
	}
	ns, name := path[:i], path[i+1:]
	var p Project
	err := s.mutate(func(st *state) error {
		if _, err := st.projectByRef(path); err == nil {
			return fmt.Errorf("project %q: %w", path, ErrConflict)
		}
		now := s.now()
		p = Project{Name: name, Path: name, Description: description, DefaultBranch: defaultBranch,
			Visibility: visibility, ForkedFromID: forkedFrom, CreatedAt: now, LastActivityAt: now}
		if u := st.userByName(ns); u != nil && !strings.Contains(ns, "/") {
			p.NamespaceKind, p.NamespaceID, p.PathWithNamespace = "user", u.ID, u.Username+"/"+name
		} else {
			g, err := st.ensureGroup(ns, now)
			if err != nil {
				return err
			}
			p.NamespaceKind, p.NamespaceID, p.PathWithNamespace = "group", g.ID, g.FullPath+"/"+name
		}
		p.ID = st.nextID("project")
		st.Projects = append(st.Projects, &p)
		return nil
	})
	return p, err
}

// ForkProject forks source into namespace (a group path or a username),
// copying every branch, as GitLab's fork does.
func (s *Server) ForkProject(ctx context.Context, source, namespace string) (Project, error) {
	src, err := s.Project(source)
	if err != nil {
		return Project{}, err
	}
	p, err := s.addProject(strings.Trim(namespace, "/")+"/"+src.Path, src.Description, src.DefaultBranch, src.Visibility, src.ID)
	if err != nil {
		return Project{}, err
	}
	repo, err := gitrepo.Init(ctx, s.repoDir(p), src.DefaultBranch, gitrepo.WithClock(s.now))
	if err != nil {
		return Project{}, fmt.Errorf("fork %s: %w", src.PathWithNamespace, err)
	}
	srcRepo, err := s.repo(src)
	if err != nil {
		return Project{}, err
	}
	branches, err := srcRepo.Branches(ctx)
	if err != nil {
		return Project{}, fmt.Errorf("fork %s: %w", src.PathWithNamespace, err)
	}
	for _, b := range branches {
		if err := repo.FetchFrom(ctx, srcRepo, b.SHA, "refs/heads/"+b.Name); err != nil {
			return Project{}, fmt.Errorf("fork %s: %w", src.PathWithNamespace, err)
		}
	}
	return p, nil
}

// Project returns a project by numeric ID or path_with_namespace.
func (s *Server) Project(ref string) (Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(ref)
	if err != nil {
		return Project{}, err
	}
	return *p, nil
}

// Repo returns the project's bare repository, for tests that want to look
// at or change Git data directly (changes made this way fire no webhooks).
func (s *Server) Repo(project string) (*gitrepo.Repo, error) {
	p, err := s.Project(project)
	if err != nil {
		return nil, err
	}
	return s.repo(p)
}

func (s *Server) repoDir(p Project) string {
	return filepath.Join(s.cfg.DataDir, "repos", filepath.FromSlash(p.PathWithNamespace)+".git")
}

func (s *Server) repo(p Project) (*gitrepo.Repo, error) {
	r, err := gitrepo.Open(s.repoDir(p), gitrepo.WithClock(s.now))
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", p.PathWithNamespace, err)
	}
	return r, nil
}

// signature is the Git identity of a user (root when userID is 0).
func (s *Server) signature(userID int) (gitrepo.Signature, error) {
	u, err := s.actor(userID)
	if err != nil {
		return gitrepo.Signature{}, err
	}
	return gitrepo.Signature{Name: u.Name, Email: u.Email, When: s.now()}, nil
}

// actor resolves the user an operation runs as; 0 means root.
func (s *Server) actor(userID int) (User, error) {
	if userID == 0 {
		userID = 1
	}
	return s.User(userID)
}

// ResolveRef returns the commit SHA that ref (branch, tag or SHA) names in
// the project.
func (s *Server) ResolveRef(ctx context.Context, project, ref string) (string, error) {
	repo, err := s.Repo(project)
	if err != nil {
		return "", err
	}
	sha, err := repo.ResolveRef(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, mapGitErr(err))
	}
	return sha, nil
}
