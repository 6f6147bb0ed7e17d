package api

import (
	"encoding/json"
	"time"
)

// NotificationTarget is a named notification target in a space (issue 21,
// docs/notifications.md). Its URL and secret are write-only: never
// returned.
type NotificationTarget struct {
	// slug of the name at creation; immutable
	ID    string `json:"id"`
	Name  string `json:"name"`
	Space string `json:"space"`
	// webhook: the documented JSON body, signed; slack: a Slack-compatible
	// incoming webhook message
	Kind   string   `json:"kind" enum:"webhook,slack"`
	Events []string `json:"events"`
	// the URL's host, for display (the URL itself is a secret)
	URLHost string `json:"url_host"`
	// whether deliveries are signed (X-Hoist-Signature)
	HasSecret bool      `json:"has_secret"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by"`
}

// CreateNotificationTarget is the body of POST
// /api/v1/notification-targets.
type CreateNotificationTarget struct {
	Name  string `json:"name"`
	Space string `json:"space"`
	Kind  string `json:"kind" enum:"webhook,slack"`
	// http:// or https://, at most 2048 bytes, a host the server's
	// --notify-allow-hosts allows when it is set; write-only
	URL string `json:"url"`
	// 16 to 256 bytes; required for webhook targets, optional for slack;
	// write-only
	Secret string `json:"secret,omitempty"`
	// among run_finished, run_failed, run_needs_confirmation,
	// run_needs_review, drift_detected, drift_cleared, token_expiring,
	// agent_pool_empty, agent_pool_recovered
	Events []string `json:"events"`
}

// UpdateNotificationTarget is the body of PATCH
// /api/v1/notification-targets/{id}: fields left out stay; the kind and
// space cannot change.
type UpdateNotificationTarget struct {
	Name   *string   `json:"name,omitempty"`
	URL    *string   `json:"url,omitempty"`
	Secret *string   `json:"secret,omitempty"`
	Events *[]string `json:"events,omitempty"`
}

// NotificationDelivery is one notification sent (or to send) to a target,
// with its attempts.
type NotificationDelivery struct {
	ID int64 `json:"id"`
	// the body's id; a redelivery keeps it
	NotificationID string `json:"notification_id"`
	Event          string `json:"event"`
	State          string `json:"state" enum:"pending,retrying,delivered,failed"`
	Attempts       int    `json:"attempts"`
	// when the next attempt is due (pending, retrying)
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// the receiver's last HTTP status; 0 when it did not answer
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error,omitempty"`
	// the delivery this one redelivers
	RedeliveryOf int64 `json:"redelivery_of,omitempty"`
	// the webhook body (docs/notifications.md)
	Payload   json.RawMessage       `json:"payload"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
	Log       []NotificationAttempt `json:"log"`
}

// NotificationAttempt is one try at sending a delivery.
type NotificationAttempt struct {
	Number int       `json:"number"`
	At     time.Time `json:"at"`
	// 0 when the receiver did not answer
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}
