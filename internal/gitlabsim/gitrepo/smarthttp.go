package gitrepo

import (
	"bufio"
	"context"
	"log"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// gitHTTPBackend is git's CGI program for the smart HTTP protocol.
const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// AuthorizeFunc decides whether a smart HTTP request may read (clone, fetch)
// or, with write, push to the repository at repoPath, the project path
// without ".git" (e.g. "group/sub/project"). When ok is false the request is
// answered with status; a 401 carries `WWW-Authenticate: Basic
// realm="GitLab"` so git asks for (or sends) credentials, as with
// `git clone http://oauth2:<token>@host/group/project.git`.
type AuthorizeFunc func(r *http.Request, repoPath string, write bool) (ok bool, status int)

// RefUpdate is one ref a push changed; OldSHA or NewSHA is the all-zero SHA
// when the ref was created or deleted, as in GitLab's push events.
type RefUpdate struct {
	Ref    string
	OldSHA string
	NewSHA string
}

// PushedFunc is told about a successful push to repoPath, before the push
// response completes: when `git push` returns, the callback has run.
type PushedFunc func(ctx context.Context, repoPath string, updates []RefUpdate)

// SmartHTTPConfig configures NewSmartHTTPHandler.
type SmartHTTPConfig struct {
	// Root holds the repositories: "group/project" is Root/group/project.git.
	Root      string
	Authorize AuthorizeFunc
	// Pushed, when set, enables pushes (git-receive-pack); without it pushes
	// are refused with 403.
	Pushed PushedFunc
	Logger *slog.Logger
}

// SmartHTTPHandler serves clones and fetches of the repositories under root;
// pushes are refused. See NewSmartHTTPHandler.
func SmartHTTPHandler(root string, authorize AuthorizeFunc, logger *slog.Logger) http.Handler {
	return NewSmartHTTPHandler(SmartHTTPConfig{Root: root, Authorize: authorize, Logger: logger})
}

// NewSmartHTTPHandler serves Git's smart HTTP protocol through git
// http-backend for URL paths /<group>/<sub>/<project>[.git]/{info/refs,
// git-upload-pack, git-receive-pack}, relative to where the caller mounts it
// (strip any prefix first, e.g. with http.StripPrefix). Paths with empty,
// "." or ".." components are refused before authorization, and nothing
// outside Root is ever served.
func NewSmartHTTPHandler(cfg SmartHTTPConfig) http.Handler {
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		root = filepath.Clean(cfg.Root)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &smartHTTP{root: root, authorize: cfg.Authorize, pushed: cfg.Pushed, logger: logger}
}

type smartHTTP struct {
	root      string
	authorize AuthorizeFunc
	pushed    PushedFunc
	logger    *slog.Logger
	// pushLocks serialises pushes per repository so the ref snapshots taken
	// around one push are not mixed up with another's.
	pushLocks sync.Map // repo dir -> *sync.Mutex
}

var smartSuffixes = []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"}

func (h *smartHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repoPath, suffix, ok := splitSmartPath(r.URL.Path)
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	if !validRepoPath(repoPath) {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	service, ok := smartService(r, suffix)
	if !ok {
		http.Error(w, "Only the smart HTTP protocol is supported", http.StatusForbidden)
		return
	}
	write := service == "git-receive-pack"
	if h.authorize == nil {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	if allowed, status := h.authorize(r, repoPath, write); !allowed {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if write && h.pushed == nil {
		http.Error(w, "Pushes are not supported", http.StatusForbidden)
		return
	}
	dir := filepath.Join(h.root, filepath.FromSlash(repoPath)+".git")
	if rel, err := filepath.Rel(h.root, dir); err != nil || strings.HasPrefix(rel, "..") || !isBareRepo(dir) {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	h.logger.DebugContext(r.Context(), "git smart http", "repo", repoPath, "service", service, "method", r.Method)
	if write && r.Method == http.MethodPost {
		h.servePush(w, r, repoPath, dir, suffix)
		return
	}
	h.backend(w, r, repoPath, suffix)
}

// splitSmartPath cuts "/group/project.git/info/refs" into "group/project"
// and "/info/refs".
func splitSmartPath(p string) (repoPath, suffix string, ok bool) {
	for _, s := range smartSuffixes {
		if strings.HasSuffix(p, s) {
			repo := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(p, s), "/"), ".git")
			return repo, s, repo != ""
		}
	}
	return "", "", false
}

func validRepoPath(p string) bool {
	if strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// smartService names the git service a request is for; the dumb protocol
// (info/refs without ?service=) and wrong methods are not served.
func smartService(r *http.Request, suffix string) (string, bool) {
	if suffix == "/info/refs" {
		s := r.URL.Query().Get("service")
		ok := r.Method == http.MethodGet && (s == "git-upload-pack" || s == "git-receive-pack")
		return s, ok
	}
	return strings.TrimPrefix(suffix, "/"), r.Method == http.MethodPost
}

// backend runs git http-backend for the request.
func (h *smartHTTP) backend(w http.ResponseWriter, r *http.Request, repoPath, suffix string) {
	receive := "false"
	if h.pushed != nil {
		receive = "true"
	}
	config := []string{"http.uploadpack=true", "http.receivepack=" + receive}
	stderr := &slogWriter{logger: h.logger.With("repo", repoPath)}
	handler := &cgi.Handler{
		Path:   gitHTTPBackend,
		Dir:    h.root,
		Env:    gitEnv(config, "GIT_PROJECT_ROOT="+h.root, "GIT_HTTP_EXPORT_ALL=1"),
		Logger: log.New(stderr, "", 0),
		Stderr: stderr,
	}
	// The CGI environment would receive every header as HTTP_*; credentials
	// have no business in git's environment.
	req := r.Clone(r.Context())
	req.Header.Del("Authorization")
	req.Header.Del("Cookie")
	req.URL.Path = "/" + repoPath + ".git" + suffix
	req.URL.RawPath = ""
	handler.ServeHTTP(w, req)
}

// servePush runs receive-pack and reports the refs it changed, found by
// comparing branch and tag snapshots taken before and after.
func (h *smartHTTP) servePush(w http.ResponseWriter, r *http.Request, repoPath, dir, suffix string) {
	mu, _ := h.pushLocks.LoadOrStore(dir, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	repo := newRepo(dir, nil)
	before, err := repo.refSnapshot(r.Context())
	if err != nil {
		h.logger.ErrorContext(r.Context(), "snapshot refs before push", "repo", repoPath, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h.backend(w, r, repoPath, suffix)
	after, err := repo.refSnapshot(r.Context())
	if err != nil {
		h.logger.ErrorContext(r.Context(), "snapshot refs after push", "repo", repoPath, "error", err)
		return
	}
	if updates := diffSnapshots(before, after); len(updates) > 0 {
		h.pushed(r.Context(), repoPath, updates)
	}
}

// refSnapshot maps every branch and tag to the object it holds.
func (r *Repo) refSnapshot(ctx context.Context) (map[string]string, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", "refs/tags/")
	if err != nil {
		return nil, err
	}
	refs := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			refs[ref] = sha
		}
	}
	return refs, nil
}

func diffSnapshots(before, after map[string]string) []RefUpdate {
	var updates []RefUpdate
	for ref, newSHA := range after {
		if old, ok := before[ref]; !ok {
			updates = append(updates, RefUpdate{Ref: ref, OldSHA: zeroSHA, NewSHA: newSHA})
		} else if old != newSHA {
			updates = append(updates, RefUpdate{Ref: ref, OldSHA: old, NewSHA: newSHA})
		}
	}
	for ref, old := range before {
		if _, ok := after[ref]; !ok {
			updates = append(updates, RefUpdate{Ref: ref, OldSHA: old, NewSHA: zeroSHA})
		}
	}
	sortUpdates(updates)
	return updates
}

// slogWriter turns http-backend's stderr into log records, one per line.
type slogWriter struct {
	logger *slog.Logger
}

func (s *slogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			s.logger.Warn("git http-backend", "message", line)
		}
	}
	return len(p), nil
}

func sortUpdates(u []RefUpdate) {
	slices.SortFunc(u, func(a, b RefUpdate) int { return strings.Compare(a.Ref, b.Ref) })
}
