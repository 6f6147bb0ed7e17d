package api

// The worker protocol (remote workers, `hoist worker`): calls authenticate
// with a pool token, and every call about a run names its lease in
// LeaseHeader. The lease answer is run.Job, which the server and the
// worker share.

import "encoding/json"

// LeaseRequest is the body of POST /api/v1/workers/lease.
type LeaseRequest struct {
	// names the worker (1 to 200 characters)
	Worker string `json:"worker"`
	// how long to wait for a run (at most 60)
	WaitSeconds float64 `json:"wait_seconds"`
}

// RunState is the answer of the worker calls about a run: its state now
// (a stop shows here).
type RunState struct {
	State string `json:"state"`
}

// Advance is the body of POST /api/v1/workers/runs/{id}/advance.
type Advance struct {
	State string `json:"state" enum:"INITIALIZING,PLANNING,PERFORMING,APPLYING"`
	// how the worker executes the run (sandboxed or not), kept in the run's
	// history
	Note string `json:"note,omitempty"`
	// the tool executing the run, recorded on it (with tool_version)
	Tool string `json:"tool,omitempty"`
	// the version its binary reports, such as 1.10.6
	ToolVersion string `json:"tool_version,omitempty"`
}

// PlanReport is the body of POST /api/v1/workers/runs/{id}/plan.
type PlanReport struct {
	Delta      Delta      `json:"delta"`
	Resources  []Resource `json:"resources"`
	HasChanges bool       `json:"has_changes"`
	// the saved plan file, base64
	Plan []byte `json:"plan"`
	// tofu show -json of the plan, for plan policies (at most 32 MiB;
	// left out when larger)
	PlanJSON json.RawMessage `json:"plan_json,omitempty"`
}

// PlanAnswer is the answer to a plan report: whether the worker goes on
// to apply (autodeploy).
type PlanAnswer struct {
	Apply bool `json:"apply"`
}

// Finish is the body of POST /api/v1/workers/runs/{id}/finish.
type Finish struct {
	// empty when the run succeeded
	Error string `json:"error"`
	// OpenTofu's Error: blocks; bounded by the server
	ErrorDetail string `json:"error_detail,omitempty"`
}

// AppendLog is the body of POST /api/v1/workers/runs/{id}/logs.
type AppendLog struct {
	Phase string `json:"phase"`
	Text  string `json:"text"`
}
