package gitlabsim

import (
	"errors"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestEditProjectHook: PUT /projects/:id/hooks/:hook_id changes what it is
// sent, keeps the rest, and a new token is what later deliveries carry.
func TestEditProjectHook(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.ID
	h, _, err := f.client.Projects.AddProjectHook(pid, &gitlab.AddProjectHookOptions{URL: gitlab.Ptr("https://hoist.example/webhooks/gitlab/x"),
		Token: gitlab.Ptr("old"), PushEvents: gitlab.Ptr(true), NoteEvents: gitlab.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := f.client.Projects.EditProjectHook(pid, h.ID, &gitlab.EditProjectHookOptions{URL: gitlab.Ptr(h.URL),
		Token: gitlab.Ptr("new"), TagPushEvents: gitlab.Ptr(true), MergeRequestsEvents: gitlab.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != h.ID || !e.PushEvents || !e.TagPushEvents || !e.MergeRequestsEvents || !e.NoteEvents || !e.EnableSSLVerification {
		t.Errorf("edited hook = %+v", e)
	}
	stored, err := f.sim.Hooks(f.project.PathWithNamespace)
	if err != nil || len(stored) != 1 || stored[0].Token != "new" {
		t.Fatalf("stored hooks = %+v, %v", stored, err)
	}
	// The url is required, as in GitLab; an unknown hook is 404.
	if _, _, err := f.client.Projects.EditProjectHook(pid, h.ID, &gitlab.EditProjectHookOptions{Token: gitlab.Ptr("x")}); statusOf(err) != 400 {
		t.Errorf("edit without url: %v", err)
	}
	if _, _, err := f.client.Projects.EditProjectHook(pid, h.ID+1000, &gitlab.EditProjectHookOptions{URL: gitlab.Ptr(h.URL)}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("edit of an unknown hook: %v", err)
	}
}
