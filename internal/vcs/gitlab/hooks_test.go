package gitlab_test

import (
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// TestProjectHooksAgainstSimulator: the hook AddProjectHook creates has
// Hoist's triggers, comments (note_events) among them; ProjectHooks reads
// each hook's triggers back; EditProjectHook turns on those a hook lacks.
func TestProjectHooksAgainstSimulator(t *testing.T) {
	t.Parallel()
	f := connSetup(t)
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	ctx := t.Context()
	const url = "https://hoist.example.com/webhooks/gitlab/gl"
	// A hook made before Hoist needed comments: push, tag push and merge
	// requests only.
	old, err := f.sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: url + "-old", Token: "stale",
		TagPushEvents: true, MergeRequestsEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.AddProjectHook(ctx, f.ep, f.projectID, url, "s3cret")
	if err != nil {
		t.Fatal(err)
	}

	all := vcs.ProjectHook{ID: id, URL: url, PushEvents: true, TagPushEvents: true, MergeRequestsEvents: true, NoteEvents: true}
	oldHook := vcs.ProjectHook{ID: int64(old.ID), URL: url + "-old", PushEvents: true, TagPushEvents: true, MergeRequestsEvents: true}
	listed := func(want ...vcs.ProjectHook) {
		t.Helper()
		pid, hooks, err := c.ProjectHooks(ctx, f.ep, "acme/infra")
		if err != nil || pid != f.projectID || len(hooks) != len(want) {
			t.Fatalf("ProjectHooks = %d, %+v, %v; want %d, %+v", pid, hooks, err, f.projectID, want)
		}
		got := map[int64]vcs.ProjectHook{}
		for _, h := range hooks {
			got[h.ID] = h
		}
		for _, w := range want {
			if got[w.ID] != w {
				t.Errorf("hook %d listed as %+v, want %+v", w.ID, got[w.ID], w)
			}
		}
	}
	listed(oldHook, all)

	if err := c.EditProjectHook(ctx, f.ep, f.projectID, oldHook.ID, oldHook.URL, "s3cret"); err != nil {
		t.Fatal(err)
	}
	oldHook.NoteEvents = true
	listed(oldHook, all)

	// What GitLab stores: the secret token and SSL verification too.
	stored, err := f.sim.Hooks("acme/infra")
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored hooks = %+v, %v", stored, err)
	}
	for _, h := range stored {
		if h.Token != "s3cret" || !h.PushEvents || !h.TagPushEvents || !h.MergeRequestsEvents || !h.NoteEvents || !h.EnableSSLVerification {
			t.Errorf("stored hook = %+v", h)
		}
	}
}
