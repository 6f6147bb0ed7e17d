package api

import "time"

// Stack is a stack (SPEC §3 field names).
type Stack struct {
	// slug of the name at creation; immutable
	ID    string `json:"id"`
	Name  string `json:"name"`
	Space string `json:"space"`
	// null while detached
	Integration *string `json:"integration"`
	// its integration was deleted: no webhook triggers, no runs, until it
	// gets another integration
	Detached       bool   `json:"detached"`
	DetachedReason string `json:"detached_reason,omitempty"`
	// GitLab project path namespace/project; the namespace may hold
	// subgroups
	Repository string `json:"repository"`
	// GitLab's numeric project id (0 when it could not be resolved)
	ProjectID int64 `json:"project_id"`
	// the tracked branch; must exist
	Branch string `json:"branch"`
	// folder of the repository, relative to its root; a trailing / is
	// trimmed; empty or / is the whole repository
	ProjectRoot string `json:"project_root"`
	// doublestar patterns of files outside the project root that also count
	// as changes
	AdditionalProjectGlobs []string `json:"additional_project_globs"`
	Labels                 []string `json:"labels"`
	Autodeploy             bool     `json:"autodeploy"`
	// markdown
	Description string `json:"description"`
	Tool        string `json:"tool" enum:"opentofu,terraform"`
	// a version of the server's tools folder, such as 1.10.6; empty runs the
	// workers' default OpenTofu
	ToolVersion string `json:"tool_version"`
	WorkerPool  string `json:"worker_pool"`
	// merge requests from forks may trigger proposed runs
	AllowForkMRs bool `json:"allow_fork_mrs"`
	// not supported yet: always false
	GitCheckout bool `json:"git_checkout"`
	// the GitLab access a merge request comment's author needs for
	// `/hoist plan` (docs/merge-requests.md)
	MRPlanMinAccess string `json:"mr_plan_min_access" enum:"guest,reporter,developer,maintainer,owner"`
	// the stack applies before merge with the `/hoist apply` merge request
	// comment (docs/merge-requests.md)
	MRApply bool `json:"mr_apply"`
	// the GitLab access a merge request comment's author needs for
	// `/hoist apply` and `/hoist unlock`
	MRApplyMinAccess string `json:"mr_apply_min_access" enum:"guest,reporter,developer,maintainer,owner"`
	// what GitLab must say about a merge request before `/hoist apply`
	// applies the stack from it (docs/merge-requests.md): approved,
	// mergeable, undiverged; empty for none
	ApplyRequirements []string `json:"apply_requirements"`
	// Hoist merges a merge request once every stack it changes has applied
	// from it with `/hoist apply` (each with this on); needs mr_apply
	MRAutomerge bool `json:"mr_automerge"`
	// the stack's own drift issue is on: drift_issue_mode is on
	DriftIssue bool `json:"drift_issue"`
	// whether Hoist keeps one GitLab issue in the stack's project open
	// while the stack is drifted (docs/drift.md): inherit (as the
	// integration says), on (with drift_issue_labels), off
	DriftIssueMode string `json:"drift_issue_mode" enum:"inherit,on,off"`
	// the labels of that issue when on; empty for none
	DriftIssueLabels []string `json:"drift_issue_labels"`
	// the merge request holding the stack between its `/hoist apply` and
	// its merge or close (or `/hoist unlock`); null when none does
	MRLock *StackMRLock `json:"mr_lock"`
	// the last drift run found changes (docs/drift.md)
	Drifted bool `json:"drifted"`
	// what the last drift run found; null until a drift run finished
	Drift *StackDrift `json:"drift"`
	// the tracked branch's head when the stack was created or its branch
	// changed, then the SHA of each tracked push
	TrackedCommit *TrackedCommit `json:"tracked_commit"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	Warnings      []string       `json:"warnings,omitempty"`
}

// StackMRLock is the merge request a stack is locked for.
type StackMRLock struct {
	MergeRequestIID int64  `json:"merge_request_iid"`
	MergeRequestURL string `json:"merge_request_url"`
	// the GitLab username who commented `/hoist apply`
	LockedBy string `json:"locked_by"`
	// id of the apply run; empty until it is created
	Run      string    `json:"run"`
	LockedAt time.Time `json:"locked_at"`
}

// TrackedCommit is the commit a stack's tracked branch was last seen at.
type TrackedCommit struct {
	SHA     string    `json:"sha"`
	Branch  string    `json:"branch"`
	MovedAt time.Time `json:"moved_at"`
}

// CreateStack is the body of POST /api/v1/stacks.
type CreateStack struct {
	Name  string `json:"name"`
	Space string `json:"space"`
	// id of a GitLab integration usable from the space: the default one, or
	// one in the stack's space or an ancestor reached through spaces that
	// all inherit; default: the default integration
	Integration string `json:"integration,omitempty"`
	// GitLab project path namespace/project; the namespace may hold
	// subgroups
	Repository string `json:"repository"`
	// the tracked branch; must exist
	Branch string `json:"branch"`
	// folder of the repository, relative to its root; a trailing / is
	// trimmed; empty or / is the whole repository; an absolute path (/etc)
	// or a .. part is refused
	ProjectRoot string `json:"project_root,omitempty"`
	// doublestar patterns of files outside the project root that also count
	// as changes
	AdditionalProjectGlobs []string `json:"additional_project_globs,omitempty"`
	Labels                 []string `json:"labels,omitempty"`
	Autodeploy             bool     `json:"autodeploy,omitempty"`
	// markdown
	Description string `json:"description,omitempty"`
	Tool        string `json:"tool,omitempty" enum:"opentofu,terraform"`
	// a version of the server's tools folder (hoist server --tools-dir),
	// such as 1.10.6 (a leading v is dropped); empty runs the workers'
	// default OpenTofu. A version the folder lacks, and terraform without a
	// version, are refused with the versions there are
	ToolVersion string `json:"tool_version,omitempty"`
	WorkerPool  string `json:"worker_pool,omitempty"`
	// merge requests from forks may trigger proposed runs
	AllowForkMRs bool `json:"allow_fork_mrs,omitempty"`
	// not supported yet: true is refused; workspaces always come from
	// GitLab's archive API
	GitCheckout bool `json:"git_checkout,omitempty"`
	// the GitLab access a merge request comment's author needs for
	// `/hoist plan`; default developer
	MRPlanMinAccess string `json:"mr_plan_min_access,omitempty" enum:"guest,reporter,developer,maintainer,owner"`
	// the stack applies before merge with the `/hoist apply` merge request
	// comment
	MRApply bool `json:"mr_apply,omitempty"`
	// the GitLab access a merge request comment's author needs for
	// `/hoist apply` and `/hoist unlock`; default maintainer
	MRApplyMinAccess string `json:"mr_apply_min_access,omitempty" enum:"guest,reporter,developer,maintainer,owner"`
	// what GitLab must say about a merge request before `/hoist apply`:
	// approved, mergeable, undiverged; none by default
	ApplyRequirements []string `json:"apply_requirements,omitempty"`
	// merge the merge request once every stack it changes applied from it;
	// needs mr_apply
	MRAutomerge bool `json:"mr_automerge,omitempty"`
	// true is drift_issue_mode on; false (the default) is inherit
	DriftIssue bool `json:"drift_issue,omitempty"`
	// keep one GitLab issue in the stack's project open while the stack is
	// drifted (docs/drift.md): inherit (the default: as the integration
	// says), on, off; must agree with drift_issue when both are sent
	DriftIssueMode string `json:"drift_issue_mode,omitempty" enum:"inherit,on,off"`
	// labels of that issue (at most 20, no commas); needs the issue on
	DriftIssueLabels []string `json:"drift_issue_labels,omitempty"`
}

// UpdateStack is the body of PATCH /api/v1/stacks/{id}: absent fields are
// left unchanged; the fields mean what they mean on create. An id is
// refused: ids are immutable.
type UpdateStack struct {
	Name  *string `json:"name,omitempty"`
	Space *string `json:"space,omitempty"`
	// another integration (checked like on create); re-attaches a detached
	// stack
	Integration            *string   `json:"integration,omitempty"`
	Repository             *string   `json:"repository,omitempty"`
	Branch                 *string   `json:"branch,omitempty"`
	ProjectRoot            *string   `json:"project_root,omitempty"`
	AdditionalProjectGlobs *[]string `json:"additional_project_globs,omitempty"`
	Labels                 *[]string `json:"labels,omitempty"`
	Autodeploy             *bool     `json:"autodeploy,omitempty"`
	Description            *string   `json:"description,omitempty"`
	Tool                   *string   `json:"tool,omitempty" enum:"opentofu,terraform"`
	ToolVersion            *string   `json:"tool_version,omitempty"`
	WorkerPool             *string   `json:"worker_pool,omitempty"`
	AllowForkMRs           *bool     `json:"allow_fork_mrs,omitempty"`
	GitCheckout            *bool     `json:"git_checkout,omitempty"`
	MRPlanMinAccess        *string   `json:"mr_plan_min_access,omitempty" enum:"guest,reporter,developer,maintainer,owner"`
	MRApply                *bool     `json:"mr_apply,omitempty"`
	MRApplyMinAccess       *string   `json:"mr_apply_min_access,omitempty" enum:"guest,reporter,developer,maintainer,owner"`
	ApplyRequirements      *[]string `json:"apply_requirements,omitempty"`
	MRAutomerge            *bool     `json:"mr_automerge,omitempty"`
	// true is drift_issue_mode on, false is inherit
	DriftIssue *bool `json:"drift_issue,omitempty"`
	// inherit, on or off; leaving on drops drift_issue_labels
	DriftIssueMode   *string   `json:"drift_issue_mode,omitempty" enum:"inherit,on,off"`
	DriftIssueLabels *[]string `json:"drift_issue_labels,omitempty"`
}
