package stack

import (
	"github.com/hoistdev/hoist/internal/apperr"
)

// DriftIssueMode says whether Hoist keeps a GitLab issue open while the
// stack is drifted (docs/drift.md): as its integration says, on with the
// stack's own labels, or off whatever the integration says.
type DriftIssueMode string

// The drift issue modes. The zero value is DriftIssueInherit.
const (
	DriftIssueInherit DriftIssueMode = "inherit"
	DriftIssueOn      DriftIssueMode = "on"
	DriftIssueOff     DriftIssueMode = "off"
)

// ParseDriftIssueMode reads a mode as the API and the forms send it; ""
// is inherit.
func ParseDriftIssueMode(s string) (DriftIssueMode, error) {
	switch m := DriftIssueMode(s); m {
	case "":
		return DriftIssueInherit, nil
	case DriftIssueInherit, DriftIssueOn, DriftIssueOff:
		return m, nil
	}
	return "", apperr.InvalidField("drift_issue_mode", "must be inherit, on or off, got %.40q", s)
}

// DriftIssueSetting resolves the two ways a client sets a stack's drift
// issue: the boolean drift_issue (true is on, false is inherit: its
// meaning before the mode existed, when false followed the integration)
// and drift_issue_mode. Either may be absent (nil); with both, they must
// agree. The result is nil when neither is given.
func DriftIssueSetting(flag *bool, mode *string) (*DriftIssueMode, error) {
	var fromFlag *DriftIssueMode
	if flag != nil {
		m := DriftIssueInherit
		if *flag {
			m = DriftIssueOn
		}
		fromFlag = &m
	}
	if mode == nil {
		return fromFlag, nil
	}
	m, err := ParseDriftIssueMode(*mode)
	if err != nil {
		return nil, err
	}
	if fromFlag != nil && *fromFlag != m {
		return nil, apperr.InvalidField("drift_issue_mode", "%s contradicts drift_issue: %t (true means on, false means inherit); send one of them", m, *flag)
	}
	return &m, nil
}
