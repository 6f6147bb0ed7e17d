package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
)

// TestCLITaskAndSchedules: `hoist run task` streams the task's log and
// exits non-zero when the command fails, readers are refused; `hoist stack
// schedule create|list|delete` manage a stack's schedules.
func TestCLITaskAndSchedules(t *testing.T) {
	t.Parallel()
	const tf = `resource "terraform_data" "x" { input = "a" }` + "\n" + `output "x" { value = terraform_data.x.output }` + "\n"
	h := setupRuns(t, tf)
	var reader struct{ Secret string }
	h.jsonOut(&reader, h.adminKey, "api-key", "create", "--name", "reader", "--role", "root:read")

	// Apply once so the state has something to list.
	var r api.Run
	h.jsonOut(&r, h.adminKey, "run", "trigger", "web")
	apptest.Eventually(t, 60*time.Second, "the run to wait for confirmation", func() bool {
		h.jsonOut(&r, h.adminKey, "run", "show", r.ID)
		return r.State == "UNCONFIRMED"
	})
	h.ok(h.adminKey, "run", "confirm", r.ID)
	h.ok(h.adminKey, "run", "logs", r.ID, "--follow")

	out, stderr, err := h.run(h.adminKey, nil, "run", "task", "--stack", "web", "--", "tofu", "state", "list")
	if err != nil || !strings.Contains(out, "terraform_data.x\n") || !strings.Contains(out, "Hoist: $ tofu state list") ||
		!strings.Contains(stderr, "task run ") {
		t.Fatalf("run task: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	// A command that fails: its log, then a non-zero exit.
	out, _, err = h.run(h.adminKey, nil, "run", "task", "--stack", "web", "--", "tofu", "state", "show", "terraform_data.nope")
	if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "FAILED") || !strings.Contains(out, "terraform_data.nope") {
		t.Fatalf("failing task: err %v\n%s", err, out)
	}
	h.fails(apperr.Forbidden, reader.Secret, "run", "task", "--stack", "web", "--", "tofu", "state", "list")
	h.fails(apperr.Invalid, h.adminKey, "run", "task", "--stack", "web", "--", "bash", "-c", "id")
	if _, _, err := h.run(h.adminKey, nil, "run", "task", "--stack", "web"); exitCode(err) != 2 {
		t.Fatalf("run task without a command: %v", err)
	}

	// Schedules.
	var sc api.Schedule
	out = h.ok(h.adminKey, "stack", "schedule", "create", "web", "-o", "json", "--kind", "task", "--cron", "0 3 * * *",
		"--time-zone", "Europe/Berlin", "--", "tofu", "state", "list")
	if err := json.Unmarshal([]byte(out), &sc); err != nil {
		t.Fatalf("schedule create -o json: %v\n%s", err, out)
	}
	if sc.Kind != "task" || sc.TimeZone != "Europe/Berlin" || !slices.Equal(sc.Command, []string{"tofu", "state", "list"}) {
		t.Fatalf("created %+v", sc)
	}
	h.ok(h.adminKey, "stack", "schedule", "create", "web", "--kind", "drift", "--cron", "@daily", "--reconcile")
	h.fails(apperr.Forbidden, reader.Secret, "stack", "schedule", "create", "web", "--kind", "drift", "--cron", "@daily")
	h.fails(apperr.Invalid, h.adminKey, "stack", "schedule", "create", "web", "--kind", "destroy", "--cron", "@daily")
	list := h.ok(reader.Secret, "stack", "schedule", "list", "web")
	if !strings.Contains(list, sc.ID) || !strings.Contains(list, "drift detection, reconcile") || !strings.Contains(list, "tofu state list") {
		t.Fatalf("schedule list:\n%s", list)
	}
	h.fails(apperr.Forbidden, reader.Secret, "stack", "schedule", "delete", "web", sc.ID)
	h.ok(h.adminKey, "stack", "schedule", "delete", "web", sc.ID)
	if list := h.ok(h.adminKey, "stack", "schedule", "list", "web"); strings.Contains(list, sc.ID) {
		t.Fatalf("deleted schedule still listed:\n%s", list)
	}
	if show := h.ok(h.adminKey, "stack", "show", "web"); !strings.Contains(show, "Drift:") {
		t.Fatalf("stack show lacks the drift line:\n%s", show)
	}
}
