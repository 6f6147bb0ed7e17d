package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// approvalRego is docs/policies.md's example 5: two approvals from
// distinct writers, or one GitLab merge request approval by a Maintainer
// (or above); any reject rejects.
const approvalRego = `package hoist

writers := {r.reviewer | some r in input.reviews; r.decision == "approve"; r.role in {"write", "admin"}}

maintainer_approved if {
	some u in input.gitlab.merge_request.approved_by
	u.access_level >= 40
}

approve if count(writers) >= 2

approve if maintainer_approved

reject if {
	some r in input.reviews
	r.decision == "reject"
}

message contains sprintf("%d of 2 writer approvals, no Maintainer approval in GitLab", [count(writers)]) if {
	not approve
	not reject
}
`

// review posts a review with key and returns the run after it.
func (h *harness) review(key, runID, decision, note string) api.Run {
	h.t.Helper()
	var res api.ReviewResult
	h.Must(http.StatusCreated, "POST", "/api/v1/runs/"+runID+"/reviews", key,
		map[string]any{"decision": decision, "note": note}).Decode(h.t, &res)
	if res.Review.Decision != decision || res.Run.ID != runID {
		h.t.Fatalf("review answer %+v", res)
	}
	return res.Run
}

func states(r api.Run) string {
	var s []string
	for _, t := range r.History {
		s = append(s, t.State)
	}
	return strings.Join(s, " ")
}

// Issue 17 acceptance 1, approval policies: through the simulator's real
// webhooks and real OpenTofu, reviews in Hoist and approvals in GitLab.
func TestApprovalPoliciesEndToEnd(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	p := h.createPolicy("Two writers or a maintainer", "approval", "platform", approvalRego)
	h.Must(http.StatusNoContent, "POST", "/api/v1/stacks/web/policies/"+p.ID, h.AdminKey, nil)
	writerA, writerB := h.apiKey("writer-a", "platform:write"), h.apiKey("writer-b", "platform:write")
	reader := h.apiKey("reader", "platform:read")

	// Two approvals by distinct writers: the same writer twice is one.
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("reviewed")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "PENDING_REVIEW")
	if !historyNoted(r, "1 of 2") && !historyNoted(r, "0 of 2") {
		t.Fatalf("PENDING_REVIEW note does not say what is missing: %+v", r.History)
	}
	_, msg, _ := h.Must(http.StatusConflict, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil).APIError(t)
	if !strings.Contains(msg, "waits for reviews") {
		t.Fatalf("confirm of a run waiting for review: %q", msg)
	}
	h.Must(http.StatusForbidden, "POST", "/api/v1/runs/"+r.ID+"/reviews", reader, map[string]any{"decision": "approve"})
	h.Must(http.StatusBadRequest, "POST", "/api/v1/runs/"+r.ID+"/reviews", writerA, map[string]any{"decision": "maybe"})
	h.Must(http.StatusBadRequest, "POST", "/api/v1/runs/"+r.ID+"/reviews", writerA,
		map[string]any{"decision": "approve", "note": "looks \x1b[31mgood"})
	h.Must(http.StatusBadRequest, "POST", "/api/v1/runs/"+r.ID+"/reviews", writerA,
		map[string]any{"decision": "approve", "note": strings.Repeat("x", 4001)})
	if got := h.review(writerA, r.ID, "approve", "looks good"); got.State != "PENDING_REVIEW" {
		t.Fatalf("after one approval: %s", got.State)
	}
	if got := h.review(writerA, r.ID, "approve", "really"); got.State != "PENDING_REVIEW" {
		t.Fatalf("after the same writer's second approval: %s", got.State)
	}
	if got := h.review(writerB, r.ID, "approve", ""); got.State != "UNCONFIRMED" {
		t.Fatalf("after a second writer's approval: %s (%s)", got.State, states(got))
	}
	var reviews api.Page[api.Review]
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/reviews", reader, nil).Decode(t, &reviews)
	if len(reviews.Items) != 3 || reviews.Items[0].Role != "write" || reviews.Items[0].Note != "looks good" {
		t.Fatalf("reviews %+v", reviews.Items)
	}
	h.Must(http.StatusConflict, "POST", "/api/v1/runs/"+r.ID+"/reviews", writerA, map[string]any{"decision": "approve"})
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	r = h.waitState(r.ID, "FINISHED")
	if got := states(r); !strings.Contains(got, "PLANNING PENDING_REVIEW UNCONFIRMED CONFIRMED") {
		t.Fatalf("history %s", got)
	}
	var evs api.Page[api.PolicyEvaluation]
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/policy-evaluations", h.AdminKey, nil).Decode(t, &evs)
	var outcomes []string
	for _, ev := range evs.Items {
		outcomes = append(outcomes, ev.Outcome)
	}
	if strings.Join(outcomes, " ") != "wait wait wait approve" {
		t.Fatalf("approval evaluations %v", outcomes)
	}

	// Any reject rejects: the run fails, with the policy named.
	sha = h.push("main", map[string]string{"infra/main.tf": infraTF("rejected")})
	r = h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "PENDING_REVIEW")
	h.review(writerB, r.ID, "approve", "")
	if got := h.review(writerA, r.ID, "reject", "not today"); got.State != "FAILED" ||
		!strings.Contains(got.Error, "rejected by approval policy") || !strings.Contains(got.Error, p.ID) {
		t.Fatalf("after a reject: %s %q", got.State, got.Error)
	}

	// One approval in GitLab by a Maintainer: a stack tracking a branch
	// with an open merge request waits, a Developer's approval is not
	// enough, a Maintainer's decides (approvals arrive as merge request
	// events).
	h.push("staging", map[string]string{"README.md": "# staging\n"})
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "staging", "space": "platform",
		"repository": runsProject, "branch": "staging", "project_root": "infra"})
	h.Must(http.StatusNoContent, "POST", "/api/v1/stacks/staging/policies/"+p.ID, h.AdminKey, nil)
	dev, maint := h.simUser("dev", gitlabsim.Developer), h.simUser("mia", gitlabsim.Maintainer)
	sha = h.push("staging", map[string]string{"infra/main.tf": infraTF("staged")})
	r = h.waitState(h.waitRunAt("staging", sha, "TRACKED").ID, "PENDING_REVIEW")
	mr, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "staging", Title: "Stage"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.ApproveMergeRequest(ctx, runsProject, mr.IID, dev, ""); err != nil {
		t.Fatal(err)
	}
	h.waitEvaluations(r.ID, 2) // evaluated again on the approval event: still waiting
	if got := h.getRun(r.ID); got.State != "PENDING_REVIEW" {
		t.Fatalf("after a Developer's GitLab approval: %s", got.State)
	}
	if _, err := h.Sim.ApproveMergeRequest(ctx, runsProject, mr.IID, maint, ""); err != nil {
		t.Fatal(err)
	}
	r = h.waitState(r.ID, "UNCONFIRMED")
	if !historyNoted(r, "GitLab approvals of !") {
		t.Fatalf("history does not say GitLab's approval decided: %+v", r.History)
	}
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/discard", h.AdminKey, nil)

	// Merged: the tracked branch's run after the merge finds the merge
	// request of its merge commit, approved by a Maintainer, and goes on.
	merged, err := h.Sim.MergeMergeRequest(ctx, runsProject, mr.IID, maint)
	if err != nil {
		t.Fatal(err)
	}
	r = h.waitState(h.waitRunAt("web", merged.MergeCommitSHA, "TRACKED").ID, "UNCONFIRMED")
	if got := states(r); strings.Contains(got, "PENDING_REVIEW") {
		t.Fatalf("a run of an approved merge request waited: %s", got)
	}
}

// simUser creates a GitLab user with level on the project's group.
func (h *harness) simUser(name string, level int) int {
	h.t.Helper()
	u, err := h.Sim.CreateUser(h.t.Context(), gitlabsim.UserOptions{Username: name, Name: name, Email: name + "@example.com"})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(h.t.Context(), gitlabsim.MemberOptions{Group: "acme", UserID: u.ID, AccessLevel: level}); err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

// waitEvaluations waits until run id has at least n policy evaluations.
func (h *harness) waitEvaluations(id string, n int) {
	h.t.Helper()
	apptest.Eventually(h.t, 30*time.Second, "policy evaluations of "+id, func() bool {
		var evs api.Page[api.PolicyEvaluation]
		h.Must(http.StatusOK, "GET", "/api/v1/runs/"+id+"/policy-evaluations", h.AdminKey, nil).Decode(h.t, &evs)
		return len(evs.Items) >= n
	})
}
