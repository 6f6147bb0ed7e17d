package stack

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestDriftIssueSetting(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name    string
		flag    *bool
		mode    *string
		want    DriftIssueMode // "" for nil
		wantErr string
	}{
		{"neither", nil, nil, "", ""},
		{"true is on", &yes, nil, DriftIssueOn, ""},
		{"false is inherit, as documented before the mode", &no, nil, DriftIssueInherit, ""},
		{"mode off", nil, ptr("off"), DriftIssueOff, ""},
		{"mode inherit", nil, ptr("inherit"), DriftIssueInherit, ""},
		{"empty mode is inherit", nil, ptr(""), DriftIssueInherit, ""},
		{"both agree on", &yes, ptr("on"), DriftIssueOn, ""},
		{"both agree inherit", &no, ptr("inherit"), DriftIssueInherit, ""},
		{"true contradicts off", &yes, ptr("off"), "", "off contradicts drift_issue: true"},
		{"false contradicts off", &no, ptr("off"), "", "off contradicts drift_issue: false"},
		{"false contradicts on", &no, ptr("on"), "", "on contradicts drift_issue: false"},
		{"unknown mode", nil, ptr("ON"), "", `must be inherit, on or off, got "ON"`},
	}
	for _, tt := range tests {
		got, err := DriftIssueSetting(tt.flag, tt.mode)
		if tt.wantErr != "" {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Field != "drift_issue_mode" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want drift_issue_mode %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		switch {
		case tt.want == "" && got != nil:
			t.Errorf("%s = %q, want nil", tt.name, *got)
		case tt.want != "" && (got == nil || *got != tt.want):
			t.Errorf("%s = %v, want %q", tt.name, got, tt.want)
		}
	}
}

// TestApplyPatchDriftIssue: leaving "on" drops the labels unless the
// patch sends some (which Validate then refuses); staying on keeps them.
func TestApplyPatchDriftIssue(t *testing.T) {
	t.Parallel()
	on := valid()
	on.DriftIssue, on.DriftIssueLabels = DriftIssueOn, []string{"drift"}
	no := false
	for _, p := range []Patch{{DriftIssueMode: ptr("off")}, {DriftIssueMode: ptr("inherit")}, {DriftIssue: &no}} {
		next, err := applyPatch(on, p)
		if err != nil || next.DriftIssue == DriftIssueOn || next.DriftIssueLabels != nil {
			t.Errorf("patch %+v: %q, labels %q, %v", p, next.DriftIssue, next.DriftIssueLabels, err)
		}
	}
	if next, err := applyPatch(on, Patch{DriftIssueMode: ptr("on")}); err != nil || !slices.Equal(next.DriftIssueLabels, []string{"drift"}) {
		t.Errorf("patch on: labels %q, %v", next.DriftIssueLabels, err)
	}
	next, err := applyPatch(on, Patch{DriftIssueMode: ptr("off"), DriftIssueLabels: &[]string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(&next); err == nil || !strings.Contains(err.Error(), "needs drift_issue") {
		t.Errorf("off with labels: %v", err)
	}
	yes := true
	if _, err := applyPatch(on, Patch{DriftIssue: &yes, DriftIssueMode: ptr("off")}); err == nil {
		t.Error("drift_issue true with mode off: no error")
	}
}
