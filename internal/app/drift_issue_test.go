package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestDriftIssueOpensUpdatesClosesReopens is issue 21's "GitLab, where the
// team works": with drift_issue on, a drift opens one labelled issue in
// the stack's project, a later drift run while still drifted edits it,
// clearing the drift closes it, and drifting again reopens the same issue.
func TestDriftIssueOpensUpdatesClosesReopens(t *testing.T) {
	t.Parallel()
	h, clock := appliedSetup(t)

	// Labels without the setting would be ignored: refused.
	h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/web", h.AdminKey,
		map[string]any{"drift_issue_labels": []string{"drift"}})
	h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/web", h.AdminKey,
		map[string]any{"drift_issue": true, "drift_issue_labels": []string{"a,b"}})
	var st api.Stack
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"drift_issue": true,
		"drift_issue_labels": []string{" drift ", "infra", "drift"}}).Decode(t, &st)
	if !st.DriftIssue || !slices.Equal(st.DriftIssueLabels, []string{"drift", "infra"}) {
		t.Fatalf("stack after PATCH: drift_issue %v, labels %q", st.DriftIssue, st.DriftIssueLabels)
	}
	sc := h.createSchedule("web", map[string]any{"kind": "drift", "cron": "0 * * * *"})

	// In step: no issue.
	h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if is := h.simIssues(); len(is) != 0 {
		t.Fatalf("issues of a clean stack: %+v", is)
	}

	// Drifted: one issue, open, labelled, listing the change and the run.
	h.stateRm()
	d2 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	is := h.waitIssue("opened", d2.ID)
	if is.Title != "Drift: stack web" || !slices.Equal(is.Labels, []string{"drift", "infra"}) ||
		!strings.Contains(is.Description, "create `terraform_data.hello`") || !strings.Contains(is.Description, "/runs/"+d2.ID) {
		t.Fatalf("drift issue = %+v", is)
	}
	if r := h.getRun(d2.ID); len(r.GitLabWrites) != 1 || r.GitLabWrites[0].Kind != "issue" {
		t.Fatalf("drift run's GitLab writes = %+v", r.GitLabWrites)
	}

	// Still drifted: the same issue now names the newer run.
	d3 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	h.waitIssue("opened", d3.ID)

	// Cleared by an apply: closed, not deleted.
	var rec api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", h.AdminKey, map[string]any{"type": "TRACKED"}).Decode(t, &rec)
	h.applyTracked(rec.ID)
	d4 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if h.getStack("web").Drifted {
		t.Fatal("stack still drifted after the apply")
	}
	h.waitIssue("closed", d4.ID)

	// A clean run again writes nothing more.
	d5 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if r := h.getRun(d5.ID); len(r.GitLabWrites) != 0 {
		t.Fatalf("clean-again drift run wrote %+v", r.GitLabWrites)
	}

	// Drifted again: the same issue reopened.
	h.stateRm()
	d6 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if got := h.waitIssue("opened", d6.ID); got.IID != is.IID {
		t.Fatalf("reopened issue #%d, want #%d", got.IID, is.IID)
	}
}

// appliedSetup is runsSetup with a schedule clock the test moves and
// stack web applied once, in step with its infrastructure.
func appliedSetup(t *testing.T) (*harness, *manualClock) {
	t.Helper()
	clock := newManualClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	h := runsSetup(t, scheduleClock(clock))
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	h.applyTracked(h.waitRunAt("web", sha, "TRACKED").ID)
	return h, clock
}

// applyTracked confirms tracked run id and waits for it to finish.
func (h *harness) applyTracked(id string) {
	h.t.Helper()
	h.waitState(id, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+id+"/confirm", h.AdminKey, nil)
	h.waitState(id, "FINISHED")
}

// stateRm drifts stack web: its resource leaves the managed state.
func (h *harness) stateRm() {
	h.t.Helper()
	var task api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", h.AdminKey, map[string]any{"type": "TASK",
		"command": []string{"tofu", "state", "rm", "terraform_data.hello"}}).Decode(h.t, &task)
	h.waitState(task.ID, "FINISHED")
}

func (h *harness) simIssues() []gitlabsim.Issue {
	h.t.Helper()
	is, err := h.Sim.Issues(runsProject)
	if err != nil {
		h.t.Fatal(err)
	}
	return is
}

// waitIssue waits until the project has exactly one issue, in state, whose
// description names run runID, and returns it.
func (h *harness) waitIssue(state, runID string) gitlabsim.Issue {
	h.t.Helper()
	var got gitlabsim.Issue
	apptest.Eventually(h.t, 30*time.Second, "the drift issue "+state+" for run "+runID, func() error {
		is := h.simIssues()
		if len(is) != 1 || is[0].State != state || !strings.Contains(is[0].Description, runID) {
			return fmt.Errorf("issues %+v", is)
		}
		got = is[0]
		return nil
	})
	return got
}

// TestDriftIssueFromIntegration: a stack that inherits takes its
// integration's setting (the integration's labels are validated like a
// stack's); under an integration that turns it on, a stack turned off
// opens no issue, back to inherit (the old drift_issue: false) it opens
// one with the integration's labels, and turned on it uses its own.
func TestDriftIssueFromIntegration(t *testing.T) {
	t.Parallel()
	h, clock := appliedSetup(t)

	_, msg, field := h.Call("PATCH", "/api/v1/integrations/gitlab/gitlab", h.AdminKey,
		map[string]any{"drift_issue_labels": []string{"drift"}}).APIError(t)
	if field != "drift_issue_labels" || !strings.Contains(msg, "needs drift_issue") {
		t.Fatalf("labels without drift_issue: %s %q", field, msg)
	}
	var it api.Integration
	h.Must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/gitlab", h.AdminKey, map[string]any{"drift_issue": true,
		"drift_issue_labels": []string{"drift", " team::infra "}}).Decode(t, &it)
	if !it.DriftIssue || !slices.Equal(it.DriftIssueLabels, []string{"drift", "team::infra"}) {
		t.Fatalf("integration after PATCH: drift_issue %v, labels %q", it.DriftIssue, it.DriftIssueLabels)
	}
	if st := h.getStack("web"); st.DriftIssue || st.DriftIssueMode != "inherit" {
		t.Fatalf("the stack's own setting = %v %q, want inherit", st.DriftIssue, st.DriftIssueMode)
	}
	_, msg, field = h.Call("PATCH", "/api/v1/stacks/web", h.AdminKey,
		map[string]any{"drift_issue": true, "drift_issue_mode": "off"}).APIError(t)
	if field != "drift_issue_mode" || !strings.Contains(msg, "contradicts drift_issue") {
		t.Fatalf("drift_issue true with mode off: %s %q", field, msg)
	}

	// Off on the stack: no issue though the integration turns it on.
	var st api.Stack
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"drift_issue_mode": "off"}).Decode(t, &st)
	if st.DriftIssue || st.DriftIssueMode != "off" {
		t.Fatalf("stack after PATCH off: %v %q", st.DriftIssue, st.DriftIssueMode)
	}
	sc := h.createSchedule("web", map[string]any{"kind": "drift", "cron": "0 * * * *"})
	h.stateRm()
	d1 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if !h.getStack("web").Drifted {
		t.Fatal("stack not drifted after the state rm")
	}
	if r := h.getRun(d1.ID); len(r.GitLabWrites) != 0 {
		t.Fatalf("drift run of a stack turned off wrote %+v", r.GitLabWrites)
	}
	if is := h.simIssues(); len(is) != 0 {
		t.Fatalf("issues of a stack turned off: %+v", is)
	}

	// drift_issue false is inherit: the integration's labels.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"drift_issue": false}).Decode(t, &st)
	if st.DriftIssueMode != "inherit" {
		t.Fatalf("stack after PATCH drift_issue false: %q", st.DriftIssueMode)
	}
	d2 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if is := h.waitIssue("opened", d2.ID); !slices.Equal(is.Labels, []string{"drift", "team::infra"}) {
		t.Fatalf("drift issue labels %q, want the integration's", is.Labels)
	}

	// On with its own labels: the same issue, relabelled.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"drift_issue_mode": "on",
		"drift_issue_labels": []string{"mine"}}).Decode(t, &st)
	if !st.DriftIssue || st.DriftIssueMode != "on" || !slices.Equal(st.DriftIssueLabels, []string{"mine"}) {
		t.Fatalf("stack after PATCH on: %+v", st)
	}
	d3 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if is := h.waitIssue("opened", d3.ID); !slices.Equal(is.Labels, []string{"mine"}) {
		t.Fatalf("drift issue labels %q, want the stack's own", is.Labels)
	}
}
