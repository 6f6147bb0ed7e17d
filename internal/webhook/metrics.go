package webhook

import "time"

// Metrics counts what the intake answers (internal/metrics implements it
// with Prometheus). Labels stay bounded: the integration is "" for an
// unknown one, and the event is one of the events GitLab documents or
// "other".
type Metrics interface {
	// DeliveryReceived is told of every delivery request once it is
	// answered, with how long the answer took.
	DeliveryReceived(integrationID, event string, outcome IntakeResult, took time.Duration)
}

// IntakeResult is what the intake did with a delivery request.
type IntakeResult string

// The outcomes of a delivery request.
const (
	IntakeAccepted     IntakeResult = "accepted"     // stored, its processing queued (202)
	IntakeIgnored      IntakeResult = "ignored"      // stored, an event Hoist does not act on (202)
	IntakeDuplicate    IntakeResult = "duplicate"    // already stored (200)
	IntakeUnauthorized IntakeResult = "unauthorized" // wrong or missing X-Gitlab-Token (401)
	IntakeUnknown      IntakeResult = "unknown"      // no such integration (404)
	IntakeInvalid      IntakeResult = "invalid"      // no event header, not JSON, too large (400, 413)
	IntakeUnavailable  IntakeResult = "unavailable"  // not stored: the database failed or the secret changed (503)
)

// Stored reports whether the delivery is in the database after this
// outcome.
func (o IntakeResult) Stored() bool {
	return o == IntakeAccepted || o == IntakeIgnored || o == IntakeDuplicate
}

// knownEvents are the X-Gitlab-Event values GitLab documents; any other
// value is counted as "other", so a sender cannot grow the metrics.
var knownEvents = map[string]bool{
	"Push Hook": true, "Tag Push Hook": true, "Merge Request Hook": true, "Note Hook": true,
	"Issue Hook": true, "Confidential Issue Hook": true, "Confidential Note Hook": true, "Pipeline Hook": true,
	"Job Hook": true, "Deployment Hook": true, "Release Hook": true, "Wiki Page Hook": true,
	"Feature Flag Hook": true, "Member Hook": true, "Subgroup Hook": true, "Emoji Hook": true,
	"Resource Access Token Hook": true, "Project Hook": true, "Vulnerability Hook": true, "System Hook": true,
}

// EventLabel is the metrics label of an X-Gitlab-Event value.
func EventLabel(event string) string {
	if knownEvents[event] {
		return event
	}
	if event == "" {
		return "none"
	}
	return "other"
}

// noMetrics stands in when nothing is measured.
type noMetrics struct{}

func (noMetrics) DeliveryReceived(string, string, IntakeResult, time.Duration) {}
