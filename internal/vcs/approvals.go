package vcs

import "strconv"

// Approvals is GitLab's approval state of one merge request.
type Approvals struct {
	IID           int64
	State         string // opened, merged, closed, locked
	HeadSHA       string // the merge request's head commit ("sha")
	Approved      bool   // GitLab says approved: approval rules count, not approvals_before_merge
	ApprovalsLeft int64
	ApprovedBy    []Approver
}

// Approver is one user who approved, with their access to the project.
type Approver struct {
	ID          int64
	Username    string
	AccessLevel int64 // GitLab's level on the project, inherited from groups too: 10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer, 50 owner; 0 not a member
}

// CommitMergeRequest is a merge request that contains a commit.
type CommitMergeRequest struct {
	IID            int64
	State          string
	SourceBranch   string
	TargetBranch   string
	HeadSHA        string
	MergeCommitSHA string
}

// GitLab's access levels on a project, as its members API reports them.
const (
	AccessNone       int64 = 0
	AccessMinimal    int64 = 5
	AccessGuest      int64 = 10
	AccessPlanner    int64 = 15
	AccessReporter   int64 = 20
	AccessDeveloper  int64 = 30
	AccessMaintainer int64 = 40
	AccessOwner      int64 = 50
	AccessAdmin      int64 = 60 // an instance administrator, never a member's level
)

var accessNames = map[int64]string{
	AccessNone: "none", AccessMinimal: "minimal", AccessGuest: "guest", AccessPlanner: "planner",
	AccessReporter: "reporter", AccessDeveloper: "developer", AccessMaintainer: "maintainer",
	AccessOwner: "owner", AccessAdmin: "admin",
}

// AccessName names a GitLab access level ("developer", "maintainer", "owner", …; "none" for 0).
// A level GitLab does not define is "level N".
func AccessName(level int64) string {
	if n, ok := accessNames[level]; ok {
		return n
	}
	return "level " + strconv.FormatInt(level, 10)
}

// MergeChecks is what GitLab says about whether a merge request may be
// merged: the facts `/hoist apply`'s requirements are checked against.
type MergeChecks struct {
	IID     int64
	State   string // opened, merged, closed, locked
	HeadSHA string
	// DetailedMergeStatus is GitLab's verdict (mergeable, not_approved,
	// ci_must_pass, checking, …): the first check that fails.
	DetailedMergeStatus string
	// DivergedCommits is how many commits of the target branch the source
	// branch lacks.
	DivergedCommits int64
	Approved        bool // the approvals API's verdict, approval rules included
	ApprovalsLeft   int64
	// Statuses are the head commit's statuses on the source branch, read
	// only when GitLab says a pipeline must pass (StatusesRead).
	Statuses     []CommitStatus
	StatusesRead bool
}
