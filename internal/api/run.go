package api

import (
	"fmt"
	"time"
)

// Run is a run (SPEC §6.2).
type Run struct {
	ID              string `json:"id"`
	Stack           string `json:"stack"`
	Type            string `json:"type" enum:"TRACKED,PROPOSED,TASK"`
	State           string `json:"state" enum:"QUEUED,READY,PREPARING,INITIALIZING,PLANNING,PENDING_REVIEW,UNCONFIRMED,CONFIRMED,PREPARING_APPLY,APPLYING,PERFORMING,FINISHED,FAILED,DISCARDED,STOPPED,CANCELED,SKIPPED"`
	CommitSHA       string `json:"commit_sha"`
	Branch          string `json:"branch"`
	MergeRequestIID int64  `json:"merge_request_iid"`
	MergeRequestURL string `json:"merge_request_url,omitempty"`
	// what made the run: push, merge_request, api, …; drift for a
	// drift-detection run, schedule for a scheduled task, reconcile for a
	// run a drifted result started (docs/drift.md)
	Trigger     string `json:"trigger"`
	TriggeredBy string `json:"triggered_by"`
	Reason      string `json:"reason"`
	// a TASK run's command
	Command []string `json:"command,omitempty"`
	// the schedule that made the run; absent for runs made otherwise
	Schedule string `json:"schedule,omitempty"`
	// what the plan does; null until the run has a plan (a run that failed
	// or stopped before planning)
	Delta   *Delta       `json:"delta"`
	History []Transition `json:"history"`
	// while QUEUED: the run holding the stack's lock
	BlockedBy string     `json:"blocked_by,omitempty"`
	Resources []Resource `json:"resources"`
	Error     string     `json:"error,omitempty"`
	// OpenTofu's own error of a failed run (its Error: blocks, secrets
	// masked, at most 4 KiB); absent otherwise
	ErrorDetail string `json:"error_detail,omitempty"`
	// what executes the run, once its worker said
	Tool string `json:"tool,omitempty" enum:"opentofu,terraform"`
	// the version the binary reported (tofu version -json), once its worker
	// said; a stack's pinned version or the worker's default OpenTofu
	ToolVersion string `json:"tool_version,omitempty"`
	// the run's writes to GitLab (commit statuses, merge request note,
	// deployment) and their outcome; on GET /api/v1/runs/{id} only
	GitLabWrites []GitLabWrite `json:"gitlab_writes,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Delta counts what a plan changes.
type Delta struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// String is the short summary: "+2 ~1 -0"; "-" without a plan (nil).
func (d *Delta) String() string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("+%d ~%d -%d", d.Add, d.Change, d.Destroy)
}

// Transition is one entry of a run's history.
type Transition struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
}

// Resource is one resource a plan touches.
type Resource struct {
	Address string `json:"address"`
	// create, update, delete, replace, read, import
	Action string `json:"action"`
	// the top-level attributes the plan sets or changes, in name order
	// (at most 50 per resource, 2,000 per plan)
	Changes []AttrChange `json:"changes,omitempty"`
}

// AttrChange is one attribute of a resource as the plan changes it.
type AttrChange struct {
	Name string `json:"name"`
	// the value before and after, as compact JSON cut to 256 bytes;
	// absent when null, sensitive, or (after) unknown until the apply
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// the value is sensitive: never shown
	Sensitive bool `json:"sensitive,omitempty"`
	// the value is known only after the apply
	Unknown bool `json:"unknown,omitempty"`
}

// GitLabWrite is one of a run's writes to GitLab and its outcome.
type GitLabWrite struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind" enum:"status,note,deployment,award,reply,merge,issue"`
	// what it writes: "commit status hoist/app → success on 1a2b3c4d"
	Target   string `json:"target"`
	State    string `json:"state" enum:"pending,retrying,done,skipped,failed"`
	Attempts int    `json:"attempts"`
	// while pending or retrying
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// GitLab's error, kept after a later success
	LastError string    `json:"last_error,omitempty"`
	Result    string    `json:"result,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TriggerRun is the body of POST /api/v1/stacks/{id}/runs (optional):
// TRACKED at the stack's tracked commit, PROPOSED at commit_sha, or a
// TASK running command at the stack's tracked commit.
type TriggerRun struct {
	Type      string `json:"type,omitempty" enum:"TRACKED,PROPOSED,TASK"`
	CommitSHA string `json:"commit_sha,omitempty"`
	// TASK only: the command's arguments, starting with tofu or terraform
	// (the stack's tool), such as ["tofu", "state", "list"]; at most 64
	// arguments
	Command []string `json:"command,omitempty"`
}

// RunLogs is the answer of GET /api/v1/runs/{id}/logs without follow: the
// chunks after ?after= and the run's state.
type RunLogs struct {
	Items []LogChunk `json:"items"`
	State string     `json:"state"`
}

// LogChunk is a piece of a run's log.
type LogChunk struct {
	// pass it as ?after= to continue
	ID    int64     `json:"id"`
	Phase string    `json:"phase"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
}

// Variable is a stack variable.
type Variable struct {
	Name string `json:"name"`
	// null for secrets: write-only
	Value     *string   `json:"value"`
	Secret    bool      `json:"secret"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SetVariable is the body of PUT /api/v1/stacks/{id}/variables/{name}.
type SetVariable struct {
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
}

// StateVersion is one stored version of a stack's state.
type StateVersion struct {
	ID      int64  `json:"id"`
	Serial  int64  `json:"serial"`
	Lineage string `json:"lineage"`
	// the run that wrote it
	Run       string    `json:"run"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// WorkerPool is a pool of remote workers.
type WorkerPool struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// only in the create answer: what `hoist worker` authenticates with
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// CreateWorkerPool is the body of POST /api/v1/worker-pools.
type CreateWorkerPool struct {
	Name string `json:"name"`
}

// Review is one user's review of a run that approval policies hold in
// PENDING_REVIEW.
type Review struct {
	ID       int64  `json:"id"`
	Run      string `json:"run"`
	Reviewer string `json:"reviewer"`
	// the reviewer's Hoist role on the stack's space when reviewing
	Role      string    `json:"role" enum:"write,admin"`
	Decision  string    `json:"decision" enum:"approve,reject"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateReview is the body of POST /api/v1/runs/{id}/reviews.
type CreateReview struct {
	Decision string `json:"decision" enum:"approve,reject"`
	// at most 4,000 bytes
	Note string `json:"note,omitempty"`
}

// ReviewResult is the answer to a review: the review, and the run after
// its approval policies were evaluated again.
type ReviewResult struct {
	Review Review `json:"review"`
	Run    Run    `json:"run"`
}
