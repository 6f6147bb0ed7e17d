package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// Provider is the value of vcs.Event.Provider for events from GitLab.
const Provider = "gitlab"

// objectKinds maps each webhook Hoist acts on (the X-Gitlab-Event header)
// to the object_kind its body must carry. A mismatch means the body was not
// written by GitLab for that header, so the delivery is refused rather than
// guessed at.
var objectKinds = map[gl.EventType]string{
	gl.EventTypePush:         "push",
	gl.EventTypeTagPush:      "tag_push",
	gl.EventTypeMergeRequest: "merge_request",
	gl.EventTypeNote:         "note",
}

// envelope is the part of every payload read before the full decoding.
type envelope struct {
	ObjectKind       string `json:"object_kind"`
	ObjectAttributes struct {
		NoteableType string `json:"noteable_type"`
	} `json:"object_attributes"`
}

// ParseEvent translates one GitLab webhook delivery, given its X-Gitlab-Event
// header and raw body, into a provider-neutral event.
//
// Push, tag push, merge request and merge request comment events are
// translated; every other event (pipelines, issues, comments on commits…)
// becomes a vcs.KindIgnored event, which is not an error. Malformed JSON, a
// body whose object_kind does not match the header, or a payload missing
// what Hoist relies on (a project, valid SHAs, a branch ref) is an error
// with code apperr.Invalid.
func ParseEvent(eventHeader string, body []byte) (vcs.Event, error) {
	name := gl.EventType(eventHeader)
	kind, handled := objectKinds[name]
	if !handled {
		if err := checkJSONObject(body); err != nil {
			return vcs.Event{}, apperr.Wrap(apperr.Invalid, err, "malformed %s payload", safeName(eventHeader))
		}
		return ignored(eventHeader), nil
	}
	if name != gl.EventTypeNote {
		return parseTyped(eventHeader, name, kind, body)
	}
	// A comment's type decides what it is decoded into: a first pass reads
	// it (the client's own parsing peeks at it likewise).
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return vcs.Event{}, apperr.Wrap(apperr.Invalid, err, "malformed %s payload", eventHeader)
	}
	if env.ObjectKind != kind {
		return vcs.Event{}, kindMismatch(eventHeader, env.ObjectKind, kind)
	}
	if env.ObjectAttributes.NoteableType != vcs.NoteableMergeRequest {
		// Comments on commits, issues and snippets carry no command for stacks.
		ev := ignored(eventHeader)
		ev.Reason = "comment on something other than a merge request"
		if t := safeName(env.ObjectAttributes.NoteableType); t != "" {
			article := "a"
			if strings.ContainsRune("AEIOUaeiou", rune(t[0])) {
				article = "an"
			}
			ev.Reason = fmt.Sprintf("comment on %s %s, not a merge request", article, t)
		}
		return ev, nil
	}
	return parseTyped(eventHeader, name, kind, body)
}

// kindMismatch refuses a payload whose object_kind is not its header's.
func kindMismatch(eventHeader, got, want string) error {
	return apperr.Errorf(apperr.Invalid, "%s payload has object_kind %q, want %q", eventHeader, truncate(got), want)
}

// parseTyped decodes body into the client's type for event name, in one
// pass, checks its object_kind and translates it.
func parseTyped(eventHeader string, name gl.EventType, kind string, body []byte) (vcs.Event, error) {
	parsed, err := gl.ParseWebhook(name, body)
	if err != nil {
		return vcs.Event{}, apperr.Wrap(apperr.Invalid, err, "malformed %s payload", eventHeader)
	}
	var ev vcs.Event
	switch p := parsed.(type) {
	case *gl.PushEvent:
		if p.ObjectKind != kind {
			return vcs.Event{}, kindMismatch(eventHeader, p.ObjectKind, kind)
		}
		ev, err = fromPush(p)
	case *gl.TagEvent:
		if p.ObjectKind != kind {
			return vcs.Event{}, kindMismatch(eventHeader, p.ObjectKind, kind)
		}
		ev, err = fromTagPush(p)
	case *gl.MergeEvent:
		if p.ObjectKind != kind {
			return vcs.Event{}, kindMismatch(eventHeader, p.ObjectKind, kind)
		}
		ev, err = fromMergeRequest(p)
	case *gl.MergeCommentEvent: // object_kind checked by ParseEvent
		ev, err = fromMergeRequestNote(p, body)
	default:
		// Unreachable while objectKinds and the client agree; refuse rather
		// than act on a type this code was not written for.
		err = fmt.Errorf("unexpected client type %T", parsed)
	}
	if err != nil {
		return vcs.Event{}, apperr.Wrap(apperr.Invalid, err, "unusable %s payload", eventHeader)
	}
	ev.Provider = Provider
	ev.Name = eventHeader
	return ev, nil
}

func ignored(header string) vcs.Event {
	return vcs.Event{Kind: vcs.KindIgnored, Provider: Provider, Name: safeName(header)}
}

// checkJSONObject accepts any well-formed JSON object: the body of an event
// Hoist ignores is still stored and must at least be JSON (SPEC §2.4).
func checkJSONObject(body []byte) error {
	if !json.Valid(body) {
		return errors.New("body is not valid JSON")
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("body is not a JSON object")
	}
	return nil
}

func fromPush(p *gl.PushEvent) (vcs.Event, error) {
	branch, ok := strings.CutPrefix(p.Ref, "refs/heads/")
	if !ok || branch == "" {
		return vcs.Event{}, fmt.Errorf("push ref %q is not a branch", truncate(p.Ref))
	}
	commits := make([]vcs.Commit, 0, len(p.Commits))
	for _, c := range p.Commits {
		if c != nil {
			commits = append(commits, vcs.Commit{SHA: c.ID, Title: c.Title, Message: c.Message, Author: c.Author.Name,
				Added: c.Added, Modified: c.Modified, Removed: c.Removed})
		}
	}
	ev := vcs.Event{
		Kind:          vcs.KindPush,
		ProjectID:     firstNonZero(p.Project.ID, p.ProjectID),
		Repository:    p.Project.PathWithNamespace,
		DefaultBranch: p.Project.DefaultBranch,
		Ref:           p.Ref,
		Branch:        branch,
		Commits:       commits,
		Sender:        vcs.User{ID: p.UserID, Username: p.UserUsername},
	}
	if err := setRefUpdate(&ev, p.Before, p.After, p.CheckoutSHA, p.TotalCommitsCount); err != nil {
		return vcs.Event{}, err
	}
	ev.ChangedFilesComplete = vcs.PayloadComplete(ev.TotalCommits, len(ev.Commits), ev.Created, ev.Deleted)
	return ev, nil
}

func fromTagPush(p *gl.TagEvent) (vcs.Event, error) {
	tag, ok := strings.CutPrefix(p.Ref, "refs/tags/")
	if !ok || tag == "" {
		return vcs.Event{}, fmt.Errorf("tag push ref %q is not a tag", truncate(p.Ref))
	}
	commits := make([]vcs.Commit, 0, len(p.Commits))
	for _, c := range p.Commits {
		if c != nil {
			commits = append(commits, vcs.Commit{SHA: c.ID, Title: c.Title, Message: c.Message, Author: c.Author.Name,
				Added: c.Added, Modified: c.Modified, Removed: c.Removed})
		}
	}
	ev := vcs.Event{
		Kind:          vcs.KindTag,
		ProjectID:     firstNonZero(p.Project.ID, p.ProjectID),
		Repository:    p.Project.PathWithNamespace,
		DefaultBranch: p.Project.DefaultBranch,
		Ref:           p.Ref,
		Tag:           tag,
		Commits:       commits,
		Sender:        vcs.User{ID: p.UserID, Username: p.UserUsername},
	}
	// A tag's "change" is not a diff anyone acts on file by file, so its
	// file lists never count as complete.
	return ev, setRefUpdate(&ev, p.Before, p.After, p.CheckoutSHA, p.TotalCommitsCount)
}

// setRefUpdate checks and records the old and new commit of a ref and the
// facts that follow from them.
func setRefUpdate(ev *vcs.Event, before, after, checkout string, total int64) error {
	if ev.ProjectID <= 0 || ev.Repository == "" {
		return errors.New("payload names no project")
	}
	if !vcs.IsSHA(before) || !vcs.IsSHA(after) {
		return fmt.Errorf("before %q or after %q is not a full commit SHA", truncate(before), truncate(after))
	}
	ev.Before, ev.After = before, after
	ev.Created, ev.Deleted = vcs.IsZeroSHA(before), vcs.IsZeroSHA(after)
	if ev.Created && ev.Deleted {
		return errors.New("before and after are both the zero SHA")
	}
	if ev.Deleted && len(ev.Commits) > 0 {
		return errors.New("a deleted ref lists commits")
	}
	// checkout_sha is null on deletion; older servers may omit it otherwise,
	// and then After is the commit.
	switch {
	case ev.Deleted:
	case checkout == "":
		ev.CheckoutSHA = after
	case !vcs.IsSHA(checkout) || vcs.IsZeroSHA(checkout):
		return fmt.Errorf("checkout_sha %q is not a commit SHA", truncate(checkout))
	default:
		ev.CheckoutSHA = checkout
	}
	if total < 0 || total > 1<<31 {
		return fmt.Errorf("total_commits_count %d is out of range", total)
	}
	ev.TotalCommits = int(total)
	return nil
}

func fromMergeRequest(p *gl.MergeEvent) (vcs.Event, error) {
	a := p.ObjectAttributes
	mr := &vcs.MergeRequest{
		IID:             a.IID,
		Action:          vcs.MergeRequestAction(a.Action),
		State:           a.State,
		SourceBranch:    a.SourceBranch,
		TargetBranch:    a.TargetBranch,
		SourceProjectID: a.SourceProjectID,
		TargetProjectID: a.TargetProjectID,
		HeadSHA:         a.LastCommit.ID,
		HeadTitle:       a.LastCommit.Title,
		OldRev:          a.OldRev,
		MergeCommitSHA:  a.MergeCommitSHA,
		Draft:           a.Draft || a.WorkInProgress,
		Title:           a.Title,
		URL:             a.URL,
		AuthorID:        a.AuthorID,
	}
	for _, l := range p.Labels {
		if l != nil {
			mr.Labels = append(mr.Labels, l.Title)
		}
	}
	ev := vcs.Event{
		Kind:          vcs.KindMergeRequest,
		ProjectID:     firstNonZero(p.Project.ID, a.TargetProjectID),
		Repository:    p.Project.PathWithNamespace,
		DefaultBranch: p.Project.DefaultBranch,
		MergeRequest:  mr,
	}
	if p.User != nil {
		ev.Sender = vcs.User{ID: p.User.ID, Username: p.User.Username}
	}
	return ev, checkMergeRequest(&ev)
}

// noteDraft reads what the client's note types drop: whether the merge
// request is a draft (they only keep the deprecated work_in_progress).
type noteDraft struct {
	MergeRequest struct {
		Draft bool `json:"draft"`
	} `json:"merge_request"`
}

func fromMergeRequestNote(p *gl.MergeCommentEvent, body []byte) (vcs.Event, error) {
	var extra noteDraft
	if err := json.Unmarshal(body, &extra); err != nil {
		return vcs.Event{}, err
	}
	m, n := p.MergeRequest, p.ObjectAttributes
	ev := vcs.Event{
		Kind:          vcs.KindNote,
		ProjectID:     firstNonZero(p.Project.ID, p.ProjectID),
		Repository:    p.Project.PathWithNamespace,
		DefaultBranch: p.Project.DefaultBranch,
		MergeRequest: &vcs.MergeRequest{
			IID:             m.IID,
			State:           m.State,
			SourceBranch:    m.SourceBranch,
			TargetBranch:    m.TargetBranch,
			SourceProjectID: m.SourceProjectID,
			TargetProjectID: m.TargetProjectID,
			HeadSHA:         m.LastCommit.ID,
			HeadTitle:       m.LastCommit.Title,
			Draft:           extra.MergeRequest.Draft || m.WorkInProgress,
			Title:           m.Title,
			URL:             m.URL,
		},
		Note: &vcs.Note{ID: n.ID, NoteableType: n.NoteableType, AuthorID: n.AuthorID,
			Action: string(n.Action), System: n.System, URL: n.URL},
	}
	ev.Note.Body, ev.Note.Truncated = cut(n.Note, vcs.MaxNoteBody)
	if n.ID <= 0 {
		return vcs.Event{}, errors.New("note has no id")
	}
	if p.User != nil {
		ev.Sender = vcs.User{ID: p.User.ID, Username: p.User.Username}
	}
	return ev, checkMergeRequest(&ev)
}

// checkMergeRequest refuses merge request payloads that Hoist could not act
// on safely, and derives Fork.
func checkMergeRequest(ev *vcs.Event) error {
	mr := ev.MergeRequest
	switch {
	case ev.ProjectID <= 0 || ev.Repository == "":
		return errors.New("payload names no project")
	case mr.IID <= 0:
		return errors.New("merge request has no iid")
	case mr.SourceBranch == "" || mr.TargetBranch == "":
		return errors.New("merge request lacks its source or target branch")
	case mr.HeadSHA != "" && !vcs.IsSHA(mr.HeadSHA):
		return fmt.Errorf("last_commit.id %q is not a full commit SHA", truncate(mr.HeadSHA))
	case mr.OldRev != "" && !vcs.IsSHA(mr.OldRev):
		return fmt.Errorf("oldrev %q is not a full commit SHA", truncate(mr.OldRev))
	case mr.MergeCommitSHA != "" && !vcs.IsSHA(mr.MergeCommitSHA):
		return fmt.Errorf("merge_commit_sha %q is not a full commit SHA", truncate(mr.MergeCommitSHA))
	case mr.HeadSHA == "" && needsHead(ev):
		return errors.New("merge request has no last_commit.id")
	}
	mr.Fork = mr.SourceProjectID != 0 && mr.TargetProjectID != 0 && mr.SourceProjectID != mr.TargetProjectID
	return nil
}

// needsHead reports whether the event may start a run on the merge
// request's head, so that the head must be known.
func needsHead(ev *vcs.Event) bool {
	if ev.Kind == vcs.KindNote {
		return true
	}
	switch a := ev.MergeRequest.Action; a {
	case vcs.ActionOpen, vcs.ActionReopen:
		return true
	case vcs.ActionUpdate:
		return ev.MergeRequest.OldRev != ""
	}
	return false
}

func firstNonZero(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// truncate keeps attacker-controlled strings short in error messages,
// cutting on a rune boundary.
func truncate(s string) string {
	if out, cutShort := cut(s, 80); cutShort {
		return out + "…"
	}
	return s
}

// cut returns s cut to at most limit bytes on a rune boundary, and whether
// anything was cut.
func cut(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// safeName keeps an unknown event header fit for messages and the delivery
// log: printable, short.
func safeName(header string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, header)
	return truncate(clean)
}
