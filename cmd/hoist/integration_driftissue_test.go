package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCLIIntegrationDriftIssueFlags: --drift-issue and
// --drift-issue-labels on create and update reach the server, show in
// `integration show`, and labels without the setting are refused with
// the server's message.
func TestCLIIntegrationDriftIssueFlags(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	tokFile, _, _ := h.botProject("acme/infra", map[string]string{"main.tf": "\n"})

	var it struct {
		ID               string   `json:"id"`
		DriftIssue       bool     `json:"drift_issue"`
		DriftIssueLabels []string `json:"drift_issue_labels"`
	}
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "create", "--name", "Acme", "--api-host", h.simURL,
		"--token-file", tokFile, "--default", "--drift-issue", "--drift-issue-labels", "drift, team::infra,drift")
	if it.ID != "acme" || !it.DriftIssue || !slices.Equal(it.DriftIssueLabels, []string{"drift", "team::infra"}) {
		t.Fatalf("create --drift-issue = %+v", it)
	}
	if out := h.ok(h.adminKey, "integration", "show", "acme"); !regexp.MustCompile(`Drift issue:\s+yes, labels drift, team::infra`).MatchString(out) {
		t.Errorf("show does not give the drift issue setting:\n%s", out)
	}
	h.ok(h.adminKey, "stack", "create", "--name", "web", "--space", "root", "--repository", "acme/infra", "--branch", "main")
	if out := h.ok(h.adminKey, "stack", "show", "web"); !regexp.MustCompile(`Drift issue:\s+as the integration says`).MatchString(out) {
		t.Errorf("stack show of a stack without its own setting:\n%s", out)
	}
	_, _, err := h.run(h.adminKey, nil, "integration", "gitlab", "update", "acme", "--drift-issue=false")
	if err == nil || !strings.Contains(err.Error(), "drift_issue_labels: needs drift_issue") {
		t.Errorf("turning it off with labels left = %v", err)
	}
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "update", "acme", "--drift-issue=false", "--drift-issue-labels", "")
	if it.DriftIssue || len(it.DriftIssueLabels) != 0 {
		t.Errorf("update --drift-issue=false --drift-issue-labels '' = %+v", it)
	}
	_, _, err = h.run(h.adminKey, nil, "integration", "gitlab", "update", "acme", "--drift-issue", "--drift-issue-labels", "a\tb")
	if err == nil || !strings.Contains(err.Error(), "labels must not hold control characters") {
		t.Errorf("a label with a tab = %v", err)
	}
}
