package vcs

import (
	"slices"
	"strings"
)

// Kind says what happened in the repository. Webhook events a provider sends
// that Hoist does not act on translate to KindIgnored, not to an error.
type Kind string

// The kinds of event Hoist acts on.
const (
	KindIgnored      Kind = "ignored"
	KindPush         Kind = "push"          // commits pushed to a branch, or a branch created or deleted
	KindTag          Kind = "tag"           // a tag created, moved or deleted
	KindMergeRequest Kind = "merge_request" // a merge request opened, updated, closed, merged, approved…
	KindNote         Kind = "note"          // a comment on a merge request
)

// MaxNoteBody is how much of a comment an event keeps. Commands are read
// from the first line only; the rest is kept for context, bounded because
// anyone who can comment writes it (GitLab allows 1,000,000 characters).
const MaxNoteBody = 16 << 10

// MaxPayloadCommits is how many commits a push payload lists at most. Past
// it the payload's file lists cannot be trusted to be the whole change
// (GitLab's push_event_hooks_limit default; SPEC §4.1).
const MaxPayloadCommits = 20

// Event is one repository event, translated from a provider's webhook into
// what Hoist needs to decide which stacks run. It holds no provider types.
type Event struct {
	Kind     Kind
	Provider string // "gitlab"
	// Name is the provider's own name for the event ("Push Hook",
	// "Pipeline Hook"), kept for the delivery log, notably of ignored events.
	Name string

	ProjectID     int64  // the provider's numeric id of the repository
	Repository    string // full path, namespace/project; the namespace may hold subgroups
	DefaultBranch string // the repository's default branch when the event tells it

	// Ref is the full ref of a push or tag push ("refs/heads/main");
	// exactly one of Branch and Tag is set for those kinds.
	Ref    string
	Branch string
	Tag    string

	// Before and After are the ref's old and new commit. Created means
	// Before is the zero SHA (a new branch or tag), Deleted that After is.
	Before, After    string
	Created, Deleted bool
	// CheckoutSHA is the commit the ref now points to: After, except for an
	// annotated tag, where After is the tag object. Empty when deleted.
	CheckoutSHA string

	// Commits are the commits the payload lists, in its order; it may list
	// fewer than TotalCommits (SPEC §4.1).
	Commits      []Commit
	TotalCommits int
	// ChangedFilesComplete is true when the union of the commits' file lists
	// is the whole change of the push, so no compare call is needed; see
	// PayloadComplete.
	ChangedFilesComplete bool

	MergeRequest *MergeRequest // set for KindMergeRequest and KindNote
	Note         *Note         // set for KindNote

	Sender User // who pushed, acted on the merge request, or wrote or edited the note

	// Reason says, for KindIgnored, why the event was not acted on when
	// that is more than "Hoist does not handle this event" (a comment on a
	// commit, not on a merge request), for the delivery log.
	Reason string
}

// Commit is one commit a push payload lists, with the paths it touched.
type Commit struct {
	SHA   string
	Title string
	// Message is the whole commit message (push policies read it); the
	// payload's, bounded by GitLab.
	Message  string
	Author   string // the commit author's name, as Git records it
	Added    []string
	Modified []string
	Removed  []string
}

// MergeRequestAction is what happened to a merge request.
type MergeRequestAction string

// The merge request actions providers report. Approved and Unapproved mean
// the required approvals became met or unmet; Approval and Unapproval that
// one user approved or withdrew.
const (
	ActionOpen       MergeRequestAction = "open"
	ActionReopen     MergeRequestAction = "reopen"
	ActionUpdate     MergeRequestAction = "update"
	ActionClose      MergeRequestAction = "close"
	ActionMerge      MergeRequestAction = "merge"
	ActionApproved   MergeRequestAction = "approved"
	ActionUnapproved MergeRequestAction = "unapproved"
	ActionApproval   MergeRequestAction = "approval"
	ActionUnapproval MergeRequestAction = "unapproval"
)

// MergeRequest is the merge request an event is about.
type MergeRequest struct {
	IID    int64              // number within the target repository (!IID)
	Action MergeRequestAction // empty for notes
	State  string             // opened, closed, merged, locked

	SourceBranch    string
	TargetBranch    string
	SourceProjectID int64
	TargetProjectID int64
	// Fork is true when the source is another repository: its code is
	// untrusted and must not run with the stack's secrets by default.
	Fork bool

	HeadSHA   string // the newest commit of the source branch
	HeadTitle string // that commit's title, when the event tells it
	// OldRev is the previous head, set only when the event brought new
	// commits; an update without it changed only metadata (title, labels…).
	OldRev string
	// MergeCommitSHA is the merge commit of a merged merge request; "" for
	// a fast-forward merge (HeadSHA is then on the target branch).
	MergeCommitSHA string

	Draft bool
	Title string
	URL   string
	// Labels are the merge request's label titles; AuthorID is its
	// author's GitLab user id (push policies read both).
	Labels   []string
	AuthorID int64
}

// NewCommits reports whether the event pushed code to the merge request:
// an update that carries the previous head.
func (mr *MergeRequest) NewCommits() bool {
	return mr.Action == ActionUpdate && mr.OldRev != ""
}

// NoteableMergeRequest is the Note.NoteableType of a merge request
// comment, the only kind of comment Hoist acts on.
const NoteableMergeRequest = "MergeRequest"

// Note is a comment on a merge request.
type Note struct {
	ID int64
	// NoteableType is what was commented on, in the provider's words;
	// NoteableMergeRequest for every KindNote event.
	NoteableType string
	// Body is the comment, cut to MaxNoteBody bytes on a rune boundary;
	// Truncated says it was cut.
	Body      string
	Truncated bool
	// AuthorID is who wrote the note. Sender is who caused the event,
	// which can be someone else when an administrator edits the note; a
	// bot ignoring its own notes checks both.
	AuthorID int64
	Action   string // "create" or "update"; empty on servers that do not say
	System   bool   // written by the provider itself (e.g. "added 1 commit")
	URL      string
}

// User is who caused an event.
type User struct {
	ID       int64
	Username string
}

// HeadSHA is the commit a run for this event would use: the pushed commit
// (the tagged commit for tags), or the merge request's head. It is empty for deletions and ignored events.
func (e *Event) HeadSHA() string {
	switch e.Kind {
	case KindPush, KindTag:
		if e.Deleted {
			return ""
		}
		if e.CheckoutSHA != "" {
			return e.CheckoutSHA
		}
		return e.After
	case KindMergeRequest, KindNote:
		if e.MergeRequest != nil {
			return e.MergeRequest.HeadSHA
		}
	}
	return ""
}

// ChangedFilesFromPayload is the union of the paths the listed commits
// added, modified or removed, sorted and without duplicates. It is the
// push's whole change only when ChangedFilesComplete is true.
func (e *Event) ChangedFilesFromPayload() []string {
	n := 0
	for _, c := range e.Commits {
		n += len(c.Added) + len(c.Modified) + len(c.Removed)
	}
	files := make([]string, 0, n)
	for _, c := range e.Commits {
		files = append(files, c.Added...)
		files = append(files, c.Modified...)
		files = append(files, c.Removed...)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// IsZeroSHA reports whether sha is the all-zeros object name providers use
// for "no commit" (a created or deleted ref), for SHA-1 and SHA-256 alike.
func IsZeroSHA(sha string) bool {
	return (len(sha) == 40 || len(sha) == 64) && strings.Trim(sha, "0") == ""
}

// IsSHA reports whether s is a full lowercase hexadecimal object name
// (40 characters for SHA-1, 64 for SHA-256).
func IsSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// PayloadComplete applies the rule of SPEC §4.1 to a push: the payload's
// file lists are the whole change only when every commit is listed, there
// are at most MaxPayloadCommits of them, and the ref was neither created
// (its change is relative to the default branch) nor deleted. A push that
// lists no commits (a force push back to an older commit) is incomplete
// too: its change is real but only a compare shows it.
func PayloadComplete(totalCommits, listed int, created, deleted bool) bool {
	return !created && !deleted && listed > 0 &&
		totalCommits == listed && listed <= MaxPayloadCommits
}
