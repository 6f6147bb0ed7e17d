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
	str := func(s string) *string { return &s }
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
		{"mode off", nil, str("off"), DriftIssueOff, ""},
		{"mode inherit", nil, str("inherit"), DriftIssueInherit, ""},
		{"empty mode is inherit", nil, str(""), DriftIssueInherit, ""},
		{"both agree on", &yes, str("on"), DriftIssueOn, ""},
		{"both agree inherit", &no, str("inherit"), DriftIssueInherit, ""},
		{"true contradicts off", &yes, str("off"), "", "off contradicts drift_issue: true"},
		{"false contradicts off", &no, str("off"), "", "off contradicts drift_issue: false"},
		{"false contradicts on", &no, str("on"), "", "on contradicts drift_issue: false"},
		{"unknown mode", nil, str("ON"), "", `must be inherit, on or off, got "ON"`},
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
	for _, m := range []DriftIssueMode{DriftIssueOff, DriftIssueInherit} {
		next := applyPatch(on, Patch{DriftIssue: &m})
		if next.DriftIssue != m || next.DriftIssueLabels != nil {
			t.Errorf("patch %s: %q, labels %q", m, next.DriftIssue, next.DriftIssueLabels)
		}
	}
	m := DriftIssueOn
	if next := applyPatch(on, Patch{DriftIssue: &m}); !slices.Equal(next.DriftIssueLabels, []string{"drift"}) {
		t.Errorf("patch on: labels %q", next.DriftIssueLabels)
	}
	off, labels := DriftIssueOff, []string{"x"}
	next := applyPatch(on, Patch{DriftIssue: &off, DriftIssueLabels: &labels})
	if err := Validate(&next); err == nil || !strings.Contains(err.Error(), "needs drift_issue") {
		t.Errorf("off with labels: %v", err)
	}
}

