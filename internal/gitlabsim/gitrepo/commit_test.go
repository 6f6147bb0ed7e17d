package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitOpen(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	branch, err := repo.DefaultBranch(ctx)
	if err != nil || branch != "main" {
		t.Fatalf("DefaultBranch = %q, %v; want main", branch, err)
	}
	again, err := Open(repo.Dir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if again.Dir() != repo.Dir() || !filepath.IsAbs(again.Dir()) {
		t.Fatalf("Dir = %q, want %q (absolute)", again.Dir(), repo.Dir())
	}
	_, err = Open(t.TempDir())
	wantErr(t, err, ErrRepoNotFound)
	_, err = Init(ctx, t.TempDir(), "bad..name")
	wantErr(t, err, ErrInvalid)
}

func TestCommitActions(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	root := commit(t, repo, "main", "Initial commit\n\nWith a body.\n",
		create("README.md", "hello\n"), create("dir/a.tf", "a"), create("dir/b.tf", "b"))
	if len(root.ParentSHAs) != 0 || root.Title != "Initial commit" || root.Message != "Initial commit\n\nWith a body.\n" {
		t.Fatalf("root commit = %+v", root)
	}
	if !root.AuthoredAt.Equal(sig(len("Initial commit\n\nWith a body.\n")).When) || root.AuthorEmail != "ada@example.com" {
		t.Fatalf("author = %s <%s> %v", root.AuthorName, root.AuthorEmail, root.AuthoredAt)
	}
	if _, off := root.AuthoredAt.Zone(); off != 2*3600 {
		t.Fatalf("author zone offset = %d, want 7200", off)
	}

	tests := []struct {
		name    string
		actions []Action
		want    map[string]string // changes to the previous tree; "" deletes
	}{
		{"update", []Action{{Kind: ActionUpdate, Path: "README.md", Content: []byte("hello again\n")}},
			map[string]string{"README.md": "hello again\n"}},
		{"delete", []Action{{Kind: ActionDelete, Path: "dir/b.tf"}}, map[string]string{"dir/b.tf": ""}},
		{"move keeping content", []Action{{Kind: ActionMove, PreviousPath: "dir/a.tf", Path: "mod/a.tf"}},
			map[string]string{"dir/a.tf": "", "mod/a.tf": "a"}},
		{"move with content", []Action{{Kind: ActionMove, PreviousPath: "mod/a.tf", Path: "a.tf", Content: []byte("A")}},
			map[string]string{"mod/a.tf": "", "a.tf": "A"}},
		{"create where a directory was emptied", []Action{{Kind: ActionCreate, Path: "mod", Content: []byte("file")}},
			map[string]string{"mod": "file"}},
		{"sequential actions on one path", []Action{
			create("tmp.txt", "1"),
			{Kind: ActionUpdate, Path: "tmp.txt", Content: []byte("2")},
			{Kind: ActionMove, PreviousPath: "tmp.txt", Path: "final.txt"},
		}, map[string]string{"final.txt": "2"}},
		{"empty actions", nil, map[string]string{}},
	}
	want := tree(t, repo, root.SHA)
	prev := root
	for i, tc := range tests {
		c := commit(t, repo, "main", fmt.Sprintf("step %d: %s", i, tc.name), tc.actions...)
		if len(c.ParentSHAs) != 1 || c.ParentSHAs[0] != prev.SHA {
			t.Fatalf("%s: parents = %v, want [%s]", tc.name, c.ParentSHAs, prev.SHA)
		}
		for p, content := range tc.want {
			if content == "" {
				delete(want, p)
			} else {
				want[p] = content
			}
		}
		if got := tree(t, repo, c.SHA); !maps.Equal(got, want) {
			t.Fatalf("%s: tree = %v, want %v", tc.name, got, want)
		}
		prev = c
	}
	head, err := repo.Branch(ctx, "main")
	if err != nil || head.SHA != prev.SHA {
		t.Fatalf("Branch(main) = %+v, %v; want %s", head, err, prev.SHA)
	}
}

func TestCommitErrors(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	base := commit(t, repo, "main", "base", create("a.txt", "a"), create("dir/b.txt", "b"))
	tests := []struct {
		name string
		opts CommitOptions
		want error
	}{
		{"create existing", CommitOptions{Actions: []Action{create("a.txt", "x")}}, ErrFileExists},
		{"create over directory", CommitOptions{Actions: []Action{create("dir", "x")}}, ErrFileExists},
		{"create below a file", CommitOptions{Actions: []Action{create("a.txt/c", "x")}}, ErrFileExists},
		{"update missing", CommitOptions{Actions: []Action{{Kind: ActionUpdate, Path: "nope", Content: []byte("x")}}}, ErrFileNotFound},
		{"delete missing", CommitOptions{Actions: []Action{{Kind: ActionDelete, Path: "nope"}}}, ErrFileNotFound},
		{"move missing", CommitOptions{Actions: []Action{{Kind: ActionMove, PreviousPath: "nope", Path: "x"}}}, ErrFileNotFound},
		{"move onto existing", CommitOptions{Actions: []Action{{Kind: ActionMove, PreviousPath: "a.txt", Path: "dir/b.txt"}}}, ErrFileExists},
		{"delete twice", CommitOptions{Actions: []Action{{Kind: ActionDelete, Path: "a.txt"}, {Kind: ActionDelete, Path: "a.txt"}}}, ErrFileNotFound},
		{"unknown kind", CommitOptions{Actions: []Action{{Kind: "rename", Path: "a.txt"}}}, ErrInvalid},
		{"dot-dot path", CommitOptions{Actions: []Action{create("../x", "x")}}, ErrInvalid},
		{"absolute path", CommitOptions{Actions: []Action{create("/x", "x")}}, ErrInvalid},
		{".git path", CommitOptions{Actions: []Action{create(".git/config", "x")}}, ErrInvalid},
		{"empty message", CommitOptions{Message: " "}, ErrInvalid},
		{"bad branch name", CommitOptions{Branch: "a b"}, ErrInvalid},
		{"missing branch without start", CommitOptions{Branch: "feature"}, ErrBranchNotFound},
		{"unknown start", CommitOptions{Branch: "feature", StartSHA: "no-such-ref"}, ErrRefNotFound},
		{"bad author", CommitOptions{Author: Signature{Name: "", Email: "x@y"}}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			if opts.Branch == "" {
				opts.Branch = "main"
			}
			if opts.Message == "" {
				opts.Message = "msg"
			}
			if opts.Author == (Signature{}) {
				opts.Author = sig(0)
			}
			_, err := repo.Commit(ctx, opts)
			wantErr(t, err, tc.want)
		})
	}
	t.Cleanup(func() {
		head, err := repo.Branch(ctx, "main")
		if err != nil || head.SHA != base.SHA {
			t.Errorf("failed commits moved main: %+v, %v", head, err)
		}
	})
}

func TestCommitBranchFromStart(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c1 := commit(t, repo, "main", "one", create("a", "1"))
	c2 := commit(t, repo, "main", "two", Action{Kind: ActionUpdate, Path: "a", Content: []byte("2")})

	feat, err := repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: c1.SHA, Message: "feat",
		Author: sig(3), Actions: []Action{create("f", "f")}})
	if err != nil {
		t.Fatalf("Commit on new branch: %v", err)
	}
	if len(feat.ParentSHAs) != 1 || feat.ParentSHAs[0] != c1.SHA {
		t.Fatalf("feature parents = %v, want [%s]", feat.ParentSHAs, c1.SHA)
	}
	if got := tree(t, repo, "feature"); !maps.Equal(got, map[string]string{"a": "1", "f": "f"}) {
		t.Fatalf("feature tree = %v", got)
	}
	// A start point on an existing branch must match its head unless forced.
	_, err = repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: c2.SHA, Message: "x", Author: sig(4)})
	wantErr(t, err, ErrBranchExists)
	forced, err := repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: "main", Force: true,
		Message: "forced", Author: sig(5)})
	if err != nil || forced.ParentSHAs[0] != c2.SHA {
		t.Fatalf("forced commit = %+v, %v; want parent %s", forced, err, c2.SHA)
	}
	// A distinct committer is recorded as given.
	committer := Signature{Name: "Bot", Email: "bot@example.com", When: baseTime.Add(time.Hour)}
	c, err := repo.Commit(ctx, CommitOptions{Branch: "main", Message: "by bot", Author: sig(6), Committer: &committer})
	if err != nil || c.CommitterName != "Bot" || !c.CommittedAt.Equal(committer.When) || c.AuthorName != "Ada Lovelace" {
		t.Fatalf("commit with committer = %+v, %v", c, err)
	}
}

func TestCommitZeroTimeUsesClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	repo, err := Init(ctx, t.TempDir(), "main", WithClock(func() time.Time { return fixed }))
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.Commit(ctx, CommitOptions{Branch: "main", Message: "m",
		Author: Signature{Name: "A", Email: "a@b"}, Actions: []Action{create("x", "y")}})
	if err != nil || !c.AuthoredAt.Equal(fixed) || !c.CommittedAt.Equal(fixed) {
		t.Fatalf("commit = %+v, %v; want times %v", c, err, fixed)
	}
}

func TestCommitStaleRef(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	base := commit(t, repo, "main", "base", create("a", "a"))
	// Another writer moves main between the read and the update.
	moved := commit(t, repo, "main", "moved", create("b", "b"))
	err := repo.updateRef(ctx, "refs/heads/main", base.SHA, base.SHA)
	wantErr(t, err, ErrStaleRef)
	if head, _ := repo.Branch(ctx, "main"); head.SHA != moved.SHA {
		t.Fatalf("main = %s, want %s", head.SHA, moved.SHA)
	}
}

func TestCommitManyFiles(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	const n = 5000
	actions := make([]Action, n)
	for i := range actions {
		actions[i] = create(fmt.Sprintf("dir%02d/file%04d.txt", i%50, i), fmt.Sprintf("content %d\n", i))
	}
	start := time.Now()
	c := commit(t, repo, "main", "many", actions...)
	// About a second alone; the bound leaves room for a loaded CI machine and
	// still fails a commit that grows with the square of the files.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("committing %d files took %v", n, d)
	}
	files, err := repo.Files(ctx, c.SHA)
	if err != nil || len(files) != n {
		t.Fatalf("Files = %d files, %v; want %d", len(files), err, n)
	}
	// Delete half, update a quarter, create more: one commit again.
	actions = actions[:0]
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("dir%02d/file%04d.txt", i%50, i)
		switch i % 4 {
		case 0, 1:
			actions = append(actions, Action{Kind: ActionDelete, Path: p})
		case 2:
			actions = append(actions, Action{Kind: ActionUpdate, Path: p, Content: []byte("updated")})
		}
		actions = append(actions, create(fmt.Sprintf("new/%d", i), "n"))
	}
	c2 := commit(t, repo, "main", "churn", actions...)
	added, modified, removed, err := repo.CommitFileChanges(ctx, c2.SHA)
	if err != nil || len(added) != n || len(modified) != n/4 || len(removed) != n/2 {
		t.Fatalf("changes = %d added, %d modified, %d removed, %v", len(added), len(modified), len(removed), err)
	}
	got, err := repo.ReadFile(ctx, c2.SHA, "dir02/file0002.txt")
	if err != nil || string(got) != "updated" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
}

func TestReadFileErrors(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c := commit(t, repo, "main", "base", create("dir/a", "a"))
	_, err := repo.ReadFile(ctx, c.SHA, "missing")
	wantErr(t, err, ErrFileNotFound)
	_, err = repo.ReadFile(ctx, c.SHA, "dir")
	wantErr(t, err, ErrFileNotFound)
	_, err = repo.ReadFile(ctx, "nope", "dir/a")
	wantErr(t, err, ErrRefNotFound)
	_, err = repo.ReadFile(ctx, c.SHA, "../etc/passwd")
	wantErr(t, err, ErrInvalid)
	if _, err := os.Stat(filepath.Join(repo.Dir(), "index")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a bare repository must not get an index file: %v", err)
	}
	if strings.Contains(repo.Dir(), "..") {
		t.Fatalf("Dir not clean: %s", repo.Dir())
	}
}

func TestConcurrentCommitsLoseNothing(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	commit(t, repo, "main", "base", create("base", "b"))
	const writers = 6
	errs := make(chan error, writers)
	stale := make(chan struct{}, 1000)
	for i := range writers {
		go func() {
			// Retry on ErrStaleRef as callers are told to: each writer's file
			// must end up on main exactly once.
			for {
				_, err := repo.Commit(ctx, CommitOptions{Branch: "main", Message: fmt.Sprintf("w%d", i), Author: sig(i),
					Actions: []Action{create(fmt.Sprintf("w%d", i), "x")}})
				if errors.Is(err, ErrStaleRef) {
					stale <- struct{}{}
					continue
				}
				errs <- err
				return
			}
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	log, err := repo.Log(ctx, "", "main")
	if err != nil || len(log) != writers+1 {
		t.Fatalf("main has %d commits, %v; want %d (stale retries: %d)", len(log), err, writers+1, len(stale))
	}
	if files := tree(t, repo, "main"); len(files) != writers+1 {
		t.Fatalf("main tree = %v", files)
	}
}
