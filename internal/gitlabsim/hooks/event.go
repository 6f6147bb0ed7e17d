package hooks

import "strings"

// Values of the X-Gitlab-Event header for the events the simulator sends.
const (
	EventPush         = "Push Hook"
	EventTagPush      = "Tag Push Hook"
	EventMergeRequest = "Merge Request Hook"
	EventNote         = "Note Hook"
)

// ZeroSHA is the all-zero object name GitLab puts in before (ref created)
// or after (ref deleted).
const ZeroSHA = "0000000000000000000000000000000000000000"

const tagRefPrefix = "refs/tags/"

// EventHeader maps a payload's object_kind ("push", "tag_push",
// "merge_request", "note") to its X-Gitlab-Event header value, or "" for a
// kind the simulator does not send.
func EventHeader(objectKind string) string {
	switch objectKind {
	case "push":
		return EventPush
	case "tag_push":
		return EventTagPush
	case "merge_request":
		return EventMergeRequest
	case "note":
		return EventNote
	}
	return ""
}

// Hook is a project webhook as configured in GitLab.
type Hook struct {
	ID                    int
	URL                   string
	Token                 string // sent in X-Gitlab-Token when not empty
	PushEvents            bool
	TagPushEvents         bool
	MergeRequestsEvents   bool
	NoteEvents            bool
	EnableSSLVerification bool
}

// Wants reports whether the hook subscribes to event, an X-Gitlab-Event
// value such as EventPush.
func (h Hook) Wants(event string) bool {
	switch event {
	case EventPush:
		return h.PushEvents
	case EventTagPush:
		return h.TagPushEvents
	case EventMergeRequest:
		return h.MergeRequestsEvents
	case EventNote:
		return h.NoteEvents
	}
	return false
}

// isTagRef reports whether a full ref names a tag.
func isTagRef(ref string) bool { return strings.HasPrefix(ref, tagRefPrefix) }
