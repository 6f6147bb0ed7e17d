// Package stack models Hoist's stacks (SPEC §3): one deployable unit — a
// project root inside a GitLab repository with a tracked branch — its
// validation, the rule deciding which integrations a stack may use, who may
// see and change it, and its Store. The business operations, including the
// checks in GitLab of SPEC §2.2, live in service.go.
package stack

import (
	"context"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/trigger"
)

// Tool is the infrastructure-as-code binary a stack's runs use.
type Tool string

// The tools a stack may use (SPEC §3). A stack without a ToolVersion runs
// the workers' default OpenTofu; a pinned version, and Terraform always,
// must be in the server's tools folder (docs/runs.md).
const (
	OpenTofu  Tool = "opentofu"
	Terraform Tool = "terraform"
)

// DefaultWorkerPool names the pool embedded in the server (SPEC §1): the
// pool a stack's runs go to unless it names another one.
const DefaultWorkerPool = "embedded"

// Stack is one stack as stored.
type Stack struct {
	ID      string // slug of the name at creation; immutable
	Name    string // unique; may change
	SpaceID string
	// IntegrationID is the integration the stack uses; "" when the stack is
	// detached because that integration was deleted (SPEC §2.3).
	IntegrationID string
	// DetachedFrom is the id of the deleted integration, set only while the
	// stack is detached, so it can say why.
	DetachedFrom string
	// Repository is the GitLab project's path, namespace/project (the
	// namespace may hold subgroups: group/sub/project).
	Repository string
	// ProjectID is the GitLab project's numeric id, resolved when the
	// repository is checked; webhooks carry it. 0 when it could not be
	// resolved (an integration reached through an agent pool).
	ProjectID              int64
	Branch                 string   // the tracked branch
	ProjectRoot            string   // normalised: no leading or trailing "/"; "" is the whole repository
	AdditionalProjectGlobs []string // doublestar patterns, as given
	Labels                 []string // a set, sorted
	Autodeploy             bool
	Description            string // markdown
	Tool                   Tool
	ToolVersion            string // "" means the worker's default OpenTofu; else a version of the tools folder, without a leading v
	WorkerPool             string
	AllowForkMRs           bool // merge requests from forks may trigger proposed runs (SPEC §4.2)
	GitCheckout            bool // SPEC §4.4's git clone instead of the archive API: not supported yet, always false (Validate refuses it)
	// MRPlanMinAccess is the GitLab access level a merge request comment's
	// author needs on the project for `/hoist plan` (issue 18): a name of
	// MRAccessLevels, "developer" by default.
	MRPlanMinAccess string
	// MRApply lets the stack apply before merge with the `/hoist apply`
	// merge request comment (issue 18).
	MRApply bool
	// MRApplyMinAccess is the GitLab access level a comment's author needs
	// for `/hoist apply` and `/hoist unlock`: a name of MRAccessLevels,
	// "maintainer" by default.
	MRApplyMinAccess string
	// ApplyRequirements are what GitLab must say about a merge request
	// before `/hoist apply` applies the stack from it: names of
	// ApplyRequirementNames, in that order, none by default.
	ApplyRequirements []string
	// MRAutomerge lets Hoist merge a merge request through GitLab's API
	// once every stack it changes has applied from it with `/hoist apply`
	// (each of those stacks must have it on); it needs MRApply.
	MRAutomerge bool
	// DriftIssue says whether Hoist keeps one GitLab issue in the stack's
	// project open while the stack is drifted (issue 21): as the
	// integration says (the default), on labelled with DriftIssueLabels (a
	// set in the given order; only when on), or off.
	DriftIssue       DriftIssueMode
	DriftIssueLabels []string
	TrackedCommit    *TrackedCommit
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CreatedBy        string // principal
}

// TrackedCommit is the commit a stack's tracked branch was last seen at:
// the branch head when the stack was created or its branch changed, then
// the SHA of every tracked push (SPEC §4.2). Manual runs use it.
type TrackedCommit struct {
	SHA     string
	Branch  string
	MovedAt time.Time
}

// Detached reports whether the stack's integration was deleted: nothing
// triggers it until it is pointed at another integration.
func (s Stack) Detached() bool { return s.IntegrationID == "" }

// DetachedReason says why a detached stack is detached, "" otherwise.
func (s Stack) DetachedReason() string {
	if !s.Detached() {
		return ""
	}
	if s.DetachedFrom == "" {
		return "its integration was deleted; point it at another integration"
	}
	return "integration " + s.DetachedFrom + " was deleted; point the stack at another integration"
}

// Trigger is what the push policy needs to know of s.
func (s Stack) Trigger() trigger.Stack {
	return trigger.Stack{ID: s.ID, Branch: s.Branch, ProjectRoot: s.ProjectRoot, AdditionalGlobs: s.AdditionalProjectGlobs,
		Labels: s.Labels, AllowForks: s.AllowForkMRs, Detached: s.Detached()}
}

// IDs returns the ids of stacks, in their order.
func IDs(stacks []Stack) []string {
	ids := make([]string, len(stacks))
	for i, st := range stacks {
		ids[i] = st.ID
	}
	return ids
}

// Filter narrows a listing. With All false, only stacks whose space is in
// Spaces are listed — the spaces the principal may read.
type Filter struct {
	All    bool
	Spaces []string
	// Space, when set, keeps only the stacks of that one space.
	Space string
}

// Store persists stacks. Each write takes the audit entry describing it and
// stores both in one transaction. Errors: a missing stack → apperr
// NotFound; a duplicate id or name → Conflict; a missing space or
// integration referenced by a write → Invalid naming "space" or
// "integration".
type Store interface {
	CreateStack(ctx context.Context, st Stack, e audit.Entry) error
	GetStack(ctx context.Context, id string) (Stack, error)
	// ListStacks pages the stacks matching f, ordered by id.
	ListStacks(ctx context.Context, f Filter, cursor string, limit int) ([]Stack, string, error)
	// ListStackSummaries pages the stacks matching f, ordered by id, each
	// with its newest run; every filter is applied in SQL.
	ListStackSummaries(ctx context.Context, f SummaryFilter, cursor string, limit int) ([]Summary, string, error)
	// UpdateStack replaces every field but ID, TrackedCommit (owned by
	// MoveTrackedCommit; see there), CreatedAt and CreatedBy. A stack whose
	// branch changes gets st.TrackedCommit when it is not nil.
	UpdateStack(ctx context.Context, st Stack, e audit.Entry) error
	DeleteStack(ctx context.Context, id string, e audit.Entry) error
	// ListStacksByRepository returns, in one query, every stack attached to
	// the integration whose repository is the GitLab project projectID —
	// or, for stacks whose project id is unknown (0), whose repository is
	// path (compared case-insensitively). Ordered by id. Detached stacks
	// are never returned: their integration is gone. The stacks may be
	// shared with other callers (every webhook reads them; a copy each
	// costs megabytes with thousands of stacks): read them, never change
	// them or what they point to. Appending to the list or to a stack's
	// slices is safe (they have no room left: an append copies).
	ListStacksByRepository(ctx context.Context, integrationID string, projectID int64, path string) ([]Stack, error)
	// ListTriggerStacks is ListStacksByRepository with only what the push
	// policy needs (trigger.Stack), for webhook processing: it reads a
	// fraction of the columns. Detached is always false.
	ListTriggerStacks(ctx context.Context, integrationID string, projectID int64, path string) ([]trigger.Stack, error)
	// MoveTrackedCommit sets the stack's tracked commit to c when c.Branch
	// is still the stack's tracked branch, and reports whether it moved.
	// A missing stack is NotFound.
	MoveTrackedCommit(ctx context.Context, stackID string, c TrackedCommit) (bool, error)
	// StackMRLock returns the merge request lock of a stack, nil when it
	// has none (or there is no such stack).
	StackMRLock(ctx context.Context, stackID string) (*MRLock, error)
	// StackMRLocks returns, in one query, the merge request locks of the
	// stacks among stackIDs that have one, by stack id.
	StackMRLocks(ctx context.Context, stackIDs []string) (map[string]MRLock, error)
	// StackDrift returns the drift mark of a stack, nil when it has none.
	StackDrift(ctx context.Context, stackID string) (*Drift, error)
	// StackDrifts returns, in one query, the drift marks of the stacks
	// among stackIDs that have one, by stack id.
	StackDrifts(ctx context.Context, stackIDs []string) (map[string]Drift, error)
}
