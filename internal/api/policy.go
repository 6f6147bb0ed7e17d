package api

import (
	"encoding/json"
	"time"
)

// Policy is a policy as code (issue 17): Rego source in package hoist.
type Policy struct {
	// slug of the name at creation; immutable
	ID   string `json:"id"`
	Name string `json:"name"`
	// push policies decide runs from Git events; plan policies check plans
	Type  string `json:"type" enum:"push,plan,approval"`
	Space string `json:"space"`
	// autoattach:<label> attaches the policy to every stack of its space and
	// below carrying <label>; autoattach:* to all of them
	Labels []string `json:"labels"`
	// markdown
	Description string `json:"description"`
	// Rego source (package hoist); empty in a stack's list for a policy of a
	// space the caller cannot read
	Body string `json:"body"`
	// counts the changes of the body, from 1; evaluations record it
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by"`
}

// CreatePolicy is the body of POST /api/v1/policies.
type CreatePolicy struct {
	Name        string   `json:"name"`
	Type        string   `json:"type" enum:"push,plan,approval"`
	Space       string   `json:"space"`
	Labels      []string `json:"labels,omitempty"`
	Description string   `json:"description,omitempty"`
	// Rego source, package hoist, at most 64 KiB; refused with the
	// compiler's message and line when it does not compile
	Body string `json:"body"`
}

// UpdatePolicy is the body of PATCH /api/v1/policies/{id}: fields left out
// stay; the type cannot change.
type UpdatePolicy struct {
	Name        *string   `json:"name,omitempty"`
	Space       *string   `json:"space,omitempty"`
	Labels      *[]string `json:"labels,omitempty"`
	Description *string   `json:"description,omitempty"`
	Body        *string   `json:"body,omitempty"`
}

// StackPolicy is a policy that applies to a stack, and why.
type StackPolicy struct {
	Policy Policy `json:"policy"`
	// attached by hand (POST /api/v1/stacks/{id}/policies/{policy_id})
	Explicit bool `json:"explicit"`
	// the autoattach label that attached it; empty when explicit only
	Autoattach string `json:"autoattach,omitempty"`
}

// PolicyEvaluation is the record of one evaluation of one policy.
type PolicyEvaluation struct {
	ID            int64  `json:"id"`
	Policy        string `json:"policy"`
	PolicyVersion int64  `json:"policy_version"`
	Type          string `json:"type" enum:"push,plan,approval"`
	Stack         string `json:"stack"`
	Run           string `json:"run,omitempty"`
	Delivery      string `json:"delivery,omitempty"`
	// what the policy saw, secrets masked; larger inputs are recorded as
	// {"truncated": true, "bytes": N}
	Input json.RawMessage `json:"input"`
	// track, propose, ignore, default (push); pass, warn, deny (plan);
	// approve, reject, wait (approval);
	// error when the policy failed or timed out (fail closed)
	Outcome  string   `json:"outcome" enum:"track,propose,ignore,default,pass,warn,deny,approve,reject,wait,error"`
	Messages []string `json:"messages"`
	Error    string   `json:"error,omitempty"`
	// microseconds
	DurationUS int64     `json:"duration_us"`
	At         time.Time `json:"at"`
}
