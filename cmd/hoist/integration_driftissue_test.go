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
// the server's message; a stack's --drift-issue-mode turns it off under
// that integration, on with its own labels, or back to inherit.
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
	var st struct {
		DriftIssue       bool     `json:"drift_issue"`
		DriftIssueMode   string   `json:"drift_issue_mode"`
		DriftIssueLabels []string `json:"drift_issue_labels"`
	}
	for _, c := range []struct {
		args       []string
		mode, show string
		wantOn     bool
		wantLabels []string
	}{
		{[]string{"--drift-issue-mode", "off"}, "off", `no \(off on this stack`, false, nil},
		{[]string{"--drift-issue", "--drift-issue-labels", "mine"}, "on", `yes, labels mine`, true, []string{"mine"}},
		{[]string{"--drift-issue=false"}, "inherit", `as the integration says`, false, nil},
		{[]string{"--drift-issue-mode", "on"}, "on", `yes\n`, true, nil},
	} {
		h.jsonOut(&st, h.adminKey, append([]string{"stack", "update", "web"}, c.args...)...)
		if st.DriftIssueMode != c.mode || st.DriftIssue != c.wantOn || !slices.Equal(st.DriftIssueLabels, c.wantLabels) && len(c.wantLabels) > 0 {
			t.Errorf("stack update %q = %+v", c.args, st)
		}
		if out := h.ok(h.adminKey, "stack", "show", "web"); !regexp.MustCompile(`Drift issue:\s+` + c.show).MatchString(out) {
			t.Errorf("stack show after %q:\n%s", c.args, out)
		}
	}
	_, _, err := h.run(h.adminKey, nil, "stack", "update", "web", "--drift-issue", "--drift-issue-mode", "off")
	if err == nil || !strings.Contains(err.Error(), "drift_issue_mode: off contradicts drift_issue: true") {
		t.Errorf("--drift-issue with --drift-issue-mode off = %v", err)
	}
	_, _, err = h.run(h.adminKey, nil, "stack", "update", "web", "--drift-issue-mode", "sometimes")
	if err == nil || !strings.Contains(err.Error(), "must be inherit, on or off") {
		t.Errorf("--drift-issue-mode sometimes = %v", err)
	}

	_, _, err = h.run(h.adminKey, nil, "integration", "gitlab", "update", "acme", "--drift-issue=false")
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
