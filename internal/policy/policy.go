// Package policy is Hoist's policies as code (issue 17): Rego policies
// (Open Policy Agent) that replace the default push decision for a stack
// (push policies) and check a plan before it can be confirmed or applied
// (plan policies). It holds the Policy object, its validation and access
// rules, attachment (explicit, and automatic through autoattach:<label>
// labels), the Engine that compiles and evaluates policies safely (no
// network, no files, a timeout, fail closed), and the evaluations recorded
// for every decision.
package policy

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
)

// Type is what a policy decides.
type Type string

// The policy types of issue 17.
const (
	Push     Type = "push"
	Plan     Type = "plan"
	Approval Type = "approval"
)

// Policy is one policy as stored.
type Policy struct {
	ID          string // slug of the name at creation; immutable
	Name        string
	Type        Type // immutable: a body is written for one input shape
	SpaceID     string
	Labels      []string // a set, sorted; autoattach:<label> attaches automatically
	Description string   // markdown
	Body        string   // Rego source, package hoist
	// Version counts the changes of Body: 1 at creation. Evaluations record
	// it, so a recorded decision names the exact source that made it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string // principal
}

// Attachment is an explicit attachment of a policy to a stack.
type Attachment struct {
	StackID   string
	PolicyID  string
	CreatedAt time.Time
	CreatedBy string
}

// Filter narrows a listing. With All false, only policies whose space is
// in Spaces are listed — the spaces the principal may read.
type Filter struct {
	All    bool
	Spaces []string
	Type   Type // "" lists every type
}

// Outcome is what one evaluation decided.
type Outcome string

// The outcomes an evaluation records.
const (
	OutcomeTrack   Outcome = "track"   // push: a tracked run
	OutcomePropose Outcome = "propose" // push: a proposed run
	OutcomeIgnore  Outcome = "ignore"  // push: no run
	OutcomeDefault Outcome = "default" // push: the policy said nothing; Hoist's default decision stands
	OutcomePass    Outcome = "pass"    // plan: neither deny nor warn
	OutcomeWarn    Outcome = "warn"    // plan: warnings only
	OutcomeDeny    Outcome = "deny"    // plan: the run fails
	OutcomeApprove Outcome = "approve" // approval: approve true, reject not
	OutcomeReject  Outcome = "reject"  // approval: reject true; the run fails
	OutcomeWait    Outcome = "wait"    // approval: neither yet; the run waits for reviews
	OutcomeError   Outcome = "error"   // the policy failed or timed out: fail closed
)

// Evaluation is the record of one evaluation of one policy.
type Evaluation struct {
	ID            int64 // assigned by the store
	PolicyID      string
	PolicyVersion int64
	Type          Type
	StackID       string
	RunID         string // plan policies
	DeliveryID    string // push policies
	// Input is what the policy saw, secrets masked, cut to MaxRecordedInput
	// (a larger input is recorded as {"truncated":true,"bytes":N}).
	Input    json.RawMessage
	Outcome  Outcome
	Messages []string
	Error    string
	Duration time.Duration
	At       time.Time
}

// EvaluationFilter selects recorded evaluations; set one field.
type EvaluationFilter struct {
	RunID      string
	DeliveryID string
}

// Store persists policies, attachments and evaluations. Writes that change
// a policy or an attachment take the audit entry describing them and store
// both in one transaction. Errors: a missing policy → apperr NotFound; a
// duplicate id or name → Conflict; a missing space or stack referenced by a
// write → Invalid naming "space" or "stack".
type Store interface {
	CreatePolicy(ctx context.Context, p Policy, e audit.Entry) error
	GetPolicy(ctx context.Context, id string) (Policy, error)
	// ListPolicies pages the policies matching f, ordered by id.
	ListPolicies(ctx context.Context, f Filter, cursor string, limit int) ([]Policy, string, error)
	// ListPoliciesOfType returns every policy of one type, ordered by id,
	// bodies included: what attachment needs to decide for a set of stacks.
	ListPoliciesOfType(ctx context.Context, t Type) ([]Policy, error)
	// UpdatePolicy replaces every field but ID, Type, CreatedAt, CreatedBy.
	UpdatePolicy(ctx context.Context, p Policy, e audit.Entry) error
	// DeletePolicy removes the policy and its attachments; its recorded
	// evaluations stay.
	DeletePolicy(ctx context.Context, id string, e audit.Entry) error
	// AttachPolicy records a; attaching twice keeps the first.
	AttachPolicy(ctx context.Context, a Attachment, e audit.Entry) error
	// DetachPolicy removes the attachment; NotFound when there is none.
	DetachPolicy(ctx context.Context, stackID, policyID string, e audit.Entry) error
	// ListAttachments returns the explicit attachments of the stacks,
	// ordered by stack and policy.
	ListAttachments(ctx context.Context, stackIDs []string) ([]Attachment, error)
	// RecordEvaluations stores evaluations (IDs are ignored).
	RecordEvaluations(ctx context.Context, evs []Evaluation) error
	// ListEvaluations pages the evaluations matching f, oldest first.
	ListEvaluations(ctx context.Context, f EvaluationFilter, cursor string, limit int) ([]Evaluation, string, error)
}
