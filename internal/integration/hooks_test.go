package integration_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

const endpoint = "https://hoist.example.com/webhooks/gitlab/gl"

// hooksSetup is the fixture with a service that manages hooks, the
// integration "gl" in space a, and the projects acme/one and acme/two the
// token's user maintains.
func hooksSetup(t *testing.T) (*fixture, *integration.Service) {
	t.Helper()
	f := setup(t)
	ctx := t.Context()
	for _, p := range []string{"acme/one", "acme/two"} {
		if _, err := f.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: p, Files: map[string]string{"main.tf": "\n"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: f.userID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	adapter := gitlab.New(nil, nil)
	spaces := space.NewService(f.store, f.store, func() time.Time { return f.now })
	svc := integration.NewService(integration.Config{Store: f.store, Access: spaces, Checker: adapter, Box: f.box,
		PublicURL: "https://hoist.example.com", Clock: func() time.Time { return f.now }, Audit: f.store,
		Hooks: adapter, Clients: adapter})
	tok, _ := f.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})
	if _, err := svc.Create(ctx, admin, integration.CreateInput{Name: "GL", Space: "a", APIHost: f.simURL, Token: tok}); err != nil {
		t.Fatal(err)
	}
	return f, svc
}

func webhookSecret(t *testing.T, svc *integration.Service) string {
	t.Helper()
	v, err := svc.Get(t.Context(), admin, "gl")
	if err != nil {
		t.Fatal(err)
	}
	return v.Details.WebhookSecret
}

// onlyHook is the one hook of a project.
func onlyHook(t *testing.T, f *fixture, project string) gitlabsim.Hook {
	t.Helper()
	hs, err := f.sim.Hooks(project)
	if err != nil || len(hs) != 1 {
		t.Fatalf("hooks of %s = %+v, %v", project, hs, err)
	}
	return hs[0]
}

func TestCreateWebhookIsIdempotent(t *testing.T) {
	t.Parallel()
	f, svc := hooksSetup(t)
	ctx := t.Context()
	res, err := svc.CreateWebhook(ctx, admin, "gl", "acme/one")
	if err != nil {
		t.Fatal(err)
	}
	h := onlyHook(t, f, "acme/one")
	if !res.Created || res.HookID != int64(h.ID) || res.URL != endpoint || len(res.TriggersAdded) != 0 || h.URL != endpoint ||
		h.Token != webhookSecret(t, svc) || !h.PushEvents || !h.TagPushEvents || !h.MergeRequestsEvents || !h.NoteEvents ||
		!h.EnableSSLVerification {
		t.Fatalf("created %+v, GitLab has %+v", res, h)
	}
	if e := f.lastAudit(t); e.Action != integration.ActionCreateWebhook || e.Actor != admin || e.Detail["repository"] != "acme/one" {
		t.Errorf("audit = %+v", e)
	}
	again, err := svc.CreateWebhook(ctx, admin, "gl", "acme/one")
	if err != nil || again.Created || again.HookID != res.HookID || len(again.TriggersAdded) != 0 {
		t.Fatalf("second create = %+v, %v", again, err)
	}
	if h2 := onlyHook(t, f, "acme/one"); h2 != h {
		t.Errorf("second create changed the hook: %+v, was %+v", h2, h)
	}

	// A hook added by hand with Hoist's endpoint is taken over: its token
	// and events are set, no second hook is added.
	noPush := false
	if _, err := f.sim.AddHook(ctx, "acme/two", gitlabsim.HookOptions{URL: endpoint, Token: "stale", PushEvents: &noPush}); err != nil {
		t.Fatal(err)
	}
	two, err := svc.CreateWebhook(ctx, admin, "gl", "acme/two")
	if err != nil || two.Created {
		t.Fatalf("create over a hand-made hook = %+v, %v", two, err)
	}
	if h := onlyHook(t, f, "acme/two"); h.Token != webhookSecret(t, svc) || !h.PushEvents || !h.TagPushEvents || !h.NoteEvents {
		t.Errorf("hand-made hook after create-webhook = %+v", h)
	}
}

// TestCreateWebhookTurnsOnMissingTriggers: a hook with Hoist's endpoint
// that lacks some of Hoist's triggers (one Hoist created before it needed
// comments, one made by hand) gets them, and the result and the audit
// entry name them; a second run finds nothing to add and leaves the hook
// as it was.
func TestCreateWebhookTurnsOnMissingTriggers(t *testing.T) {
	t.Parallel()
	on, off := true, false
	tests := []struct {
		name string
		hook gitlabsim.HookOptions
		want []string
	}{
		{"created by Hoist before comments", gitlabsim.HookOptions{TagPushEvents: true, MergeRequestsEvents: true},
			[]string{"note_events"}},
		{"by hand, push only", gitlabsim.HookOptions{}, []string{"tag_push_events", "merge_requests_events", "note_events"}},
		{"by hand, comments only", gitlabsim.HookOptions{PushEvents: &off, NoteEvents: true},
			[]string{"push_events", "tag_push_events", "merge_requests_events"}},
		{"every trigger already", gitlabsim.HookOptions{PushEvents: &on, TagPushEvents: true, MergeRequestsEvents: true, NoteEvents: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, svc := hooksSetup(t)
			ctx := t.Context()
			tt.hook.URL, tt.hook.Token = endpoint, "stale"
			made, err := f.sim.AddHook(ctx, "acme/one", tt.hook)
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.CreateWebhook(ctx, admin, "gl", "acme/one")
			if err != nil || res.Created || res.HookID != int64(made.ID) || !slices.Equal(res.TriggersAdded, tt.want) {
				t.Fatalf("create-webhook = %+v, %v; want hook %d updated, triggers added %v", res, err, made.ID, tt.want)
			}
			h := onlyHook(t, f, "acme/one")
			if h.ID != made.ID || h.Token != webhookSecret(t, svc) || !h.PushEvents || !h.TagPushEvents || !h.MergeRequestsEvents ||
				!h.NoteEvents || !h.EnableSSLVerification {
				t.Errorf("hook after create-webhook = %+v", h)
			}
			added, _ := f.lastAudit(t).Detail["triggers_added"].([]any)
			if len(added) != len(tt.want) {
				t.Errorf("audited triggers_added = %v, want %v", added, tt.want)
			}

			again, err := svc.CreateWebhook(ctx, admin, "gl", "acme/one")
			if err != nil || again.Created || again.HookID != res.HookID || len(again.TriggersAdded) != 0 {
				t.Fatalf("second create-webhook = %+v, %v; want nothing added", again, err)
			}
			if h2 := onlyHook(t, f, "acme/one"); h2 != h {
				t.Errorf("second create-webhook changed the hook: %+v, was %+v", h2, h)
			}
		})
	}
}

func TestCreateWebhookRefusals(t *testing.T) {
	t.Parallel()
	f, svc := hooksSetup(t)
	ctx := t.Context()
	for repo, field := range map[string]string{"": "repository", "one": "repository", "acme/missing": "repository"} {
		_, err := svc.CreateWebhook(ctx, admin, "gl", repo)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != field {
			t.Errorf("repository %q: %v", repo, err)
		}
	}
	// Only those who may change the integration.
	if _, err := svc.CreateWebhook(ctx, "apikey:nobody", "gl", "acme/one"); err == nil {
		t.Error("a principal without admin created a hook")
	}
	if hs, _ := f.sim.Hooks("acme/one"); len(hs) != 0 {
		t.Errorf("hooks after refusals: %+v", hs)
	}
}

// TestRotateUpdatesCreatedHooks: after a rotation the hooks Hoist created
// carry the new secret; one it cannot reach is a warning.
func TestRotateUpdatesCreatedHooks(t *testing.T) {
	t.Parallel()
	f, svc := hooksSetup(t)
	ctx := t.Context()
	for _, p := range []string{"acme/one", "acme/two"} {
		if _, err := svc.CreateWebhook(ctx, admin, "gl", p); err != nil {
			t.Fatal(err)
		}
	}
	old := webhookSecret(t, svc)
	v, err := svc.RotateWebhookSecret(ctx, admin, "gl")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Warnings) != 0 || v.Details.WebhookSecret == old {
		t.Fatalf("rotation: warnings %v", v.Warnings)
	}
	for _, p := range []string{"acme/one", "acme/two"} {
		if h := onlyHook(t, f, p); h.Token != v.Details.WebhookSecret {
			t.Errorf("hook of %s keeps the old secret", p)
		}
	}
	gone := onlyHook(t, f, "acme/two")
	if err := f.sim.DeleteHook(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	v, err = svc.RotateWebhookSecret(ctx, admin, "gl")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "acme/two") {
		t.Errorf("warnings after a deleted hook = %v", v.Warnings)
	}
	if h := onlyHook(t, f, "acme/one"); h.Token != v.Details.WebhookSecret {
		t.Error("the remaining hook keeps the old secret")
	}
}

// TestDeleteClosesGitLabConnections: the token check at creation left the
// integration's connection to GitLab open for its next call; deleting the
// integration closes it at once.
func TestDeleteClosesGitLabConnections(t *testing.T) {
	t.Parallel()
	f, svc := hooksSetup(t)
	if accepted, ended := f.sim.Connections(); accepted != 1 || ended != 0 {
		t.Fatalf("after creation: %d connections accepted, %d ended; want 1 kept open", accepted, ended)
	}
	if err := svc.Delete(t.Context(), admin, "gl"); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, "the deleted integration's connection to GitLab to close", func() bool {
		_, ended := f.sim.Connections()
		return ended == 1
	})
}
