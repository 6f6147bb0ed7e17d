// Package webhook receives GitLab's webhooks (SPEC §2.4): it finds the
// integration, checks the secret in constant time, bounds the body,
// deduplicates, and commits each delivery — raw body and headers, with the
// job that will process it — before answering, many deliveries per
// transaction (group commit). It also serves the delivery log: what came
// in, and what became of it.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/jobqueue"
)

// Status is where a delivery is in its processing.
type Status string

// The delivery statuses.
const (
	Received   Status = "received"   // stored, waiting for processing
	Processing Status = "processing" // being processed, or waiting to retry (see Error)
	Processed  Status = "processed"  // done: see Result
	Ignored    Status = "ignored"    // an event Hoist does not act on
	Failed     Status = "failed"     // processing gave up: see Error
)

// Delivery is one HTTP request GitLab sent, as stored.
type Delivery struct {
	ID            string // a ulid: sorts by arrival
	IntegrationID string
	DedupeKey     string // "idempotency-key:…", "event-uuid:…" or "sha256:…"
	Event         string // the X-Gitlab-Event header
	Project       string // namespace/project, once known
	Ref           string // branch, tag or "!<iid>" for merge requests, once known
	Headers       map[string]string
	Body          []byte // nil in listings
	Status        Status
	Result        *Result // set once processed
	Error         string  // the last processing error
	Attempts      int
	ReceivedAt    time.Time
	UpdatedAt     time.Time
}

// Result is what processing a delivery did (SPEC §2.4): the runs created
// and canceled, and for every stack of the repository whether it got a run
// and why not.
type Result struct {
	Summary      string        `json:"summary"`
	RunsCreated  []RunRef      `json:"runs_created"`
	RunsCanceled []string      `json:"runs_canceled"`
	Stacks       []StackResult `json:"stacks"`
	// Modules are the lines of the modules a tag push concerned (SPEC
	// §4.5); absent for other events.
	Modules []ModuleResult `json:"modules,omitempty"`
}

// ModuleResult is the delivery log's line for one module of a tag push.
type ModuleResult struct {
	ModuleID string `json:"module_id"`
	Version  string `json:"version,omitempty"`
	// Result is published, ignored, refused or failed (module.Result).
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// RunRef names a run a delivery created.
type RunRef struct {
	ID      string `json:"id"`
	StackID string `json:"stack_id"`
	Type    string `json:"type"`
}

// StackResult is the delivery log's line for one stack.
type StackResult struct {
	StackID string `json:"stack_id"`
	// Result is created, deduplicated, skipped or capped (trigger.Result).
	Result  string `json:"result"`
	RunID   string `json:"run_id,omitempty"`
	RunType string `json:"run_type,omitempty"`
	Reason  string `json:"reason"`
}

// NewDelivery is a delivery to store with the job that processes it (nil
// for ignored events).
type NewDelivery struct {
	Delivery
	Job *jobqueue.NewJob
	// CheckedSecret is the sealed webhook secret the request's token was
	// checked against; the delivery is stored only while it is still the
	// integration's.
	CheckedSecret []byte
}

// Inserted is what storing one NewDelivery did.
type Inserted struct {
	ID        string // the stored delivery: the new one, or the original of a duplicate
	Duplicate bool
	Status    Status // of the stored delivery
	// SecretChanged: nothing was stored, because the integration no longer
	// has the secret the request was checked against (or is gone).
	SecretChanged bool
}

// Filter selects deliveries to list. With All false only deliveries of
// Integrations are listed.
type Filter struct {
	All          bool
	Integrations []string
	// Integration, when set, keeps only that integration's deliveries.
	Integration string
}

// Store keeps deliveries.
type Store interface {
	// WebhookSecretSealed returns the sealed webhook secret of a GitLab
	// integration, or apperr.NotFound.
	WebhookSecretSealed(ctx context.Context, integrationID string) ([]byte, error)
	// InsertDeliveries stores deliveries and their jobs in one transaction,
	// durably: when it returns nil every delivery survives a crash. A
	// delivery whose CheckedSecret is no longer its integration's is not
	// stored (SecretChanged). A delivery whose (integration, dedupe key) is
	// stored already — also earlier in the same slice — is a duplicate: it
	// is not stored again and its job is not enqueued.
	InsertDeliveries(ctx context.Context, ds []NewDelivery) ([]Inserted, error)
	// GetDelivery returns a delivery with its body, or apperr.NotFound.
	GetDelivery(ctx context.Context, id string) (Delivery, error)
	// ListDeliveries pages deliveries newest first, without bodies.
	ListDeliveries(ctx context.Context, f Filter, cursor string, limit int) ([]Delivery, string, error)
	// RedeliverDelivery sets a delivery back to received and enqueues job,
	// in one transaction.
	RedeliverDelivery(ctx context.Context, id string, now time.Time, job jobqueue.NewJob) error
}

// ProcessKind is the job kind that processes a delivery; its payload is
// ProcessPayload.
const ProcessKind = "webhook.process"

// ProcessPayload is the payload of a ProcessKind job.
type ProcessPayload struct {
	DeliveryID string `json:"delivery_id"`
}

// ProcessJob is the job that processes a new delivery.
func ProcessJob(id string) jobqueue.NewJob {
	// The payload is a fixed shape around a ulid: no escaping needed.
	return jobqueue.NewJob{Kind: ProcessKind, Payload: []byte(`{"delivery_id":"` + id + `"}`)}
}

// RedeliverJob is the job that processes a delivery again. Its dedupe key
// keeps one pending job per delivery, however often it is redelivered.
func RedeliverJob(id string) jobqueue.NewJob {
	j := ProcessJob(id)
	j.DedupeKey = "delivery:" + id
	return j
}

// ParseProcessPayload decodes a ProcessKind job's payload.
func ParseProcessPayload(b []byte) (ProcessPayload, error) {
	var p ProcessPayload
	if err := json.Unmarshal(b, &p); err != nil || p.DeliveryID == "" {
		return p, fmt.Errorf("webhook.process payload %q: not a delivery id", b)
	}
	return p, nil
}

// Outcome is what processing a delivery came to, written together with
// the run changes it implies (see the ingest package).
type Outcome struct {
	ID      string
	Status  Status // Processing (with Error: will retry), Processed, Ignored or Failed
	Project string
	Ref     string
	Result  *Result // RunsCanceled is filled by the store with the runs it did cancel
	Error   string
	At      time.Time
}
