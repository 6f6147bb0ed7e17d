package api

import "time"

// Schedule is a stack's schedule (docs/drift.md).
type Schedule struct {
	ID    string `json:"id"`
	Stack string `json:"stack"`
	// drift: a proposed run on the tracked commit whose plan marks the
	// stack drifted or not; task: a TASK run of command
	Kind string `json:"kind" enum:"drift,task"`
	// five fields (minute hour day-of-month month day-of-week) or a
	// descriptor such as @daily; @every is refused
	Cron string `json:"cron"`
	// IANA time zone the cron's times are in
	TimeZone string `json:"time_zone"`
	// task only: the command, starting with tofu or terraform
	Command []string `json:"command"`
	// drift only: a drifted result starts a tracked run
	Reconcile bool `json:"reconcile"`
	// the next firing
	NextRunAt time.Time `json:"next_run_at"`
	// when it last fired; null before its first firing
	LastRunAt *time.Time `json:"last_run_at"`
	// the run its last firing made; empty when none was made
	LastRun string `json:"last_run,omitempty"`
	// why its last firing made no run (the stack was detached, had no
	// tracked commit)
	LastError string    `json:"last_error,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Schedules is the answer of GET /api/v1/stacks/{id}/schedules: every
// schedule of the stack (at most 20), unpaged.
type Schedules struct {
	Items []Schedule `json:"items"`
}

// CreateSchedule is the body of POST /api/v1/stacks/{id}/schedules.
type CreateSchedule struct {
	// destroy-style schedules are not built and refused
	Kind string `json:"kind" enum:"drift,task"`
	Cron string `json:"cron"`
	// IANA name; default UTC
	TimeZone string `json:"time_zone,omitempty"`
	// task only, required there: the command's arguments, starting with
	// tofu or terraform (the stack's tool)
	Command []string `json:"command,omitempty"`
	// drift only: a drifted result starts a tracked run (subject to the
	// stack's approval policies and confirmation like any)
	Reconcile bool `json:"reconcile,omitempty"`
}

// UpdateSchedule is the body of PATCH /api/v1/stacks/{id}/schedules/{schedule_id}:
// absent fields stay; the kind cannot change.
type UpdateSchedule struct {
	Cron      *string   `json:"cron,omitempty"`
	TimeZone  *string   `json:"time_zone,omitempty"`
	Command   *[]string `json:"command,omitempty"`
	Reconcile *bool     `json:"reconcile,omitempty"`
}

// StackDrift is a stack's drift mark: what its last drift run found.
type StackDrift struct {
	// the last drift run's plan was not empty
	Drifted bool `json:"drifted"`
	// the drift run that set the mark
	Run string `json:"run"`
	// what that plan would change (empty when not drifted)
	Resources []DriftResource `json:"resources"`
	// when that run finished
	CheckedAt time.Time `json:"checked_at"`
	// when drifted last changed
	ChangedAt time.Time `json:"changed_at"`
}

// DriftResource is one resource a drift run's plan would change.
type DriftResource struct {
	Address string `json:"address"`
	// create, update, delete, replace, read, import
	Action string `json:"action"`
}
