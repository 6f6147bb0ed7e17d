package gitlabsim

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// git runs the real git client with no user or system configuration.
func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestGitCloneAndPushOverHTTP(t *testing.T) {
	t.Parallel()
	f, rc, _ := hookFixture(t)
	dir := t.TempDir()
	authURL := strings.Replace(f.url, "http://", "http://oauth2:"+f.token+"@", 1) + "/acme/infra/app.git"

	if out, err := git(t, dir, "clone", "--quiet", f.url+"/acme/infra/app.git", "anon"); err == nil {
		t.Fatalf("anonymous clone of a private project succeeded: %s", out)
	}
	if out, err := git(t, dir, "clone", "--quiet", strings.Replace(authURL, f.token, "glpat-wrong", 1), "bad"); err == nil {
		t.Fatalf("clone with a bad token succeeded: %s", out)
	}
	if out, err := git(t, dir, "clone", "--quiet", authURL, "work"); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if b, err := os.ReadFile(filepath.Join(work, "main.tf")); err != nil || string(b) != "# main\n" {
		t.Fatalf("cloned main.tf = %q, %v", b, err)
	}

	// A push over HTTP fires the push webhook like any other push.
	if err := os.WriteFile(filepath.Join(work, "new.tf"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "new.tf"}, {"commit", "-q", "-m", "add new.tf"}, {"push", "-q", "origin", "HEAD:refs/heads/pushed"}} {
		if out, err := git(t, work, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	waitHooks(t, f.sim)
	got := rc.all()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries after git push, want 1", len(got))
	}
	ev := parsed(t, f, got[0]).(*gitlab.PushEvent)
	if ev.Ref != "refs/heads/pushed" || ev.Before != zeroSHA || ev.UserUsername != "alice" || len(ev.Commits) != 1 || ev.Commits[0].Added[0] != "new.tf" {
		t.Errorf("push event = %+v", ev)
	}

	// A read-only token cannot push.
	_, readTok := addUser(t, f.sim, "ro", Developer, f.project.PathWithNamespace, "read_repository")
	roURL := strings.Replace(authURL, f.token, readTok, 1)
	if out, err := git(t, work, "push", "-q", roURL, "HEAD:refs/heads/nope"); err == nil {
		t.Errorf("push with read_repository succeeded: %s", out)
	}
}

func TestArchiveAtSHA(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.PathWithNamespace
	old, err := f.sim.ResolveRef(context.Background(), pid, "main")
	if err != nil {
		t.Fatal(err)
	}
	mustPush(t, f.sim, PushOptions{Project: pid, Branch: "main", Commits: []CommitSpec{{Message: "later",
		Actions: []FileAction{{Action: "create", Path: "later/x.tf", Content: "later\n"}, {Action: "delete", Path: "README.md"}}}}})

	b, _, err := f.client.Repositories.Archive(pid, &gitlab.ArchiveOptions{Format: gitlab.Ptr("tar.gz"), SHA: gitlab.Ptr(old)})
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, b)
	want := []string{"app-" + old + "/README.md", "app-" + old + "/main.tf"}
	if !slices.Equal(files, want) {
		t.Errorf("archive files = %v, want %v", files, want)
	}
}

// tarFiles lists the regular files of a tar.gz.
func tarFiles(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var files []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
	slices.Sort(files)
	return files
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	sim, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.CreateProject(ctx, ProjectOptions{Path: "g/sub/p", Files: map[string]string{"a": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := sim.CreateUser(ctx, UserOptions{Username: "dora"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, MemberOptions{Group: "g", UserID: u.ID, AccessLevel: Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.CreateToken(ctx, TokenOptions{UserID: u.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	mustPush(t, sim, PushOptions{Project: p.PathWithNamespace, Branch: "b", Commits: commits("p", 1)})
	mr, err := sim.CreateMergeRequest(ctx, MROptions{Project: p.PathWithNamespace, SourceBranch: "b", Title: "keep me"})
	if err != nil {
		t.Fatal(err)
	}
	admin := sim.AdminToken()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatal("second Close:", err)
	}

	again, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	url, err := again.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if again.AdminToken() != admin {
		t.Error("admin token changed across restart")
	}
	c := newClient(t, url, tok.Value)
	got, _, err := c.MergeRequests.GetMergeRequest("g/sub/p", int64(mr.IID), nil)
	if err != nil || got.Title != "keep me" || got.SHA != mr.HeadSHA {
		t.Fatalf("MR after restart = %+v, %v", got, err)
	}
	// IDs continue where they stopped.
	u2, err := again.CreateUser(ctx, UserOptions{Username: "eve"})
	if err != nil || u2.ID <= u.ID {
		t.Errorf("new user after restart = %+v, %v", u2, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "gitlab-sim.json")); err != nil || !strings.Contains(string(b), url) || !strings.Contains(string(b), admin) {
		t.Errorf("gitlab-sim.json = %s, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "gitlab-sim.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("gitlab-sim.json mode = %v, %v", fi.Mode(), err)
	}
}
