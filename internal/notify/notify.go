// Package notify is Hoist's notifications (issue 21): named targets in a
// space (generic webhooks signed with HMAC-SHA256, Slack-compatible
// incoming webhooks), the events they choose, and the durable outbox of
// their deliveries. Run transitions, drift marks and integration token
// expiry enqueue notifications in the transaction of the change that causes
// them; the Dispatcher sends them, oldest first per target, with retries.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
)

// Kind is how a target is reached.
type Kind string

// Target kinds.
const (
	// Webhook POSTs the documented JSON body, signed (docs/notifications.md).
	Webhook Kind = "webhook"
	// Slack POSTs a Slack-compatible incoming webhook message (text and
	// blocks).
	Slack Kind = "slack"
)

// Event names a kind of notification a target may choose.
type Event string

// The events of issue 21.
const (
	RunFinished          Event = "run_finished"
	RunFailed            Event = "run_failed"
	RunNeedsConfirmation Event = "run_needs_confirmation"
	RunNeedsReview       Event = "run_needs_review"
	DriftDetected        Event = "drift_detected"
	DriftCleared         Event = "drift_cleared"
	TokenExpiring        Event = "token_expiring"
	AgentPoolEmpty       Event = "agent_pool_empty"
	AgentPoolRecovered   Event = "agent_pool_recovered"
)

// Events is every event a target may choose, in documentation order.
var Events = []Event{RunFinished, RunFailed, RunNeedsConfirmation, RunNeedsReview, DriftDetected, DriftCleared, TokenExpiring,
	AgentPoolEmpty, AgentPoolRecovered}

// ParseEvents checks a target's event list: known names, each once, at
// least one.
func ParseEvents(field string, names []string) ([]Event, error) {
	if len(names) == 0 {
		return nil, apperr.InvalidField(field, "choose at least one event: %s", joinEvents(Events))
	}
	out := make([]Event, 0, len(names))
	for _, n := range names {
		e := Event(strings.TrimSpace(n))
		switch {
		case !slices.Contains(Events, e):
			return nil, apperr.InvalidField(field, "unknown event %q: choose among %s", n, joinEvents(Events))
		case slices.Contains(out, e):
			return nil, apperr.InvalidField(field, "event %q is listed twice", e)
		}
		out = append(out, e)
	}
	return out, nil
}

func joinEvents(es []Event) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// Target is a named notification target in a space. Its URL and secret
// are sealed with the server's key and never leave the server.
type Target struct {
	ID           string // slug of the name at creation; immutable
	Name         string
	SpaceID      string
	Kind         Kind
	Events       []Event
	URLSealed    []byte
	URLHost      string // the URL's host, for display
	SecretSealed []byte // nil: none (Slack targets may have none)
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CreatedBy    string
}

// Wants reports whether t chose e.
func (t Target) Wants(e Event) bool { return slices.Contains(t.Events, e) }

// DeliveryState is where a delivery is.
type DeliveryState string

// Delivery states.
const (
	StatePending   DeliveryState = "pending"
	StateRetrying  DeliveryState = "retrying"
	StateDelivered DeliveryState = "delivered"
	StateFailed    DeliveryState = "failed"
)

// Delivery is one notification to send to one target, with what became of
// it. Deliveries of a target are sent in ID order.
type Delivery struct {
	ID             int64
	TargetID       string
	Event          Event
	NotificationID string          // the body's id: the same for a redelivery
	Payload        json.RawMessage // the webhook body (Notification)
	State          DeliveryState
	Attempts       int
	NextAttemptAt  time.Time
	LastStatus     int // the receiver's last HTTP status; 0: no answer
	LastError      string
	RedeliveryOf   int64 // 0 unless this is a redelivery
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	DeliveryID int64
	Number     int // from 1
	At         time.Time
	StatusCode int // 0: no HTTP answer
	Error      string
	Duration   time.Duration
}

// Filter selects targets: unless All, those in one of Spaces.
type Filter struct {
	All    bool
	Spaces []string
}

// Store keeps targets, their deliveries and the token expiry notices. The
// methods that enqueue join the transaction of ctx when it carries one
// (the caller's InTx), so a notification commits with its cause.
type Store interface {
	// InTx runs fn in one transaction that the methods below join.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CreateNotificationTarget(ctx context.Context, t Target, e audit.Entry) error
	GetNotificationTarget(ctx context.Context, id string) (Target, error)
	ListNotificationTargets(ctx context.Context, f Filter, cursor string, limit int) ([]Target, string, error)
	UpdateNotificationTarget(ctx context.Context, t Target, e audit.Entry) error
	DeleteNotificationTarget(ctx context.Context, id string, e audit.Entry) error
	// TargetsForEvent returns every target that chose e, in any space.
	TargetsForEvent(ctx context.Context, e Event) ([]Target, error)

	// EnqueueNotifications inserts ds (pending, due at NextAttemptAt) and
	// marks their targets due; it returns their ids, in order.
	EnqueueNotifications(ctx context.Context, ds []Delivery) ([]int64, error)
	// ClaimNotificationTargets leases up to limit targets that have a due
	// delivery and no live lease, until now+lease.
	ClaimNotificationTargets(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, error)
	// NextNotification returns a target's oldest pending or retrying
	// delivery; ok is false when there is none.
	NextNotification(ctx context.Context, targetID string) (d Delivery, ok bool, err error)
	// ResolveNotification records an attempt (when a is not nil) and d's
	// new state, sets when the target is next due (its oldest open
	// delivery) and releases owner's lease, in one transaction.
	ResolveNotification(ctx context.Context, targetID, owner string, d *Delivery, a *Attempt, now time.Time) error
	// GetNotification returns a delivery, or apperr.NotFound.
	GetNotification(ctx context.Context, id int64) (Delivery, error)
	// ListNotifications pages a target's deliveries, newest first.
	ListNotifications(ctx context.Context, targetID, cursor string, limit int) ([]Delivery, string, error)
	// NotificationAttempts returns a delivery's attempts, oldest first.
	NotificationAttempts(ctx context.Context, deliveryID int64) ([]Attempt, error)

	// RecordTokenNotice records that the token_expiring notice of
	// threshold days was raised for the integration's token expiring at
	// expiresAt; false when it already was.
	RecordTokenNotice(ctx context.Context, integrationID string, expiresAt time.Time, days int, now time.Time) (bool, error)
}

// Notification is the JSON body of a webhook delivery (docs/notifications.md
// documents every field). Slack messages are rendered from it.
type Notification struct {
	ID          string            `json:"id"`
	Event       Event             `json:"event"`
	CreatedAt   time.Time         `json:"created_at"`
	Space       string            `json:"space"`
	Summary     string            `json:"summary"`
	URL         string            `json:"url,omitempty"`
	Stack       *StackRef         `json:"stack,omitempty"`
	Run         *RunRef           `json:"run,omitempty"`
	Drift       *DriftRef         `json:"drift,omitempty"`
	Integration *IntegrationRef   `json:"integration,omitempty"`
	Pool        *PoolRef          `json:"agent_pool,omitempty"`
	Target      NotificationOwner `json:"target"`
}

// NotificationOwner names the target a body was sent to.
type NotificationOwner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// StackRef is the stack a notification is about.
type StackRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RunRef is the run a notification is about.
type RunRef struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	State           string `json:"state"`
	PreviousState   string `json:"previous_state"`
	CommitSHA       string `json:"commit_sha,omitempty"`
	CommitTitle     string `json:"commit_title,omitempty"`
	Branch          string `json:"branch,omitempty"`
	MergeRequestIID int64  `json:"merge_request_iid,omitempty"`
	TriggeredBy     string `json:"triggered_by,omitempty"`
	Note            string `json:"note,omitempty"`
	URL             string `json:"url"`
}

// DriftRef is a drift mark's change.
type DriftRef struct {
	Drifted bool             `json:"drifted"`
	Changes []ResourceChange `json:"changes"`
}

// ResourceChange is one resource a drift run found changed.
type ResourceChange struct {
	Address string `json:"address"`
	Action  string `json:"action"`
}

// IntegrationRef is the integration whose token expires.
type IntegrationRef struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	TokenExpiresAt time.Time `json:"token_expires_at"`
	DaysLeft       int       `json:"days_left"`
}

func encodeNotification(n Notification) (json.RawMessage, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode notification: %w", err)
	}
	return b, nil
}
