package gitlabsim

import (
	"context"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestProjectHookNoteEvents: POST, GET, list and PUT of
// /projects/:id/hooks store and return note_events (GitLab's Comments
// trigger); absent, it is off on create and kept on edit.
func TestProjectHookNoteEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		create, edit *bool // nil: not sent
		afterCreate  bool
		afterEdit    bool
	}{
		{"absent, then absent", nil, nil, false, false},
		{"absent, then turned on", nil, gitlab.Ptr(true), false, true},
		{"on, then absent", gitlab.Ptr(true), nil, true, true},
		{"on, then turned off", gitlab.Ptr(true), gitlab.Ptr(false), true, false},
		{"off, then turned on", gitlab.Ptr(false), gitlab.Ptr(true), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			pid := f.project.ID
			// every way GitLab shows the hook agrees with want
			shown := func(stage string, id int64, want bool) {
				t.Helper()
				g, _, err := f.client.Projects.GetProjectHook(pid, id)
				if err != nil || g.NoteEvents != want {
					t.Errorf("%s: GET note_events = %+v, %v; want %v", stage, g, err, want)
				}
				list, _, err := f.client.Projects.ListProjectHooks(pid, nil)
				if err != nil || len(list) != 1 || list[0].NoteEvents != want {
					t.Errorf("%s: list = %+v, %v; want note_events %v", stage, list, err, want)
				}
				stored, err := f.sim.Hooks(f.project.PathWithNamespace)
				if err != nil || len(stored) != 1 || stored[0].NoteEvents != want {
					t.Errorf("%s: stored = %+v, %v; want note_events %v", stage, stored, err, want)
				}
			}
			h, _, err := f.client.Projects.AddProjectHook(pid, &gitlab.AddProjectHookOptions{
				URL: gitlab.Ptr("https://hoist.example/webhooks/gitlab/x"), NoteEvents: tt.create})
			if err != nil || h.NoteEvents != tt.afterCreate {
				t.Fatalf("POST = %+v, %v; want note_events %v", h, err, tt.afterCreate)
			}
			shown("after POST", h.ID, tt.afterCreate)
			e, _, err := f.client.Projects.EditProjectHook(pid, h.ID, &gitlab.EditProjectHookOptions{URL: gitlab.Ptr(h.URL), NoteEvents: tt.edit})
			if err != nil || e.NoteEvents != tt.afterEdit {
				t.Fatalf("PUT = %+v, %v; want note_events %v", e, err, tt.afterEdit)
			}
			shown("after PUT", h.ID, tt.afterEdit)
		})
	}
}

// TestNoteHookOnlyToHooksWithNoteEvents: a merge request comment is a Note
// Hook to the hooks with note_events and to no other, even one with every
// other trigger; turning note_events on (PUT) makes the next comment reach
// it.
func TestNoteHookOnlyToHooksWithNoteEvents(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	path := f.project.PathWithNamespace
	with, without := newReceiver(t), newReceiver(t)
	add := func(url string, notes bool) int64 {
		h, _, err := f.client.Projects.AddProjectHook(f.project.ID, &gitlab.AddProjectHookOptions{URL: gitlab.Ptr(url),
			PushEvents: gitlab.Ptr(true), TagPushEvents: gitlab.Ptr(true), MergeRequestsEvents: gitlab.Ptr(true), NoteEvents: gitlab.Ptr(notes)})
		if err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	add(with.srv.URL, true)
	withoutID := add(without.srv.URL, false)

	mustPush(t, f.sim, PushOptions{Project: path, Branch: "b", Commits: commits("b", 1)})
	mr, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: path, SourceBranch: "b", Title: "T"})
	if err != nil {
		t.Fatal(err)
	}
	comment := func() {
		t.Helper()
		if _, err := f.sim.CommentMergeRequest(ctx, path, mr.IID, 0, "/hoist plan"); err != nil {
			t.Fatal(err)
		}
		waitHooks(t, f.sim)
	}
	events := func(rc *receiver) map[string]int {
		n := map[string]int{}
		for _, r := range rc.all() {
			n[r.header.Get("X-Gitlab-Event")]++
		}
		return n
	}
	comment()
	if n := events(with); n["Push Hook"] != 1 || n["Merge Request Hook"] != 1 || n["Note Hook"] != 1 {
		t.Errorf("hook with note_events got %v", n)
	}
	if n := events(without); n["Push Hook"] != 1 || n["Merge Request Hook"] != 1 || n["Note Hook"] != 0 {
		t.Errorf("hook without note_events got %v", n)
	}

	if _, _, err := f.client.Projects.EditProjectHook(f.project.ID, withoutID, &gitlab.EditProjectHookOptions{
		URL: gitlab.Ptr(without.srv.URL), NoteEvents: gitlab.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	comment()
	if n := events(without); n["Note Hook"] != 1 {
		t.Errorf("hook after note_events turned on got %v", n)
	}
	if n := events(with); n["Note Hook"] != 2 {
		t.Errorf("hook with note_events got %v after two comments", n)
	}
}
