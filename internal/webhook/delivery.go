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
	Result        *Result // set once processed; the latest processing's
	Error         string  // the latest processing's last error
	Attempts      int     // of every processing together
	ReceivedAt    time.Time
	UpdatedAt     time.Time
	// Processings are the delivery's processings, oldest first: the one
	// on arrival, then one per redelivery, each with its own outcome
	// (Status, Result and Error above are the latest one's). Empty until
	// a processing starts, and for events ignored on arrival.
	Processings []Pass
}

// Trigger says what started a processing.
type Trigger string

// The processing triggers.
const (
	TriggerReceived    Trigger = "received"    // GitLab sent the delivery
	TriggerRedelivered Trigger = "redelivered" // someone asked Hoist to process it again
)

// Pass is one processing of a delivery and what it came to (the name
// Processing is the status).
type Pass struct {
	Number      int // 0 for the one on arrival, then 1, 2… per redelivery
	Trigger     Trigger
	RequestedBy string // the principal who redelivered; "" on arrival
	RequestedAt time.Time
	StartedAt   *time.Time // the first attempt; nil while waiting
	FinishedAt  *time.Time // nil while waiting, running or retrying
	Status      Status     // Received (waiting), Processing, Processed, Ignored or Failed
	Attempts    int
	Result      *Result
	Error       string
}

// Result is what processing a delivery did (SPEC §2.4): the runs created
// and canceled, and for every stack of the repository whether it got a run
// and why not.
type Result struct {
	Summary      string        `json:"summary"`
	RunsCreated  []RunRef      `json:"runs_created"`
	RunsCanceled []string      `json:"runs_canceled"`
	Stacks       []StackResult `json:"stacks"`
	// StacksOmitted counts the skipped stacks past the first lines kept
	// (ingest.MaxSkippedLines): they have no line of their own.
	StacksOmitted int `json:"stacks_omitted,omitempty"`
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

// Counts are how many stacks got each result (created, deduplicated,
// skipped, capped): the numbers that tell two processings apart at a
// glance.
func (r *Result) Counts() map[string]int {
	out := map[string]int{}
	if r == nil {
		return out
	}
	for _, s := range r.Stacks {
		out[s.Result]++
	}
	if r.StacksOmitted > 0 {
		out["skipped"] += r.StacksOmitted
	}
	return out
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
	// InsertDeliveries stores deliveries and their jobs in one transaction:
	// when it returns nil every delivery survives a crash of the process,
	// and once Durable returns nil after it, a power loss too. A
	// delivery whose CheckedSecret is no longer its integration's is not
	// stored (SecretChanged). A delivery whose (integration, dedupe key) is
	// stored already — also earlier in the same slice — is a duplicate: it
	// is not stored again and its job is not enqueued.
	InsertDeliveries(ctx context.Context, ds []NewDelivery) ([]Inserted, error)
	// Durable returns once every commit that returned before the call
	// survives power loss; concurrent callers share its cost (one fsync).
	// An error means it may not: do not acknowledge.
	Durable() error
	// GetDelivery returns a delivery with its body, or apperr.NotFound.
	GetDelivery(ctx context.Context, id string) (Delivery, error)
	// ListDeliveries pages deliveries newest first, without bodies.
	ListDeliveries(ctx context.Context, f Filter, cursor string, limit int) ([]Delivery, string, error)
	// RedeliverDelivery starts a new processing of a delivery, requested
	// by principal by: in one transaction it adds the processing, sets the
	// delivery back to received and enqueues jobFunc's job for the
	// processing's number. While the delivery waits for a processing to
	// start (status received) nothing is added: that processing will read
	// the same stored body.
	RedeliverDelivery(ctx context.Context, id, by string, now time.Time, jobFunc func(processing int) jobqueue.NewJob) error
}

// ProcessKind is the job kind that processes a delivery; its payload is
// ProcessPayload.
const ProcessKind = "webhook.process"

// ProcessPayload is the payload of a ProcessKind job.
type ProcessPayload struct {
	DeliveryID string `json:"delivery_id"`
	// Processing is the number of the processing the job does (0, and
	// absent, for the one on arrival), so that each writes its own outcome.
	Processing int `json:"processing,omitempty"`
}

// ProcessJob is the job that processes a new delivery.
func ProcessJob(id string) jobqueue.NewJob {
	// The payload is a fixed shape around a ulid: no escaping needed.
	return jobqueue.NewJob{Kind: ProcessKind, Payload: []byte(`{"delivery_id":"` + id + `"}`)}
}

// RedeliverJob is the job of processing number n of a delivery. Its dedupe
// key keeps one job per processing.
func RedeliverJob(id string, n int) jobqueue.NewJob {
	return jobqueue.NewJob{Kind: ProcessKind, DedupeKey: fmt.Sprintf("delivery:%s:%d", id, n),
		Payload: fmt.Appendf(nil, `{"delivery_id":"%s","processing":%d}`, id, n)}
}

// ParseProcessPayload decodes a ProcessKind job's payload.
func ParseProcessPayload(b []byte) (ProcessPayload, error) {
	var p ProcessPayload
	if err := json.Unmarshal(b, &p); err != nil || p.DeliveryID == "" || p.Processing < 0 {
		return p, fmt.Errorf("webhook.process payload %q: not a delivery id", b)
	}
	return p, nil
}

// Outcome is what processing a delivery came to, written together with
// the run changes it implies (see the ingest package).
type Outcome struct {
	ID         string
	Processing int    // the processing's number (ProcessPayload.Processing)
	Status     Status // Processing (with Error: will retry), Processed, Ignored or Failed
	Project    string
	Ref        string
	Result     *Result // RunsCanceled is filled by the store with the runs it did cancel
	Error      string
	At         time.Time
	// Started, when set, counts the attempt that began then in the same
	// writes (what ClaimDelivery does): a first attempt is not claimed
	// before it is done, and one transaction of fewer statements records
	// it (docs/design/transactions.md).
	Started time.Time
}
