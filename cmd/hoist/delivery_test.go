package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestCLIDeliveries drives `hoist delivery list|show|redeliver` against
// the real server, with a delivery the simulator sent.
func TestCLIDeliveries(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	ctx := context.Background()
	admin := h.adminKey
	tokFile, _, botID := h.botProject("acme/infra", map[string]string{"infra/main.tf": "\n"})
	var in api.Integration
	out := h.ok(admin, "integration", "gitlab", "create", "--name", "GitLab", "--default", "--api-host", h.simURL, "--token-file", tokFile, "-o", "json")
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("integration create -o json: %v\n%s", err, out)
	}
	h.ok(admin, "stack", "create", "--name", "Infra", "--space", "root", "--repository", "acme/infra", "--branch", "main", "--project-root", "infra")
	if _, err := h.sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: in.WebhookEndpoint, Token: in.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", UserID: botID, Commits: []gitlabsim.CommitSpec{
		{Message: "vpc", Actions: []gitlabsim.FileAction{{Action: "create", Path: "infra/vpc.tf", Content: "\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.WaitHooks(ctx); err != nil {
		t.Fatal(err)
	}
	d := waitProcessed(t, h, admin)
	if d.Event != "Push Hook" || d.Ref != "main" {
		t.Errorf("delivery = %+v", d)
	}
	list := h.ok(admin, "delivery", "list", "--integration", "gitlab")
	if !strings.Contains(list, d.ID) || !strings.Contains(list, "acme/infra") || !strings.Contains(list, "processed") {
		t.Errorf("delivery list:\n%s", list)
	}
	show := h.ok(admin, "delivery", "show", d.ID)
	if strings.Contains(show+list, in.WebhookSecret) {
		t.Error("the webhook secret appears in the delivery log")
	}
	for _, want := range []string{"Push Hook", "idempotency-key:", "infra", "created", "TRACKED", "push to tracked branch main touches infra/"} {
		if !strings.Contains(show, want) {
			t.Errorf("delivery show lacks %q:\n%s", want, show)
		}
	}
	payload := h.ok(admin, "delivery", "show", d.ID, "--payload")
	if !strings.Contains(payload, `"object_kind": "push"`) || strings.Contains(payload, in.WebhookSecret) {
		t.Errorf("delivery show --payload:\n%s", payload)
	}
	if out := h.ok(admin, "delivery", "redeliver", d.ID); !strings.Contains(out, "queued") {
		t.Errorf("delivery redeliver: %s", out)
	}
	waitProcessed(t, h, admin)
	// Issue 14 item 7: the redelivery's result (the run exists already)
	// comes next to the first one's, which it does not overwrite.
	show = h.ok(admin, "delivery", "show", d.ID)
	first, second, ok := strings.Cut(show, "Processing 1: ")
	if !ok || !strings.Contains(first, "Processing 0: received at ") || !strings.Contains(first, "1 created") ||
		!strings.Contains(second, "redelivered by ") || !strings.Contains(second, "1 deduplicated") || strings.Contains(second, "1 created") {
		t.Errorf("delivery show after a redelivery does not show both processings:\n%s", show)
	}
	if list := h.ok(admin, "delivery", "list"); !strings.Contains(list, "2× (redelivered)") {
		t.Errorf("delivery list after a redelivery:\n%s", list)
	}
	var full struct {
		Result      struct{ Summary string }
		Processings []struct {
			Number  int
			Trigger string
			Status  string
			Counts  map[string]int
		}
	}
	h.jsonOut(&full, admin, "delivery", "show", d.ID)
	if len(full.Processings) != 2 || full.Processings[0].Counts["created"] != 1 || full.Processings[1].Trigger != "redelivered" ||
		full.Processings[1].Counts["deduplicated"] != 1 || !strings.Contains(full.Result.Summary, "1 deduplicated") {
		t.Errorf("delivery show -o json = %+v", full)
	}
	h.fails(apperr.NotFound, admin, "delivery", "show", "01aaaaaaaaaaaaaaaaaaaaaaaa")
}

// waitProcessed polls `hoist delivery list -o json` until the newest
// delivery is processed.
func waitProcessed(t *testing.T, h *e2e, key string) api.Delivery {
	t.Helper()
	var ds []api.Delivery
	apptest.Eventually(t, 15*time.Second, "the newest delivery processed", func() error {
		out := h.ok(key, "delivery", "list", "-o", "json")
		if err := json.Unmarshal([]byte(out), &ds); err != nil {
			t.Fatalf("delivery list -o json: %v\n%s", err, out)
		}
		if len(ds) == 0 || ds[0].Status != "processed" {
			return fmt.Errorf("deliveries = %+v", ds)
		}
		return nil
	})
	return ds[0]
}
