package gitrepo

import (
	"slices"
	"testing"
)

func TestBranches(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c1 := commit(t, repo, "main", "one", create("a", "1"))
	c2 := commit(t, repo, "main", "two", create("b", "2"))

	if _, err := repo.CreateBranch(ctx, "feature/x", c1.SHA[:10]); err != nil {
		t.Fatalf("CreateBranch: %v", err)
	}
	_, err := repo.CreateBranch(ctx, "feature/x", "main")
	wantErr(t, err, ErrBranchExists)
	_, err = repo.CreateBranch(ctx, "other", "no-such-ref")
	wantErr(t, err, ErrRefNotFound)
	_, err = repo.CreateBranch(ctx, "-bad", "main")
	wantErr(t, err, ErrInvalid)

	got, err := repo.Branches(ctx)
	want := []Branch{{Name: "feature/x", SHA: c1.SHA}, {Name: "main", SHA: c2.SHA}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Branches = %v, %v; want %v", got, err, want)
	}
	if b, err := repo.Branch(ctx, "feature/x"); err != nil || b.SHA != c1.SHA {
		t.Fatalf("Branch = %+v, %v", b, err)
	}
	_, err = repo.Branch(ctx, "nope")
	wantErr(t, err, ErrBranchNotFound)

	if err := repo.DeleteBranch(ctx, "feature/x"); err != nil {
		t.Fatalf("DeleteBranch: %v", err)
	}
	wantErr(t, repo.DeleteBranch(ctx, "feature/x"), ErrBranchNotFound)
	if got, _ := repo.Branches(ctx); len(got) != 1 {
		t.Fatalf("Branches after delete = %v", got)
	}
	if err := repo.SetDefaultBranch(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if b, _ := repo.DefaultBranch(ctx); b != "dev" {
		t.Fatalf("DefaultBranch = %q, want dev", b)
	}
}

func TestEmptyRepo(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	if b, err := repo.Branches(ctx); err != nil || len(b) != 0 {
		t.Fatalf("Branches = %v, %v", b, err)
	}
	if tags, err := repo.Tags(ctx); err != nil || len(tags) != 0 {
		t.Fatalf("Tags = %v, %v", tags, err)
	}
	_, err := repo.ResolveRef(ctx, "main")
	wantErr(t, err, ErrRefNotFound)
	_, err = repo.GetCommit(ctx, "HEAD")
	wantErr(t, err, ErrRefNotFound)
	_, err = repo.Log(ctx, "", "main")
	wantErr(t, err, ErrRefNotFound)
}

func TestTags(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c1 := commit(t, repo, "main", "one", create("a", "1"))
	c2 := commit(t, repo, "main", "two", create("b", "2"))

	light, err := repo.CreateTag(ctx, "v1.0.0", c1.SHA, "", Signature{})
	if err != nil || light != (Tag{Name: "v1.0.0", SHA: c1.SHA, TargetSHA: c1.SHA}) {
		t.Fatalf("lightweight tag = %+v, %v", light, err)
	}
	ann, err := repo.CreateTag(ctx, "v2.0.0", "main", "Release 2\n\nNotes.\n", sig(9))
	if err != nil {
		t.Fatalf("annotated tag: %v", err)
	}
	if !ann.Annotated || ann.SHA != c2.SHA || ann.TargetSHA == c2.SHA || ann.Message != "Release 2\n\nNotes.\n" {
		t.Fatalf("annotated tag = %+v", ann)
	}
	// An annotated tag resolves to its commit.
	if sha, err := repo.ResolveRef(ctx, "v2.0.0"); err != nil || sha != c2.SHA {
		t.Fatalf("ResolveRef(v2.0.0) = %s, %v", sha, err)
	}
	if c, err := repo.GetCommit(ctx, "refs/tags/v2.0.0"); err != nil || c.SHA != c2.SHA {
		t.Fatalf("GetCommit(tag) = %s, %v", c.SHA, err)
	}

	_, err = repo.CreateTag(ctx, "v1.0.0", c2.SHA, "", Signature{})
	wantErr(t, err, ErrTagExists)
	_, err = repo.CreateTag(ctx, "v2.0.0", c2.SHA, "again", sig(1))
	wantErr(t, err, ErrTagExists)
	_, err = repo.CreateTag(ctx, "v3", "nope", "", Signature{})
	wantErr(t, err, ErrRefNotFound)

	tags, err := repo.Tags(ctx)
	if err != nil || len(tags) != 2 || tags[0] != light || tags[1] != ann {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
	if err := repo.DeleteTag(ctx, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, repo.DeleteTag(ctx, "v1.0.0"), ErrTagNotFound)
	_, err = repo.Tag(ctx, "v1.0.0")
	wantErr(t, err, ErrTagNotFound)
}

func TestResolveRef(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c := commit(t, repo, "main", "one", create("a", "1"))
	for _, ref := range []string{"main", "refs/heads/main", "HEAD", c.SHA, c.SHA[:8]} {
		if sha, err := repo.ResolveRef(ctx, ref); err != nil || sha != c.SHA {
			t.Errorf("ResolveRef(%q) = %q, %v; want %s", ref, sha, err, c.SHA)
		}
	}
	for ref, want := range map[string]error{"": ErrInvalid, "--all": ErrInvalid, "nope": ErrRefNotFound, zeroSHA: ErrRefNotFound} {
		_, err := repo.ResolveRef(ctx, ref)
		if err == nil || !errorsIs(err, want) {
			t.Errorf("ResolveRef(%q) error = %v, want %v", ref, err, want)
		}
	}
}

func TestSetRefAndFetchFrom(t *testing.T) {
	t.Parallel()
	upstream, ctx := setup(t)
	base := commit(t, upstream, "main", "base", create("a", "1"))
	fork, err := Init(ctx, t.TempDir()+"/fork.git", "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := fork.FetchFrom(ctx, upstream, "main", "refs/heads/main"); err != nil {
		t.Fatalf("FetchFrom upstream: %v", err)
	}
	change := commit(t, fork, "main", "fork change", create("b", "2"))
	if change.ParentSHAs[0] != base.SHA {
		t.Fatalf("fork commit parent = %v", change.ParentSHAs)
	}

	// The fork's commit (by SHA) lands in the upstream as a merge request ref.
	if err := upstream.FetchFrom(ctx, fork, change.SHA, "refs/merge-requests/1/head"); err != nil {
		t.Fatalf("FetchFrom fork: %v", err)
	}
	got, err := upstream.GetCommit(ctx, "refs/merge-requests/1/head")
	if err != nil || got.SHA != change.SHA {
		t.Fatalf("merge request ref = %s, %v; want %s", got.SHA, err, change.SHA)
	}
	if b, err := upstream.ReadFile(ctx, change.SHA, "b"); err != nil || string(b) != "2" {
		t.Fatalf("ReadFile of fetched commit = %q, %v", b, err)
	}
	wantErr(t, upstream.FetchFrom(ctx, fork, "nope", "refs/x"), ErrRefNotFound)
	wantErr(t, upstream.FetchFrom(ctx, fork, "main", "heads/x"), ErrInvalid)

	if err := upstream.SetRef(ctx, "refs/merge-requests/2/head", base.SHA); err != nil {
		t.Fatalf("SetRef: %v", err)
	}
	if sha, _ := upstream.ResolveRef(ctx, "refs/merge-requests/2/head"); sha != base.SHA {
		t.Fatalf("ref = %s, want %s", sha, base.SHA)
	}
	wantErr(t, upstream.SetRef(ctx, "merge-requests/2/head", base.SHA), ErrInvalid)
	wantErr(t, upstream.SetRef(ctx, "refs/x", "nope"), ErrRefNotFound)
	if err := upstream.DeleteRef(ctx, "refs/merge-requests/2/head"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, upstream.DeleteRef(ctx, "refs/merge-requests/2/head"), ErrRefNotFound)
}

func TestCheckRefName(t *testing.T) {
	t.Parallel()
	good := []string{"main", "feature/x", "v1.0.0", "release-2024.05", "a@b"}
	bad := []string{"", "@", "-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "x/", "x.", "x.lock",
		"a/.hidden", "a//b", "a@{1}", "tab\there"}
	for _, n := range good {
		if err := checkRefName(n); err != nil {
			t.Errorf("checkRefName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range bad {
		if err := checkRefName(n); !errorsIs(err, ErrInvalid) {
			t.Errorf("checkRefName(%q) = %v, want ErrInvalid", n, err)
		}
	}
}
