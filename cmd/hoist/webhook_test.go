package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestCLICreateWebhook: create-webhook adds the hook with every trigger
// Hoist needs; on a hook made before comments were one of them it turns
// note_events on and says so; run again, it finds nothing to turn on.
func TestCLICreateWebhook(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	tokFile, _, _ := h.botProject("acme/new", map[string]string{"main.tf": "\n"})
	ctx := context.Background()
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/old", Files: map[string]string{"main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	h.ok(admin, "integration", "gitlab", "create", "--name", "Acme GitLab", "--api-host", h.simURL, "--token-file", tokFile, "--default")
	var it api.Integration
	h.jsonOut(&it, admin, "integration", "show", "acme-gitlab")

	out := h.ok(admin, "integration", "gitlab", "create-webhook", "acme-gitlab", "--repository", "acme/new")
	if !strings.HasPrefix(out, "added the webhook ") {
		t.Errorf("create on a project without a hook:\n%s", out)
	}
	if hs, err := h.sim.Hooks("acme/new"); err != nil || len(hs) != 1 || !hs[0].NoteEvents || !hs[0].MergeRequestsEvents {
		t.Errorf("hooks of acme/new = %+v, %v", hs, err)
	}

	// The hook as create-webhook made it before comments: no note_events.
	addOld := func() gitlabsim.Hook {
		t.Helper()
		old, err := h.sim.AddHook(ctx, "acme/old", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
			TagPushEvents: true, MergeRequestsEvents: true})
		if err != nil {
			t.Fatal(err)
		}
		return old
	}
	old := addOld()
	var updated api.GitLabWebhook
	h.jsonOut(&updated, admin, "integration", "gitlab", "create-webhook", "acme-gitlab", "--repository", "acme/old")
	if updated.Created || updated.HookID != int64(old.ID) || !slices.Equal(updated.TriggersAdded, []string{"note_events"}) {
		t.Errorf("create over the old hook = %+v", updated)
	}
	if hs, err := h.sim.Hooks("acme/old"); err != nil || len(hs) != 1 || !hs[0].NoteEvents {
		t.Errorf("hooks of acme/old = %+v, %v", hs, err)
	}
	// The same with the table output, on a second old hook.
	if err := h.sim.DeleteHook(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	old = addOld()
	out = h.ok(admin, "integration", "gitlab", "create-webhook", "acme-gitlab", "--repository", "acme/old")
	if want := fmt.Sprintf("turned on note_events of the existing webhook %d of acme/old", old.ID); !strings.HasPrefix(out, want) {
		t.Errorf("create over the old hook printed:\n%s\nwant it to start with %q", out, want)
	}

	out = h.ok(admin, "integration", "gitlab", "create-webhook", "acme-gitlab", "--repository", "acme/old")
	if !strings.Contains(out, "triggers already on") {
		t.Errorf("second run printed:\n%s", out)
	}
	if hs, err := h.sim.Hooks("acme/old"); err != nil || len(hs) != 1 || hs[0].ID != old.ID || !hs[0].NoteEvents {
		t.Errorf("hooks of acme/old after a second run = %+v, %v", hs, err)
	}
}
