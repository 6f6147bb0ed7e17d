package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestDeliveryLogShowsEachProcessing is issue 14 item 7 in the UI: after
// a redelivery the details page lists both processings of the push, the
// first with the run it created and the redelivery with that run
// deduplicated, instead of the redelivery's result alone.
func TestDeliveryLogShowsEachProcessing(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	ctx := t.Context()
	h.infraStack(h.createIntegration("Acme GitLab"), gitlabsim.HookOptions{})
	if _, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "infra/main.tf", Content: "# x\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	var id string
	waitPage(t, "the push processed", func() bool {
		var page struct{ Items []struct{ ID, Status string } }
		h.api("GET", "/api/v1/deliveries?integration=acme-gitlab", nil, http.StatusOK, &page)
		if len(page.Items) == 1 && page.Items[0].Status == "processed" {
			id = page.Items[0].ID
			return true
		}
		return false
	})
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	if p := c.get("/source-control/gitlab/acme-gitlab"); !strings.Contains(p.body, "1 created") || strings.Contains(p.body, `class="processings"`) {
		t.Fatalf("one processing: the row shows its result, without a history: %.3000s", p.body)
	}

	h.api("POST", "/api/v1/deliveries/"+id+"/redeliver", nil, http.StatusAccepted, nil)
	var body string
	waitPage(t, "the page listing both processings", func() bool {
		body = c.get("/source-control/gitlab/acme-gitlab").body
		return strings.Count(body, `data-status="processed"`) == 2
	})
	_, history, _ := strings.Cut(body, `class="processings"`)
	first, second, ok := strings.Cut(history, `data-trigger="redelivered"`)
	if !ok || !strings.Contains(first, `data-trigger="received"`) || !strings.Contains(first, "On arrival") ||
		!strings.Contains(first, "1 created") || !strings.Contains(first, "<code>infra</code> created") {
		t.Errorf("the first processing is not shown with its own result:\n%.3000s", history)
	}
	if !strings.Contains(second, "Redelivered by") || !strings.Contains(second, "1 deduplicated") || strings.Contains(second, "1 created") {
		t.Errorf("the redelivery is not shown with its own result:\n%.3000s", second)
	}
}
