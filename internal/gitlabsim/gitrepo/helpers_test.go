package gitrepo

import (
	"context"
	"errors"
	"testing"
	"time"
)

// baseTime makes every test commit deterministic.
var baseTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))

func sig(minute int) Signature {
	return Signature{Name: "Ada Lovelace", Email: "ada@example.com", When: baseTime.Add(time.Duration(minute) * time.Minute)}
}

// setup returns an empty repository whose default branch is main.
func setup(t *testing.T) (*Repo, context.Context) {
	t.Helper()
	ctx := context.Background()
	repo, err := Init(ctx, t.TempDir()+"/repo.git", "main")
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return repo, ctx
}

func create(path, content string) Action {
	return Action{Kind: ActionCreate, Path: path, Content: []byte(content)}
}

// commit writes one commit on branch or fails the test.
func commit(t *testing.T, repo *Repo, branch, msg string, actions ...Action) Commit {
	t.Helper()
	c, err := repo.Commit(context.Background(), CommitOptions{
		Branch: branch, Message: msg, Author: sig(len(msg)), Actions: actions,
	})
	if err != nil {
		t.Fatalf("Commit %q on %s: %v", msg, branch, err)
	}
	return c
}

// tree reads every file of a commit into a map.
func tree(t *testing.T, repo *Repo, ref string) map[string]string {
	t.Helper()
	ctx := context.Background()
	paths, err := repo.Files(ctx, ref)
	if err != nil {
		t.Fatalf("Files(%s): %v", ref, err)
	}
	files := make(map[string]string, len(paths))
	for _, p := range paths {
		b, err := repo.ReadFile(ctx, ref, p)
		if err != nil {
			t.Fatalf("ReadFile(%s, %s): %v", ref, p, err)
		}
		files[p] = string(b)
	}
	return files
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
