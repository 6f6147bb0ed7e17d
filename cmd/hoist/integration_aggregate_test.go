package main

import (
	"regexp"
	"testing"
)

// TestCLIAggregateStatusesFlag: --aggregate-statuses on create, and
// --aggregate-statuses[=BOOL] on update, reach the server and come back in
// the integration; an update without the flag leaves it alone.
func TestCLIAggregateStatusesFlag(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	_, tokFile := h.gitlabToken("hoist-bot", nil, "api")

	var it struct {
		ID                string `json:"id"`
		AggregateStatuses bool   `json:"aggregate_statuses"`
		Description       string `json:"description"`
	}
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "create", "--name", "Mono", "--api-host", h.simURL,
		"--token-file", tokFile, "--default", "--aggregate-statuses")
	if it.ID != "mono" || !it.AggregateStatuses {
		t.Fatalf("create --aggregate-statuses = %+v, want aggregation on", it)
	}
	if out := h.ok(h.adminKey, "integration", "show", "mono"); !regexp.MustCompile(`Aggregate statuses:\s+yes`).MatchString(out) {
		t.Errorf("show does not say aggregation is on:\n%s", out)
	}

	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "update", "mono", "--description", "other")
	if !it.AggregateStatuses || it.Description != "other" {
		t.Errorf("an update without the flag changed aggregation: %+v", it)
	}
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "update", "mono", "--aggregate-statuses=false")
	if it.AggregateStatuses {
		t.Errorf("update --aggregate-statuses=false = %+v, want aggregation off", it)
	}
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "update", "mono", "--aggregate-statuses")
	if !it.AggregateStatuses {
		t.Errorf("update --aggregate-statuses = %+v, want aggregation on", it)
	}

	// Without the flag, create leaves aggregation off.
	_, tok2 := h.gitlabToken("other-bot", nil, "api")
	h.jsonOut(&it, h.adminKey, "integration", "gitlab", "create", "--name", "Plain", "--api-host", h.simURL,
		"--token-file", tok2, "--space", "root")
	if it.AggregateStatuses {
		t.Errorf("create without the flag = %+v, want aggregation off", it)
	}
}
