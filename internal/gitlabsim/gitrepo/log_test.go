package gitrepo

import (
	"slices"
	"testing"
)

func shas(commits []Commit) []string {
	out := make([]string, len(commits))
	for i, c := range commits {
		out[i] = c.SHA
	}
	return out
}

func TestLog(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c1 := commit(t, repo, "main", "c1", create("a", "1"))
	c2 := commit(t, repo, "main", "c2", create("b", "2"))
	c3 := commit(t, repo, "main", "c3", create("c", "3"))
	f1, err := repo.Commit(ctx, CommitOptions{Branch: "feature", StartSHA: c2.SHA, Message: "f1", Author: sig(1),
		Actions: []Action{create("f", "f")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to string
		want     []string
	}{
		{"all ancestors", "", "main", []string{c3.SHA, c2.SHA, c1.SHA}},
		{"range", c1.SHA, "main", []string{c3.SHA, c2.SHA}},
		{"empty range", "main", c2.SHA, nil},
		{"diverged", "main", "feature", []string{f1.SHA}},
		{"diverged reverse", "feature", "main", []string{c3.SHA}},
		{"zero length", "main", "main", nil},
	}
	for _, tc := range tests {
		got, err := repo.Log(ctx, tc.from, tc.to)
		if err != nil || !slices.Equal(shas(got), tc.want) {
			t.Errorf("%s: Log(%q, %q) = %v, %v; want %v", tc.name, tc.from, tc.to, shas(got), err, tc.want)
		}
	}
	got, _ := repo.Log(ctx, "", "main")
	if got[0].Title != "c3" || len(got[2].ParentSHAs) != 0 {
		t.Errorf("Log details = %+v", got)
	}
	_, err = repo.Log(ctx, "nope", "main")
	wantErr(t, err, ErrRefNotFound)
	_, err = repo.Log(ctx, "", "-p")
	wantErr(t, err, ErrInvalid)
}

func TestCommitFileChanges(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	root := commit(t, repo, "main", "root", create("a.tf", "a\n"), create("dir/b.tf", "b\n"), create("c.tf", "c\n"))
	change := commit(t, repo, "main", "change",
		Action{Kind: ActionUpdate, Path: "a.tf", Content: []byte("a2\n")},
		Action{Kind: ActionDelete, Path: "c.tf"},
		Action{Kind: ActionMove, PreviousPath: "dir/b.tf", Path: "mod/b.tf"},
		create("new.tf", "n\n"),
		Action{Kind: ActionChmod, Path: "a.tf", ExecuteFilemode: true},
	)
	side, err := repo.Commit(ctx, CommitOptions{Branch: "side", StartSHA: root.SHA, Message: "side", Author: sig(1),
		Actions: []Action{create("side.tf", "s\n")}})
	if err != nil {
		t.Fatal(err)
	}
	merge, err := repo.Merge(ctx, "main", "side", "Merge side", sig(2))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                     string
		sha                      string
		added, modified, removed []string
	}{
		{"root commit: all added", root.SHA, []string{"a.tf", "c.tf", "dir/b.tf"}, nil, nil},
		{"rename is removed plus added", change.SHA, []string{"mod/b.tf", "new.tf"}, []string{"a.tf"}, []string{"c.tf", "dir/b.tf"}},
		{"merge against first parent", merge.SHA, []string{"side.tf"}, nil, nil},
		{"side branch", side.SHA, []string{"side.tf"}, nil, nil},
	}
	for _, tc := range tests {
		added, modified, removed, err := repo.CommitFileChanges(ctx, tc.sha)
		if err != nil || !slices.Equal(added, tc.added) || !slices.Equal(modified, tc.modified) || !slices.Equal(removed, tc.removed) {
			t.Errorf("%s: got added=%v modified=%v removed=%v err=%v; want %v %v %v",
				tc.name, added, modified, removed, err, tc.added, tc.modified, tc.removed)
		}
	}
	_, _, _, err = repo.CommitFileChanges(ctx, "nope")
	wantErr(t, err, ErrRefNotFound)
}
