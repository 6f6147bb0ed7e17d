package gitrepo

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const longText = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n"

func TestCompare(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	root := commit(t, repo, "main", "root",
		create("a.txt", "line1\nline2\n"), create("old.txt", longText), create("gone.txt", "gone\n"))
	f1, err := repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: "main", Message: "f1", Author: sig(1),
		Actions: []Action{
			{Kind: ActionUpdate, Path: "a.txt", Content: []byte("line1\nline two\n")},
			{Kind: ActionMove, PreviousPath: "old.txt", Path: "renamed.txt"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f2 := commit(t, repo, "feature", "f2", Action{Kind: ActionDelete, Path: "gone.txt"}, create("new.txt", "new\n"))
	commit(t, repo, "main", "main diverges", create("main-only.txt", "m\n"))

	modA := Diff{OldPath: "a.txt", NewPath: "a.txt", AMode: "100644", BMode: "100644",
		Diff: "@@ -1,2 +1,2 @@\n line1\n-line2\n+line two\n"}
	deleted := Diff{OldPath: "gone.txt", NewPath: "gone.txt", AMode: "100644", BMode: "0",
		Diff: "@@ -1 +0,0 @@\n-gone\n", DeletedFile: true}
	added := Diff{OldPath: "new.txt", NewPath: "new.txt", AMode: "0", BMode: "100644",
		Diff: "@@ -0,0 +1 @@\n+new\n", NewFile: true}
	renamed := Diff{OldPath: "old.txt", NewPath: "renamed.txt", AMode: "100644", BMode: "100644", RenamedFile: true}
	mainOnlyGone := Diff{OldPath: "main-only.txt", NewPath: "main-only.txt", AMode: "100644", BMode: "0",
		Diff: "@@ -1 +0,0 @@\n-m\n", DeletedFile: true}

	tests := []struct {
		name        string
		from, to    string
		straight    bool
		wantCommits []string
		wantDiffs   []Diff
	}{
		{"from merge base", "main", "feature", false, []string{f1.SHA, f2.SHA}, []Diff{modA, deleted, added, renamed}},
		{"straight", "main", "feature", true, []string{f1.SHA, f2.SHA}, []Diff{modA, deleted, mainOnlyGone, added, renamed}},
		{"same ref", "feature", "feature", false, nil, nil},
		{"one commit", f1.SHA, f2.SHA, false, []string{f2.SHA}, []Diff{deleted, added}},
	}
	for _, tc := range tests {
		commits, diffs, err := repo.Compare(ctx, tc.from, tc.to, tc.straight)
		if err != nil {
			t.Fatalf("%s: Compare: %v", tc.name, err)
		}
		if !slices.Equal(shas(commits), tc.wantCommits) {
			t.Errorf("%s: commits = %v, want %v (oldest first)", tc.name, shas(commits), tc.wantCommits)
		}
		sortDiffs(diffs)
		sortDiffs(tc.wantDiffs)
		if !slices.Equal(diffs, tc.wantDiffs) {
			t.Errorf("%s: diffs =\n%+v\nwant\n%+v", tc.name, diffs, tc.wantDiffs)
		}
	}

	rootDiffs, err := repo.Diffs(ctx, "", root.SHA, true)
	if err != nil || len(rootDiffs) != 3 || !rootDiffs[0].NewFile || rootDiffs[0].AMode != "0" {
		t.Errorf("root diffs = %+v, %v", rootDiffs, err)
	}
	_, _, err = repo.Compare(ctx, "nope", "main", false)
	wantErr(t, err, ErrRefNotFound)
}

func sortDiffs(d []Diff) {
	slices.SortFunc(d, func(a, b Diff) int { return strings.Compare(a.NewPath, b.NewPath) })
}

func TestDiffSpecialFiles(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	base := commit(t, repo, "main", "base", create("bin", "\x00\x01binary"), create("mode.sh", "echo\n"),
		create("name with spaces.txt", "x\n"))
	next := commit(t, repo, "main", "next",
		Action{Kind: ActionUpdate, Path: "bin", Content: []byte("\x00\x02binary")},
		Action{Kind: ActionChmod, Path: "mode.sh", ExecuteFilemode: true},
		Action{Kind: ActionUpdate, Path: "name with spaces.txt", Content: []byte("y\n")},
		create("empty", ""),
	)
	diffs, err := repo.Diffs(ctx, base.SHA, next.SHA, true)
	if err != nil {
		t.Fatal(err)
	}
	sortDiffs(diffs)
	want := []Diff{
		{OldPath: "bin", NewPath: "bin", AMode: "100644", BMode: "100644", Diff: "Binary files a/bin and b/bin differ\n"},
		{OldPath: "empty", NewPath: "empty", AMode: "0", BMode: "100644", NewFile: true},
		{OldPath: "mode.sh", NewPath: "mode.sh", AMode: "100644", BMode: "100755"},
		{OldPath: "name with spaces.txt", NewPath: "name with spaces.txt", AMode: "100644", BMode: "100644",
			Diff: "@@ -1 +1 @@\n-x\n+y\n"},
	}
	if !slices.Equal(diffs, want) {
		t.Fatalf("diffs =\n%+v\nwant\n%+v", diffs, want)
	}
}

func TestParseDiffTypeChange(t *testing.T) {
	t.Parallel()
	// Real output of `git diff --raw -p -z -M` for a symlink turned into a file.
	out := ":120000 100644 7937c68 3bcf9fd T\x00link\x00\x00" +
		"diff --git a/link b/link\ndeleted file mode 120000\nindex 7937c68..0000000\n--- a/link\n+++ /dev/null\n@@ -1 +0,0 @@\n-g\n\\ No newline at end of file\n" +
		"diff --git a/link b/link\nnew file mode 100644\nindex 0000000..3bcf9fd\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+notlink\n"
	diffs, err := parseDiff(out)
	want := Diff{OldPath: "link", NewPath: "link", AMode: "120000", BMode: "100644",
		Diff: "@@ -1 +0,0 @@\n-g\n\\ No newline at end of file\n@@ -0,0 +1 @@\n+notlink\n"}
	if err != nil || len(diffs) != 1 || diffs[0] != want {
		t.Fatalf("parseDiff = %+v, %v; want %+v", diffs, err, want)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	base := commit(t, repo, "main", "base", create("shared.txt", "1\n2\n3\n4\n5\n"), create("conflict.txt", "base\n"))
	_, err := repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: "main", Message: "feature", Author: sig(1),
		Actions: []Action{{Kind: ActionUpdate, Path: "shared.txt", Content: []byte("1\n2\n3\n4\nfive\n")}, create("f.txt", "f\n")}})
	if err != nil {
		t.Fatal(err)
	}
	mainHead := commit(t, repo, "main", "main change", Action{Kind: ActionUpdate, Path: "shared.txt", Content: []byte("one\n2\n3\n4\n5\n")})

	m, err := repo.Merge(ctx, "main", "feature", "Merge branch 'feature' into 'main'\n\nSee merge request g/p!1", sig(5))
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	feature, _ := repo.Branch(ctx, "feature")
	if !slices.Equal(m.ParentSHAs, []string{mainHead.SHA, feature.SHA}) || m.Title != "Merge branch 'feature' into 'main'" {
		t.Fatalf("merge commit = %+v", m)
	}
	if head, _ := repo.Branch(ctx, "main"); head.SHA != m.SHA {
		t.Fatalf("main = %s, want merge %s", head.SHA, m.SHA)
	}
	want := map[string]string{"shared.txt": "one\n2\n3\n4\nfive\n", "conflict.txt": "base\n", "f.txt": "f\n"}
	if got := tree(t, repo, m.SHA); !mapsEqual(got, want) {
		t.Fatalf("merged tree = %v, want %v", got, want)
	}
	if mb, err := repo.MergeBase(ctx, "main", "feature"); err != nil || mb != feature.SHA {
		t.Fatalf("MergeBase after merge = %s, %v", mb, err)
	}

	// Both sides change conflict.txt: a conflict, and main does not move.
	if _, err := repo.Commit(ctx, CommitOptions{Branch: "other", StartSHA: base.SHA, Message: "other", Author: sig(6),
		Actions: []Action{{Kind: ActionUpdate, Path: "conflict.txt", Content: []byte("other\n")}}}); err != nil {
		t.Fatal(err)
	}
	commit(t, repo, "main", "main conflict", Action{Kind: ActionUpdate, Path: "conflict.txt", Content: []byte("main\n")})
	before, _ := repo.Branch(ctx, "main")
	_, err = repo.Merge(ctx, "main", "other", "Merge other", sig(7))
	wantErr(t, err, ErrMergeConflict)
	var ce *MergeConflictError
	if !errors.As(err, &ce) || !slices.Equal(ce.Paths, []string{"conflict.txt"}) {
		t.Fatalf("conflict error = %#v", err)
	}
	if after, _ := repo.Branch(ctx, "main"); after != before {
		t.Fatalf("main moved on conflict: %v -> %v", before, after)
	}
	_, err = repo.Merge(ctx, "nope", "other", "m", sig(8))
	wantErr(t, err, ErrBranchNotFound)
	_, err = repo.Merge(ctx, "main", "nope", "m", sig(8))
	wantErr(t, err, ErrRefNotFound)

	if mb, err := repo.MergeBase(ctx, "main", "other"); err != nil || mb != base.SHA {
		t.Fatalf("MergeBase = %s, %v; want %s", mb, err, base.SHA)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
