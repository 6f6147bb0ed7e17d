package integration

import (
	"slices"
	"strings"
	"unicode"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Limits on a drift issue's labels (a stack's or an integration's). GitLab
// takes labels as one comma-separated parameter, so a label cannot hold a
// comma.
const (
	MaxDriftIssueLabels   = 20
	MaxDriftIssueLabelLen = 255
)

// ValidateDriftIssue checks a drift issue setting (drift_issue and
// drift_issue_labels, of a stack or an integration) and returns the labels
// trimmed: at most MaxDriftIssueLabels, each 1 to MaxDriftIssueLabelLen
// characters without commas or control characters; duplicates are
// dropped, the order kept. Labels without the setting on are refused:
// they would be ignored.
func ValidateDriftIssue(on bool, labels []string) ([]string, error) {
	if len(labels) > MaxDriftIssueLabels {
		return nil, apperr.InvalidField("drift_issue_labels", "must be at most %d labels, got %d", MaxDriftIssueLabels, len(labels))
	}
	var out []string
	for _, l := range labels {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			return nil, apperr.InvalidField("drift_issue_labels", "must not hold an empty label")
		case len([]rune(l)) > MaxDriftIssueLabelLen:
			return nil, apperr.InvalidField("drift_issue_labels", "labels must be at most %d characters, got %.40q…", MaxDriftIssueLabelLen, l)
		case strings.ContainsRune(l, ','):
			return nil, apperr.InvalidField("drift_issue_labels", "labels must not hold a comma, got %.40q", l)
		case strings.IndexFunc(l, unicode.IsControl) >= 0:
			return nil, apperr.InvalidField("drift_issue_labels", "labels must not hold control characters, got %.40q", l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) > 0 && !on {
		return nil, apperr.InvalidField("drift_issue_labels", "needs drift_issue: labels of an issue Hoist does not open would be ignored")
	}
	return out, nil
}
