package api

import (
	"encoding/json"
	"time"
)

// Delivery is a webhook delivery (SPEC §2.4). Status, result and error
// are the latest processing's; processings has each one.
type Delivery struct {
	// ulid: sorts by arrival
	ID          string `json:"id"`
	Integration string `json:"integration"`
	// the X-Gitlab-Event header
	Event   string `json:"event"`
	Project string `json:"project"`
	// branch, tag, or !iid for merge requests
	Ref string `json:"ref"`
	// idempotency-key:…, event-uuid:… or sha256:… of the body
	DedupeKey string `json:"dedupe_key"`
	Status    string `json:"status" enum:"received,processing,processed,ignored,failed"`
	// attempts of every processing together
	Attempts int `json:"attempts"`
	// the latest processing's last error; with status processing it is
	// being retried
	Error string `json:"error,omitempty"`
	// what the latest processing did; every processing's own is in
	// processings
	Result *DeliveryResult `json:"result"`
	// every processing of the delivery, oldest first: number 0 on arrival,
	// then one per redelivery, each with its own outcome; empty until the
	// first starts and for events ignored on arrival
	Processings []Processing `json:"processings"`
	ReceivedAt  time.Time    `json:"received_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	// show only; X-Gitlab-Token is never stored
	Headers map[string]string `json:"headers,omitempty"`
	// show only; the raw payload
	Body json.RawMessage `json:"body,omitempty"`
}

// Processing is one processing of a delivery: on arrival ("received") or
// asked for again ("redelivered"), with its own outcome.
type Processing struct {
	// 0 for the processing on arrival, then 1, 2… per redelivery
	Number  int    `json:"number"`
	Trigger string `json:"trigger" enum:"received,redelivered"`
	// redeliveries: the principal who asked for it
	RequestedBy string `json:"requested_by,omitempty"`
	// when the delivery arrived, or the redelivery was asked for
	RequestedAt time.Time  `json:"requested_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	// received: waiting to start
	Status   string `json:"status" enum:"received,processing,processed,ignored,failed"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	// how many stacks got each result (created, deduplicated, skipped,
	// capped); absent results are 0
	Counts map[string]int  `json:"counts"`
	Result *DeliveryResult `json:"result"`
}

// DeliveryResult is what processing a delivery did.
type DeliveryResult struct {
	Summary      string        `json:"summary"`
	RunsCreated  []DeliveryRun `json:"runs_created"`
	RunsCanceled []string      `json:"runs_canceled"`
	// one line per stack of the repository, except skipped stacks past
	// the first 100: those are counted in stacks_omitted
	Stacks []DeliveryStack `json:"stacks"`
	// skipped stacks without a line of their own (absent when none)
	StacksOmitted int `json:"stacks_omitted,omitempty"`
	// tag pushes only: one line per module of the repository (SPEC §4.5)
	Modules []DeliveryModuleLine `json:"modules,omitempty"`
}

// DeliveryRun is a run a delivery created.
type DeliveryRun struct {
	ID      string `json:"id"`
	StackID string `json:"stack_id"`
	Type    string `json:"type" enum:"TRACKED,PROPOSED"`
}

// DeliveryStack says whether a stack of the repository got a run, and why
// (not).
type DeliveryStack struct {
	StackID string `json:"stack_id"`
	Result  string `json:"result" enum:"created,deduplicated,skipped,capped"`
	RunID   string `json:"run_id,omitempty"`
	RunType string `json:"run_type,omitempty"`
	Reason  string `json:"reason"`
}

// DeliveryModuleLine says what a tag push did for one module.
type DeliveryModuleLine struct {
	ModuleID string `json:"module_id"`
	// the normalised version the tag names, if any
	Version string `json:"version,omitempty"`
	Result  string `json:"result" enum:"published,ignored,refused,failed"`
	Reason  string `json:"reason"`
}
