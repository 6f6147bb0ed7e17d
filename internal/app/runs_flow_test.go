package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
)

func TestAutodeployAppliesAtOnce(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"autodeploy": true})
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("auto")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "FINISHED")
	want := []string{"QUEUED", "READY", "PREPARING", "INITIALIZING", "PLANNING", "APPLYING", "FINISHED"}
	if !slices.Equal(runStates(r), want) {
		t.Fatalf("history = %v, want %v", runStates(r), want)
	}
}

func TestProposedRunNeverApplies(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	sha := h.push("feature", map[string]string{"infra/main.tf": infraTF("proposal")})
	r := h.waitState(h.waitRunAt("web", sha, "PROPOSED").ID, "FINISHED")
	if slices.Contains(runStates(r), "APPLYING") || slices.Contains(runStates(r), "UNCONFIRMED") || r.Delta.Add != 1 {
		t.Fatalf("proposed run = %+v", r)
	}
	var versions struct{ Items []any }
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/state-versions", h.AdminKey, nil).Decode(t, &versions)
	if len(versions.Items) != 0 {
		t.Fatalf("a proposed run wrote state: %+v", versions.Items)
	}
	code, _, _ := h.Call("POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil).APIError(t)
	if code != "conflict" {
		t.Fatalf("confirm of a finished proposed run = %s", code)
	}
}

func TestDiscardStopAndRBAC(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	reader := h.apiKey("reader", "platform:read")
	writer := h.apiKey("writer", "platform:write")
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("discard me")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	if code, _, _ := h.Call("POST", "/api/v1/runs/"+r.ID+"/discard", reader, nil).APIError(t); code != "forbidden" {
		t.Fatalf("reader discard = %s", code)
	}
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID, reader, nil)
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/discard", writer, nil)
	if got := h.getRun(r.ID); got.State != "DISCARDED" {
		t.Fatalf("state = %s", got.State)
	}
	if code, _, _ := h.Call("POST", "/api/v1/stacks/web/runs", reader, map[string]any{}).APIError(t); code != "forbidden" {
		t.Fatalf("reader trigger = %s", code)
	}
	other := h.apiKey("other", "root:read")
	_ = other

	// Stop while PLANNING: the plan blocks on a slow remote state.
	slow := apptest.NewSlowState(t)
	sha = h.push("main", map[string]string{"infra/main.tf": slowConfig(slow)})
	r = h.waitRunAt("web", sha, "TRACKED")
	slow.WaitRequests(t, 1, planWait)
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/stop", writer, nil)
	r = h.waitState(r.ID, "STOPPED")
	if !slices.Contains(runStates(r), "PLANNING") {
		t.Fatalf("history = %v", runStates(r))
	}
	// The stack is free again: a triggered run goes through.
	var trig api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", writer, map[string]any{"type": "TRACKED"}).Decode(t, &trig)
	if trig.CommitSHA != sha || trig.Type != "TRACKED" {
		t.Fatalf("triggered = %+v", trig)
	}
}

func TestTrackedRunsWaitForTheStack(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	sha1 := h.push("main", map[string]string{"infra/main.tf": infraTF("first")})
	first := h.waitState(h.waitRunAt("web", sha1, "TRACKED").ID, "UNCONFIRMED")
	sha2 := h.push("main", map[string]string{"infra/main.tf": infraTF("second")})
	second := h.waitRun(h.waitRunAt("web", sha2, "TRACKED").ID, "blocked", func(r api.Run) bool { return r.BlockedBy != "" })
	if second.BlockedBy != first.ID || second.State != "QUEUED" {
		t.Fatalf("second = %+v, want QUEUED blocked by %s", second, first.ID)
	}
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+first.ID+"/confirm", h.AdminKey, nil)
	h.waitState(first.ID, "FINISHED")
	second = h.waitState(second.ID, "UNCONFIRMED")
	if second.BlockedBy != "" {
		t.Fatalf("second still blocked: %+v", second)
	}
}

func TestProposedRunsRunConcurrentlyUpToTheSlots(t *testing.T) {
	t.Parallel()
	const slots, branches = 3, 10
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots = slots })
	slow := apptest.NewSlowState(t)
	var ids []string
	for i := range branches {
		sha := h.push(fmt.Sprintf("feature-%d", i), map[string]string{"infra/main.tf": slowConfig(slow) + fmt.Sprintf("# branch %d\n", i)})
		ids = append(ids, h.waitRunAt("web", sha, "PROPOSED").ID)
	}
	deadline := time.Now().Add(60 * time.Second)
	apptest.Eventually(t, time.Until(deadline), fmt.Sprintf("%d plans to start", slots), func() error {
		if n := slow.Requests(); n < slots {
			return fmt.Errorf("%d started", n)
		}
		return nil
	})
	// The plans hold their slots until released; the other runs reach READY
	// on the scheduler's time (the last pushed may still be QUEUED here).
	apptest.Eventually(t, time.Until(deadline), "the other runs to be ready", func() error {
		planning, ready := 0, 0
		for _, id := range ids {
			switch h.getRun(id).State {
			case "PREPARING", "INITIALIZING", "PLANNING":
				planning++
			case "READY":
				ready++
			}
		}
		if planning > slots || planning+ready == branches {
			if planning != slots || ready != branches-slots {
				t.Fatalf("%d working and %d ready; want %d and %d", planning, ready, slots, branches-slots)
			}
			return nil
		}
		return fmt.Errorf("%d working and %d ready; want %d and %d", planning, ready, slots, branches-slots)
	})
	slow.Release()
	for _, id := range ids {
		h.waitState(id, "FINISHED")
	}
}

func TestSecretVariableNeverInPlaintext(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	const secretValue = "s3cr3t-value-9f8e7d"
	h.Must(http.StatusOK, "PUT", "/api/v1/stacks/web/variables/TF_VAR_token", h.AdminKey, map[string]any{"value": secretValue, "secret": true})
	h.Must(http.StatusOK, "PUT", "/api/v1/stacks/web/variables/TF_VAR_region", h.AdminKey, map[string]any{"value": "eu-1"})
	var vars struct {
		Items []struct {
			Name   string
			Value  *string
			Secret bool
		}
	}
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/variables", h.AdminKey, nil).Decode(t, &vars)
	if len(vars.Items) != 2 || vars.Items[1].Value != nil || *vars.Items[0].Value != "eu-1" {
		t.Fatalf("variables = %+v", vars.Items)
	}
	cfg := `variable "token" { type = string }
variable "region" { type = string }
resource "terraform_data" "t" { input = "${var.region}:${var.token}" }
resource "terraform_data" "echo" {
  provisioner "local-exec" { command = "echo token is $TF_VAR_token" }
}
output "token" { value = var.token }
`
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"autodeploy": true})
	sha := h.push("main", map[string]string{"infra/main.tf": cfg})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "FINISHED")
	logs := h.logText(r.ID)
	if !strings.Contains(logs, "token is *****") || !strings.Contains(logs, "eu-1") {
		t.Fatalf("log does not show the masked secret:\n%s", logs)
	}
	// The resource diff drops the input that holds the secret (the code
	// does not declare it sensitive), and keeps the others.
	for _, res := range h.getRun(r.ID).Resources {
		for _, c := range res.Changes {
			if res.Address == "terraform_data.t" && c.Name == "input" && (!c.Sensitive || c.After != "") {
				t.Errorf("the input holding the secret: %+v", c)
			}
		}
	}
	h.WatchSecret(secretValue)
	h.AssertNoTokenLeaked()
}
