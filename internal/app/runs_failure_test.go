package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/worker"
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

// TestHostileWorkerErrorIsBounded: a remote worker's failure message is
// its own words, unchecked: the server masks the stack's secrets in it
// once more, drops control characters and bounds it, as it does the
// detail, before it becomes the run's error, history note and GitLab text.
func TestHostileWorkerErrorIsBounded(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	token := h.workerPool("Remote")
	const secretValue = "s3cr3t-in-a-worker-error-9c1d"
	h.Must(http.StatusOK, "PUT", "/api/v1/stacks/web/variables/TF_VAR_token", h.AdminKey, map[string]any{"value": secretValue, "secret": true})
	h.WatchSecret(secretValue)
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hostile")})
	h.waitRunAt("web", sha, "TRACKED")
	w := &worker.Client{BaseURL: h.App.URL(), PoolToken: token, HTTP: h.HTTP}
	job, ok, err := w.Lease(t.Context(), "hostile", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	msg := "boom " + secretValue + " \x1b[31mred\x1b[0m \u202e" + strings.Repeat("x", 64<<10)
	if err := w.Finish(t.Context(), job.RunID, job.LeaseID, msg, ""); err != nil {
		t.Fatal(err)
	}
	r := h.waitState(job.RunID, "FAILED")
	last := r.History[len(r.History)-1]
	for what, got := range map[string]string{"error": r.Error, "history note": last.Note} {
		if len(got) > run.MaxErrorDetail || !strings.HasPrefix(got, "boom ***** [31mred[0m ") ||
			strings.ContainsAny(got, "\x1b\u202e") || !strings.HasSuffix(got, "…") {
			t.Errorf("%s: %d bytes, %.80q", what, len(got), got)
		}
	}
	h.AssertNoTokenLeaked()
}
