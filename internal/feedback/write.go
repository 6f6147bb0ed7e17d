// Package feedback writes Hoist's results back to GitLab (SPEC §5): commit
// statuses per stack (or aggregated per commit), one merge request note per
// (merge request, stack), an environment and deployments per stack, and the
// answers to merge request commands (award emoji on the command's note, a
// reply note).
//
// Every write is first a row of a durable outbox, written in the same
// transaction as the change that caused it: the code making a run
// transition calls Service.OnRunEvents inside its transaction, the code
// taking a command Service.EnqueueCommandFeedback inside the one that
// creates its runs.
// A Dispatcher per server sends them through one GitLab client per
// integration, honouring Retry-After and RateLimit-Reset and backing off with
// jitter on 429, 5xx and network errors for hours, so an outage or a restart
// delays writes but loses none. Writes to one GitLab object (one status name
// on one commit, one note, one deployment, one emoji on a note, the reply
// to a command) are serialised and only move forward: when several are
// pending only the newest is sent, and a write older than what GitLab
// already has is skipped.
package feedback

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what a write changes in GitLab.
type Kind string

// The kinds of write.
const (
	KindStatus     Kind = "status"     // POST /projects/:id/statuses/:sha
	KindNote       Kind = "note"       // the merge request note of a stack
	KindDeployment Kind = "deployment" // a run's deployment in its stack's environment
	KindAward      Kind = "award"      // an award emoji on a merge request note (a command's)
	KindReply      Kind = "reply"      // a merge request note answering a command note
	KindMerge      Kind = "merge"      // merging a merge request whose stacks all applied (automerge)
	KindIssue      Kind = "issue"      // a drifted stack's GitLab issue: opened, edited, closed, reopened
)

// Kinds are all the kinds, for monitoring.
func Kinds() []Kind {
	return []Kind{KindStatus, KindNote, KindDeployment, KindAward, KindReply, KindMerge, KindIssue}
}

// WriteState is where a write is in the outbox.
type WriteState string

// The write states. Pending and Retrying writes are still to be sent.
const (
	StatePending  WriteState = "pending"
	StateRetrying WriteState = "retrying" // failed at least once; waiting for its next attempt
	StateDone     WriteState = "done"     // GitLab has it
	StateSkipped  WriteState = "skipped"  // superseded by a newer write of the same key
	StateFailed   WriteState = "failed"   // GitLab refused it for good, or the retry budget ran out
)

// Payload is what a write sends. Fields not used by its kind are empty.
type Payload struct {
	Project string `json:"project"` // path with namespace (or numeric id)
	SHA     string `json:"sha,omitempty"`
	Ref     string `json:"ref,omitempty"`

	// Commit status.
	Name        string `json:"name,omitempty"`
	State       string `json:"state,omitempty"` // pending, running, success, failed, canceled
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`

	// Merge request note; a reply to a command note (without StackID).
	MergeRequestIID int64  `json:"merge_request_iid,omitempty"`
	StackID         string `json:"stack_id,omitempty"`
	Body            string `json:"body,omitempty"`

	// Award emoji Emoji on note NoteID of merge request MergeRequestIID;
	// for a reply, the command note it answers.
	NoteID int64  `json:"note_id,omitempty"`
	Emoji  string `json:"emoji,omitempty"` // without colons: "eyes"

	// Deployment (State holds its status: running, success, failed, canceled).
	Environment string `json:"environment,omitempty"`

	// A stack's drift issue (with StackID and Body): its whole title and
	// labels, and whether it should be open.
	Title  string   `json:"title,omitempty"`
	Labels []string `json:"labels,omitempty"`
	Open   bool     `json:"open,omitempty"`
}

// Write is one intended write to GitLab, as kept in the outbox.
type Write struct {
	ID            int64
	IntegrationID string
	RunID         string // "" for writes not made by a run (module statuses)
	Kind          Kind
	// Key names the GitLab object written; writes with the same key are
	// serialised.
	Key string
	// Ord and Rank order writes of one key: a newer run's id sorts after an
	// older one's, and within a run a later state class has a higher rank.
	// (Ord, Rank, ID) only moves forward in GitLab.
	Ord     string
	Rank    int
	Payload Payload

	State         WriteState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string // GitLab's (or the network's) last error, kept after a later success
	Result        string // what the final attempt did: "created note 12", "already running"
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Mark is the position of the newest write GitLab has for a key.
type Mark struct {
	Ord  string
	Rank int
	ID   int64
}

// After reports whether w is newer than m: its (Ord, Rank, ID) is greater.
func (w Write) After(m Mark) bool {
	if w.Ord != m.Ord {
		return w.Ord > m.Ord
	}
	if w.Rank != m.Rank {
		return w.Rank > m.Rank
	}
	return w.ID > m.ID
}

// Mark is w's position.
func (w Write) Mark() Mark { return Mark{Ord: w.Ord, Rank: w.Rank, ID: w.ID} }

// Describe says what w does, for the run page: "status hoist/app → running".
func (w Write) Describe() string {
	p := w.Payload
	switch w.Kind {
	case KindStatus:
		return fmt.Sprintf("commit status %s → %s on %s", p.Name, p.State, shortSHA(p.SHA))
	case KindNote:
		return fmt.Sprintf("merge request !%d comment", p.MergeRequestIID)
	case KindDeployment:
		return fmt.Sprintf("deployment to %s → %s", p.Environment, p.State)
	case KindAward:
		return fmt.Sprintf("award :%s: on merge request !%d comment %d", p.Emoji, p.MergeRequestIID, p.NoteID)
	case KindReply:
		return fmt.Sprintf("merge request !%d reply to comment %d", p.MergeRequestIID, p.NoteID)
	case KindMerge:
		return fmt.Sprintf("merge of merge request !%d at %s (automerge)", p.MergeRequestIID, shortSHA(p.SHA))
	case KindIssue:
		if p.Open {
			return "drift issue of stack " + p.StackID + " → open"
		}
		return "drift issue of stack " + p.StackID + " → closed"
	}
	return string(w.Kind)
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// Keys of the GitLab objects Hoist writes. The integration is part of every
// key: two integrations may reach the same project path on different hosts.

// StatusKey is the key of a commit status.
func StatusKey(integrationID, project, sha, name string) string {
	return strings.Join([]string{"status", integrationID, project, sha, name}, "|")
}

// NoteKey is the key of the note of a stack on a merge request; the note id
// is kept under it too.
func NoteKey(integrationID, project string, iid int64, stackID string) string {
	return strings.Join([]string{"note", integrationID, project, fmt.Sprint(iid), stackID}, "|")
}

// DeploymentKey is the key of a run's deployment; the deployment id is kept
// under it too.
func DeploymentKey(integrationID, project, runID string) string {
	return strings.Join([]string{"deployment", integrationID, project, runID}, "|")
}

// MergeKey is the key of merging merge request !iid.
func MergeKey(integrationID, project string, iid int64) string {
	return strings.Join([]string{"merge", integrationID, project, fmt.Sprint(iid)}, "|")
}

// AwardKey is the key of award emoji emoji on note noteID of merge request
// !iid: each emoji of a command note is written on its own.
func AwardKey(integrationID, project string, iid, noteID int64, emoji string) string {
	return strings.Join([]string{"award", integrationID, project, fmt.Sprint(iid), fmt.Sprint(noteID), emoji}, "|")
}

// ReplyKey is the key of the reply to command note noteID of merge request
// !iid; the reply's note id is kept under it too.
func ReplyKey(integrationID, project string, iid, noteID int64) string {
	return strings.Join([]string{"reply", integrationID, project, fmt.Sprint(iid), fmt.Sprint(noteID)}, "|")
}

// EnvironmentKey is where the id of a stack's environment is kept.
func EnvironmentKey(integrationID, project, environment string) string {
	return strings.Join([]string{"environment", integrationID, project, environment}, "|")
}

// statusRank orders commit status states: pending < running < finished.
func statusRank(state string) int {
	switch state {
	case "pending":
		return 1
	case "running":
		return 2
	case "success", "failed", "canceled", "skipped":
		return 3
	}
	return 0
}
