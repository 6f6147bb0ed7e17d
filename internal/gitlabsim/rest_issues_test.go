package gitlabsim

import (
	"errors"
	"slices"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestIssuesREST: client-go creates an issue with labels, edits it, closes
// and reopens it by state_event, lists it by state, and gets 400 and 404
// where GitLab answers them.
func TestIssuesREST(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.ID
	labels := gitlab.LabelOptions{"drift", "infra"}
	is, _, err := f.client.Issues.CreateIssue(pid, &gitlab.CreateIssueOptions{Title: gitlab.Ptr("Drift: stack app"),
		Description: gitlab.Ptr("body"), Labels: &labels})
	if err != nil {
		t.Fatal(err)
	}
	if is.IID != 1 || is.State != "opened" || !slices.Equal([]string(is.Labels), []string{"drift", "infra"}) || is.Description != "body" {
		t.Fatalf("created issue = %+v", is)
	}
	none := gitlab.LabelOptions{}
	up, _, err := f.client.Issues.UpdateIssue(pid, is.IID, &gitlab.UpdateIssueOptions{Description: gitlab.Ptr("cleared"),
		Labels: &none, StateEvent: gitlab.Ptr("close")})
	if err != nil {
		t.Fatal(err)
	}
	if up.State != "closed" || up.ClosedAt == nil || len(up.Labels) != 0 || up.Title != "Drift: stack app" {
		t.Fatalf("closed issue = %+v", up)
	}
	closed, _, err := f.client.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{State: gitlab.Ptr("closed")})
	if err != nil || len(closed) != 1 || closed[0].IID != is.IID {
		t.Fatalf("closed issues = %+v, %v", closed, err)
	}
	if _, _, err := f.client.Issues.UpdateIssue(pid, is.IID, &gitlab.UpdateIssueOptions{StateEvent: gitlab.Ptr("reopen")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := f.client.Issues.GetIssue(pid, is.IID)
	if err != nil || got.State != "opened" || got.ClosedAt != nil || got.Description != "cleared" {
		t.Fatalf("reopened issue = %+v, %v", got, err)
	}
	stored, err := f.sim.Issues(f.project.PathWithNamespace)
	if err != nil || len(stored) != 1 || stored[0].State != "opened" {
		t.Fatalf("stored issues = %+v, %v", stored, err)
	}
	if _, _, err := f.client.Issues.CreateIssue(pid, &gitlab.CreateIssueOptions{Title: gitlab.Ptr(" ")}); statusOf(err) != 400 {
		t.Errorf("blank title: %v", err)
	}
	if _, _, err := f.client.Issues.UpdateIssue(pid, is.IID, &gitlab.UpdateIssueOptions{StateEvent: gitlab.Ptr("delete")}); statusOf(err) != 400 {
		t.Errorf("unknown state_event: %v", err)
	}
	if _, _, err := f.client.Issues.UpdateIssue(pid, 99, &gitlab.UpdateIssueOptions{StateEvent: gitlab.Ptr("close")}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("edit of an unknown issue: %v", err)
	}
}

// TestIssuesSearch: search matches every word, case insensitive, in the
// fields in names; an unknown in is a 400.
func TestIssuesSearch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.ID
	for _, o := range []gitlab.CreateIssueOptions{
		{Title: gitlab.Ptr("Drift: stack app"), Description: gitlab.Ptr("changes\n<!-- hoist:drift stack=app -->")},
		{Title: gitlab.Ptr("Question about app"), Description: gitlab.Ptr("how do I deploy?")},
	} {
		if _, _, err := f.client.Issues.CreateIssue(pid, &o); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		search, in string
		want       []int64
	}{
		{"APP", "", []int64{2, 1}},
		{"app", "description", []int64{1}},
		{"stack=app hoist:drift", "description", []int64{1}},
		{"deploy", "title", nil},
		{"question app", "title,description", []int64{2}},
		{"", "", []int64{2, 1}},
	} {
		o := &gitlab.ListProjectIssuesOptions{Search: gitlab.Ptr(tc.search)}
		if tc.in != "" {
			o.In = gitlab.Ptr(tc.in)
		}
		list, _, err := f.client.Issues.ListProjectIssues(pid, o)
		if err != nil {
			t.Fatalf("search %q in %q: %v", tc.search, tc.in, err)
		}
		var got []int64
		for _, is := range list {
			got = append(got, is.IID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q in %q = %v, want %v", tc.search, tc.in, got, tc.want)
		}
	}
	if _, _, err := f.client.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{Search: gitlab.Ptr("app"),
		In: gitlab.Ptr("notes")}); statusOf(err) != 400 {
		t.Errorf("unknown in: %v", err)
	}
}
