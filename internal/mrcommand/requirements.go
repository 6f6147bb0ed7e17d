package mrcommand

import (
	"fmt"

	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Unmet checks a stack's apply requirements (stack.ApplyRequirementNames)
// against what GitLab says about the merge request, and returns one line
// per unmet requirement, naming it and GitLab's reason. own tells the
// commit statuses Hoist writes itself: `mergeable` ignores them, since
// Hoist's own pending status would otherwise keep a project that requires
// a successful pipeline from ever applying.
func Unmet(reqs []string, c vcs.MergeChecks, targetBranch string, own func(statusName string) bool) []string {
	var out []string
	for _, r := range reqs {
		var why string
		switch r {
		case stack.RequireApproved:
			why = notApproved(c)
		case stack.RequireMergeable:
			why = notMergeable(c, own)
		case stack.RequireUndiverged:
			if c.DivergedCommits > 0 {
				why = fmt.Sprintf("%s has %d commit(s) the merge request's branch does not; rebase it or merge %s into it",
					orTarget(targetBranch), c.DivergedCommits, orTarget(targetBranch))
			}
		default:
			why = "unknown requirement" // Validate refuses it; never met
		}
		if why != "" {
			out = append(out, fmt.Sprintf("`%s`: %s", r, why))
		}
	}
	return out
}

func orTarget(b string) string {
	if b == "" {
		return "the target branch"
	}
	return "`" + b + "`"
}

// notApproved is GitLab's approvals verdict: approved, with no approval
// left (approval rules count, not approvals_before_merge).
func notApproved(c vcs.MergeChecks) string {
	switch {
	case c.ApprovalsLeft > 0:
		return fmt.Sprintf("GitLab says it needs %d more approval(s)", c.ApprovalsLeft)
	case !c.Approved:
		return "GitLab says it is not approved"
	}
	return ""
}

// mergeStatusReasons explains GitLab's detailed_merge_status values.
var mergeStatusReasons = map[string]string{
	"not_open":                   "it is not open",
	"draft_status":               "it is a draft",
	"conflict":                   "it has conflicts",
	"need_rebase":                "it needs a rebase",
	"discussions_not_resolved":   "its discussions must be resolved",
	"not_approved":               "approvals are missing",
	"requested_changes":          "a reviewer requested changes",
	"blocked_status":             "another merge request blocks it",
	"merge_request_blocked":      "another merge request blocks it",
	"jira_association_missing":   "its title or description must name a Jira issue",
	"external_status_checks":     "external status checks must pass",
	"security_policy_violations": "security policies must pass",
	"locked_paths":               "it changes locked paths",
	"locked_lfs_files":           "it changes locked LFS files",
	"commits_status":             "its source branch or commits are missing",
	"title_regex":                "its title does not match the project's rule",
	"ci_must_pass":               "a pipeline must succeed",
	"ci_still_running":           "a pipeline is still running",
}

// notMergeable reads detailed_merge_status, Hoist's own statuses aside.
func notMergeable(c vcs.MergeChecks, own func(string) bool) string {
	s := c.DetailedMergeStatus
	switch s {
	case "mergeable":
		return ""
	case "checking", "unchecked", "preparing", "approvals_syncing":
		return "GitLab is still checking whether it can be merged; comment again in a moment"
	case "ci_must_pass", "ci_still_running":
		if !c.StatusesRead {
			return "GitLab says " + mergeStatusReasons[s]
		}
		if why := othersCI(c.Statuses, own); why != "" {
			return why
		}
		// Only Hoist's own statuses hold the pipeline back. GitLab stops at
		// the first failed check, so the approvals (checked after CI) are
		// read from their own API.
		if why := notApproved(c); why != "" {
			return "approvals are missing (" + why + ")"
		}
		return ""
	case "":
		return "GitLab did not say (no detailed_merge_status)"
	}
	if why, ok := mergeStatusReasons[s]; ok {
		return fmt.Sprintf("GitLab says %s (%s)", why, s)
	}
	return fmt.Sprintf("GitLab says it cannot be merged (%.64s)", s)
}

// othersCI says which statuses not written by Hoist have not succeeded
// (skipped counts as success, as in GitLab); "" when none.
func othersCI(sts []vcs.CommitStatus, own func(string) bool) string {
	var pending []string
	for _, st := range sts {
		if own != nil && own(st.Name) || st.State == "success" || st.State == "skipped" {
			continue
		}
		pending = append(pending, fmt.Sprintf("`%.80s` is %s", st.Name, st.State))
	}
	switch {
	case len(pending) == 0:
		return ""
	case len(pending) > 3:
		return fmt.Sprintf("the pipeline must succeed: %s, %s and %d more", pending[0], pending[1], len(pending)-2)
	}
	return "the pipeline must succeed: " + joinAnd(pending)
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 1:
		return xs[0]
	case 2:
		return xs[0] + " and " + xs[1]
	}
	out := ""
	for i, x := range xs {
		switch {
		case i == len(xs)-1:
			out += " and " + x
		case i > 0:
			out += ", " + x
		default:
			out = x
		}
	}
	return out
}
