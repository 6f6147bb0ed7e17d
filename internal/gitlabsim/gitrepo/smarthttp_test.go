package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testToken = "glpat-secret-token"

// tokenAuth accepts the token as the Basic password (git's
// oauth2:<token>@host form) for reads, and for writes only when canWrite.
func tokenAuth(canWrite bool, seen *[]string, mu *sync.Mutex) AuthorizeFunc {
	return func(r *http.Request, repoPath string, write bool) (bool, int) {
		mu.Lock()
		*seen = append(*seen, repoPath)
		mu.Unlock()
		if _, pass, ok := r.BasicAuth(); !ok || pass != testToken {
			return false, http.StatusUnauthorized
		}
		if write && !canWrite {
			return false, http.StatusForbidden
		}
		return true, 0
	}
}

// setupServer serves root/group/sub/proj.git with one commit.
func setupServer(t *testing.T, cfg SmartHTTPConfig) (srv *httptest.Server, repo *Repo, head Commit) {
	t.Helper()
	root := t.TempDir()
	repo, err := Init(context.Background(), filepath.Join(root, "group", "sub", "proj.git"), "main")
	if err != nil {
		t.Fatal(err)
	}
	head = commit(t, repo, "main", "init", create("main.tf", "terraform {}\n"), create("dir/x.tf", "x\n"))
	cfg.Root = root
	srv = httptest.NewServer(NewSmartHTTPHandler(cfg))
	t.Cleanup(srv.Close)
	return srv, repo, head
}

// gitCLI runs the git client in dir with a clean configuration.
func gitCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(nil, "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@e")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func cloneURL(srv *httptest.Server, userinfo, path string) string {
	return strings.Replace(srv.URL, "http://", "http://"+userinfo, 1) + path
}

func TestSmartHTTPClone(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	var logs bytes.Buffer
	srv, _, head := setupServer(t, SmartHTTPConfig{
		Authorize: tokenAuth(false, &seen, &mu),
		Logger:    slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	work := t.TempDir()

	out, err := gitCLI(t, work, "clone", "-q", cloneURL(srv, "oauth2:"+testToken+"@", "/group/sub/proj.git"), "c1")
	if err != nil {
		t.Fatalf("clone with token: %v\n%s", err, out)
	}
	body, err := os.ReadFile(filepath.Join(work, "c1", "main.tf"))
	if err != nil || string(body) != "terraform {}\n" {
		t.Fatalf("cloned main.tf = %q, %v", body, err)
	}
	if out, _ := gitCLI(t, filepath.Join(work, "c1"), "rev-parse", "HEAD"); strings.TrimSpace(out) != head.SHA {
		t.Fatalf("cloned HEAD = %s, want %s", out, head.SHA)
	}
	// GitLab also accepts the path without .git; protocol v0 works too.
	if out, err := gitCLI(t, work, "-c", "protocol.version=0", "clone", "-q",
		cloneURL(srv, "oauth2:"+testToken+"@", "/group/sub/proj"), "c2"); err != nil {
		t.Fatalf("clone without .git, protocol v0: %v\n%s", err, out)
	}

	out, err = gitCLI(t, work, "clone", "-q", cloneURL(srv, "", "/group/sub/proj.git"), "c3")
	if err == nil || !strings.Contains(out, "401") && !strings.Contains(out, "Authentication failed") &&
		!strings.Contains(out, "could not read Username") {
		t.Fatalf("clone without credentials: err=%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(work, "c3", "main.tf")); err == nil {
		t.Fatal("clone without credentials produced files")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(seen, "group/sub/proj") {
		t.Fatalf("authorize saw %v, want group/sub/proj", seen)
	}
	if strings.Contains(logs.String(), testToken) {
		t.Fatal("the token appeared in the logs")
	}
}

func TestSmartHTTPRequests(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	srv, _, _ := setupServer(t, SmartHTTPConfig{Authorize: tokenAuth(false, &seen, &mu)})

	tests := []struct {
		name, method, path string
		auth               bool
		want               int
	}{
		{"refs without credentials", "GET", "/group/sub/proj.git/info/refs?service=git-upload-pack", false, 401},
		{"refs with token", "GET", "/group/sub/proj.git/info/refs?service=git-upload-pack", true, 200},
		{"push refused", "GET", "/group/sub/proj.git/info/refs?service=git-receive-pack", true, 403},
		{"dumb protocol", "GET", "/group/sub/proj.git/info/refs", true, 403},
		{"unknown project", "GET", "/group/sub/nope.git/info/refs?service=git-upload-pack", true, 404},
		{"other file", "GET", "/group/sub/proj.git/HEAD", true, 404},
		{"traversal", "GET", "/group/../../etc/info/refs?service=git-upload-pack", true, 400},
		{"encoded traversal", "GET", "/group/%2e%2e/sub/proj.git/info/refs?service=git-upload-pack", true, 400},
		{"dot segment", "GET", "/./group/sub/proj.git/info/refs?service=git-upload-pack", true, 400},
		{"empty segment", "GET", "//group/sub/proj.git/info/refs?service=git-upload-pack", true, 400},
		{"upload-pack needs POST", "GET", "/group/sub/proj.git/git-upload-pack", true, 403},
	}
	for _, tc := range tests {
		status, header := rawRequest(t, srv, tc.method, tc.path, tc.auth)
		if status != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, status, tc.want)
		}
		if status == 401 && !strings.Contains(strings.ToLower(header), `www-authenticate: basic realm="gitlab"`) {
			t.Errorf("%s: 401 without Basic challenge:\n%s", tc.name, header)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range seen {
		if strings.Contains(p, "..") || strings.HasPrefix(p, ".") {
			t.Errorf("authorize was asked about %q", p)
		}
	}
}

// rawRequest sends the path byte for byte (no client-side cleaning) and
// returns the status and the response header block.
func rawRequest(t *testing.T, srv *httptest.Server, method, path string, auth bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", method, path)
	if auth {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth("oauth2", testToken)
		req += "Authorization: " + r.Header.Get("Authorization") + "\r\n"
	}
	if method == "POST" {
		req += "Content-Length: 0\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(conn); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(buf.String(), "\r\n\r\n")
	var status int
	if _, err := fmt.Sscanf(head, "HTTP/1.1 %d", &status); err != nil {
		t.Fatalf("bad response %q: %v", head, err)
	}
	return status, head
}

func TestSmartHTTPPush(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	pushes := make(chan []RefUpdate, 4)
	srv, repo, head := setupServer(t, SmartHTTPConfig{
		Authorize: tokenAuth(true, &seen, &mu),
		Pushed: func(_ context.Context, repoPath string, updates []RefUpdate) {
			if repoPath == "group/sub/proj" {
				pushes <- updates
			}
		},
	})
	work := t.TempDir()
	url := cloneURL(srv, "oauth2:"+testToken+"@", "/group/sub/proj.git")
	if out, err := gitCLI(t, work, "clone", "-q", url, "c"); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	dir := filepath.Join(work, "c")
	steps := [][]string{
		{"checkout", "-q", "-b", "feature"},
		{"rm", "-q", "dir/x.tf"},
		{"commit", "-q", "-m", "drop x"},
		{"push", "-q", "origin", "feature", "HEAD:main"},
	}
	for _, s := range steps {
		if out, err := gitCLI(t, dir, s...); err != nil {
			t.Fatalf("git %v: %v\n%s", s, err, out)
		}
	}
	updates := <-pushes // the callback ran before git push returned
	newHead, err := repo.Branch(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	want := []RefUpdate{
		{Ref: "refs/heads/feature", OldSHA: zeroSHA, NewSHA: newHead.SHA},
		{Ref: "refs/heads/main", OldSHA: head.SHA, NewSHA: newHead.SHA},
	}
	if !slices.Equal(updates, want) {
		t.Fatalf("push updates = %+v, want %+v", updates, want)
	}
	if out, err := gitCLI(t, dir, "push", "-q", "origin", ":feature"); err != nil {
		t.Fatalf("delete branch: %v\n%s", err, out)
	}
	if got := <-pushes; len(got) != 1 || got[0].NewSHA != zeroSHA {
		t.Fatalf("delete push updates = %+v", got)
	}
}

// syncWriter lets parallel log writes share one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
