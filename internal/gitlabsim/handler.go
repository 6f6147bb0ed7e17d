package gitlabsim

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// controlPrefix is where the control API lives; GitLab never serves
// anything under /-/sim/.
const controlPrefix = "/-/sim/"

func (s *Server) buildHandler() http.Handler {
	api := s.restRoutes()
	control := s.controlHandler()
	oidc := s.oidcHandler()
	git := gitrepo.NewSmartHTTPHandler(gitrepo.SmartHTTPConfig{
		Root:      filepath.Join(s.cfg.DataDir, "repos"),
		Authorize: s.authorizeGit,
		Pushed:    s.gitPushed,
		Logger:    s.log,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if strings.HasPrefix(path, controlPrefix) {
			control.ServeHTTP(w, r)
			return
		}
		w, answered := s.faults.intercept(w, r, s.now())
		if answered {
			return
		}
		switch {
		case strings.HasPrefix(path, "/api/v4/"):
			api.ServeHTTP(w, r)
		case strings.Contains(path, ".git/"):
			git.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pusherKey{}, s.basicAuthUser(r))))
		case strings.HasPrefix(path, "/oauth/") || path == "/.well-known/openid-configuration":
			oidc.ServeHTTP(w, r)
		case path == "/-/health" || path == "/-/readiness" || path == "/-/liveness":
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		}
	})
}

// authorizeGit checks smart HTTP access: basic auth whose password is a
// token (user name ignored, e.g. oauth2), read_repository (or
// write_repository, or api) to read and Reporter access, write_repository
// (or api) and Developer access to push. Public projects clone
// anonymously.
func (s *Server) authorizeGit(r *http.Request, repoPath string, write bool) (bool, int) {
	_, secret, hasAuth := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(repoPath)
	var u *User
	var scopes []string
	if hasAuth {
		t := s.tokenByValue[secret]
		if t == nil || t.Revoked || t.expired(s.now()) {
			return false, http.StatusUnauthorized
		}
		u, scopes = s.st.userByID(t.UserID), t.Scopes
		if u == nil {
			return false, http.StatusUnauthorized
		}
	}
	if err != nil || !s.st.canSee(u, p) {
		if u == nil {
			return false, http.StatusUnauthorized // let git ask for credentials
		}
		return false, http.StatusNotFound
	}
	need, level := []string{"api", "read_repository", "write_repository"}, Reporter
	if write {
		need, level = []string{"api", "write_repository"}, Developer
	}
	if u == nil {
		return !write && p.Visibility == "public", http.StatusUnauthorized
	}
	if !slices.ContainsFunc(scopes, func(sc string) bool { return slices.Contains(need, sc) }) {
		return false, http.StatusForbidden
	}
	eff := s.st.accessLevel(u, p)
	if !write && (p.Visibility == "public" || p.Visibility == "internal") {
		eff = max(eff, Reporter)
	}
	if eff < level {
		return false, http.StatusForbidden
	}
	return true, http.StatusOK
}

// gitPushed fires push and tag push webhooks for a `git push` over HTTP.
// The pusher is the token's user.
func (s *Server) gitPushed(ctx context.Context, repoPath string, updates []gitrepo.RefUpdate) {
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	p, repo, err := s.projectRepo(repoPath)
	if err != nil {
		s.log.Warn("git push: unknown project", "repo", repoPath)
		return
	}
	pusher, _ := s.actor(0)
	if r, ok := ctx.Value(pusherKey{}).(*User); ok && r != nil {
		pusher = *r
	}
	for _, u := range updates {
		before, after := u.OldSHA, u.NewSHA
		if before == hooks.ZeroSHA {
			before = ""
		}
		if after == hooks.ZeroSHA {
			after = ""
		}
		if !strings.HasPrefix(u.Ref, "refs/heads/") && !strings.HasPrefix(u.Ref, "refs/tags/") {
			continue
		}
		if err := s.refUpdated(ctx, p, repo, pusher, u.Ref, before, after); err != nil {
			s.log.Warn("git push: webhooks", "repo", repoPath, "ref", u.Ref, "error", err)
		}
	}
}

// pusherKey carries the authenticated user of a git push in its context.
type pusherKey struct{}

// basicAuthUser is the user of the token in the request's basic auth, or nil.
func (s *Server) basicAuthUser(r *http.Request) *User {
	_, secret, ok := r.BasicAuth()
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokenByValue[secret]; t != nil {
		if u := s.st.userByID(t.UserID); u != nil {
			c := *u
			return &c
		}
	}
	return nil
}
