package mrcommand

import (
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/vcs"
)

func TestUnmet(t *testing.T) {
	own := func(name string) bool { return strings.HasPrefix(name, "hoist/") }
	all := []string{"approved", "mergeable", "undiverged"}
	ok := vcs.MergeChecks{DetailedMergeStatus: "mergeable", Approved: true}
	ci := func(sts ...vcs.CommitStatus) vcs.MergeChecks {
		return vcs.MergeChecks{DetailedMergeStatus: "ci_must_pass", Approved: true, Statuses: sts, StatusesRead: true}
	}
	for _, tc := range []struct {
		name   string
		reqs   []string
		checks vcs.MergeChecks
		want   []string // substrings, one per unmet requirement, in order
	}{
		{"none required", nil, vcs.MergeChecks{DetailedMergeStatus: "conflict", DivergedCommits: 3}, nil},
		{"all met", all, ok, nil},
		{"approvals left", []string{"approved"}, vcs.MergeChecks{Approved: false, ApprovalsLeft: 2},
			[]string{"`approved`: GitLab says it needs 2 more approval(s)"}},
		{"not approved, no rule (GitLab CE)", []string{"approved"}, vcs.MergeChecks{}, []string{"`approved`: GitLab says it is not approved"}},
		{"approved on GitLab's word", []string{"approved"}, vcs.MergeChecks{Approved: true}, nil},
		{"draft", []string{"mergeable"}, vcs.MergeChecks{DetailedMergeStatus: "draft_status"},
			[]string{"`mergeable`: GitLab says it is a draft (draft_status)"}},
		{"still checking", []string{"mergeable"}, vcs.MergeChecks{DetailedMergeStatus: "checking"}, []string{"still checking"}},
		{"unknown status quoted, cut", []string{"mergeable"}, vcs.MergeChecks{DetailedMergeStatus: "brand_new_" + strings.Repeat("x", 100)},
			[]string{"cannot be merged (brand_new_xxx"}},
		{"only Hoist's own statuses hold CI", []string{"mergeable"}, ci(vcs.CommitStatus{Name: "hoist/app", State: "running"},
			vcs.CommitStatus{Name: "test", State: "success"}, vcs.CommitStatus{Name: "lint", State: "skipped"}), nil},
		{"another job still runs", []string{"mergeable"}, ci(vcs.CommitStatus{Name: "hoist/app", State: "running"},
			vcs.CommitStatus{Name: "test", State: "running"}), []string{"the pipeline must succeed: `test` is running"}},
		{"CI aside, approvals missing", []string{"mergeable"},
			vcs.MergeChecks{DetailedMergeStatus: "ci_must_pass", ApprovalsLeft: 1, StatusesRead: true},
			[]string{"approvals are missing (GitLab says it needs 1 more approval(s))"}},
		{"statuses unread", []string{"mergeable"}, vcs.MergeChecks{DetailedMergeStatus: "ci_still_running"},
			[]string{"GitLab says a pipeline is still running"}},
		{"many failing jobs summarized", []string{"mergeable"}, ci(vcs.CommitStatus{Name: "a", State: "failed"},
			vcs.CommitStatus{Name: "b", State: "failed"}, vcs.CommitStatus{Name: "c", State: "pending"}, vcs.CommitStatus{Name: "d", State: "canceled"}),
			[]string{"`a` is failed, `b` is failed and 2 more"}},
		{"diverged", []string{"undiverged"}, vcs.MergeChecks{DivergedCommits: 2},
			[]string{"`undiverged`: `main` has 2 commit(s) the merge request's branch does not"}},
		{"each unmet named, in order", all, vcs.MergeChecks{DetailedMergeStatus: "not_approved", ApprovalsLeft: 1, DivergedCommits: 1},
			[]string{"`approved`", "`mergeable`: GitLab says approvals are missing (not_approved)", "`undiverged`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Unmet(tc.reqs, tc.checks, "main", own)
			if len(got) != len(tc.want) {
				t.Fatalf("Unmet = %q, want %d lines like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			if slices.ContainsFunc(got, func(s string) bool { return len(s) > 400 }) {
				t.Errorf("a line is longer than 400 bytes: %q", got)
			}
		})
	}
}
