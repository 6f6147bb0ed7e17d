package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
)

// TestRemoteWorkerReportsTofuError (issue 14): a remote worker reports
// OpenTofu's own error with the failure, over HTTP, with the stack's
// secrets masked; the run never planned, so it has no delta.
func TestRemoteWorkerReportsTofuError(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	kill := h.startRemoteWorker(h.workerPool("Remote"))
	defer kill()
	const secretValue = "s3cr3t-in-an-error-4b2a"
	h.Must(http.StatusOK, "PUT", "/api/v1/stacks/web/variables/TF_VAR_token", h.AdminKey, map[string]any{"value": secretValue, "secret": true})
	h.WatchSecret(secretValue)
	cfg := `variable "token" { type = string }
resource "terraform_data" "a" {
  input = "x"
  lifecycle {
    precondition {
      condition     = var.token == "expected"
      error_message = "hoist-test: the token ${var.token} is refused."
    }
  }
}
`
	sha := h.push("main", map[string]string{"infra/main.tf": cfg})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "FAILED")
	if !strings.HasPrefix(r.ErrorDetail, "Error: Resource precondition failed") ||
		!strings.Contains(r.ErrorDetail, "hoist-test: the token ***** is refused.") {
		t.Errorf("error_detail = %q", r.ErrorDetail)
	}
	if r.Delta != nil || r.Error != "plan failed: tofu plan: exit status 1" {
		t.Errorf("run = %+v; want the failed step and no delta", r)
	}
	h.AssertNoTokenLeaked()
}
