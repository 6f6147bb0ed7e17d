package feedback

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hoistdev/hoist/internal/vcs"
)

// GitLab is the GitLab adapter as the writer uses it (gitlab.Client
// implements it): one request per call, never retried by it. A call that
// reached GitLab, or tried to, fails with a *vcs.Error; any other error
// happened before a request (building the integration's client).
type GitLab interface {
	SetCommitStatus(ctx context.Context, ep vcs.Endpoint, s vcs.CommitStatus) error
	HasCommitStatus(ctx context.Context, ep vcs.Endpoint, s vcs.CommitStatus) (bool, error)
	FindNote(ctx context.Context, ep vcs.Endpoint, project string, iid int64, marker string) (int64, error)
	CreateNote(ctx context.Context, ep vcs.Endpoint, project string, iid int64, body string) (int64, error)
	UpdateNote(ctx context.Context, ep vcs.Endpoint, project string, iid, noteID int64, body string) error
	CreateDeployment(ctx context.Context, ep vcs.Endpoint, d vcs.Deployment) (int64, error)
	UpdateDeployment(ctx context.Context, ep vcs.Endpoint, project string, id int64, status string) error
	FindEnvironment(ctx context.Context, ep vcs.Endpoint, project, name string) (int64, error)
	CreateEnvironment(ctx context.Context, ep vcs.Endpoint, project, name string) (int64, error)
	// AwardNoteEmoji fails with kind vcs.KindUnchanged when the token's
	// user has awarded that emoji on the note already.
	AwardNoteEmoji(ctx context.Context, ep vcs.Endpoint, project string, iid, noteID int64, name string) error
	// MergeMergeRequest fails with kind vcs.KindUnchanged when the merge
	// request is merged already.
	MergeMergeRequest(ctx context.Context, ep vcs.Endpoint, project string, iid int64, sha string) error
	// FindIssue returns the iid of an open issue of project found by a
	// search for term whose description holds marker; 0 when there is
	// none.
	FindIssue(ctx context.Context, ep vcs.Endpoint, project, term, marker string) (int64, error)
	CreateIssue(ctx context.Context, ep vcs.Endpoint, is vcs.Issue) (int64, error)
	// UpdateIssue fails with kind vcs.KindNotFound when the issue was
	// deleted.
	UpdateIssue(ctx context.Context, ep vcs.Endpoint, iid int64, is vcs.Issue) error
}

// Refs keeps the ids GitLab gave to objects Hoist edits later.
type Refs interface {
	GitLabRef(ctx context.Context, key string) (int64, bool, error)
	SetGitLabRef(ctx context.Context, key string, id int64, at time.Time) error
}

// sender performs one write against GitLab.
type sender struct {
	gitlab GitLab
	refs   Refs
	now    func() time.Time
}

// outcome is what one attempt did: done with a result, or failed.
type outcome struct {
	result string
	fail   *failure // nil when GitLab has the write
}

func done(format string, args ...any) outcome { return outcome{result: fmt.Sprintf(format, args...)} }

// retry is the outcome of an attempt that failed before GitLab was asked
// (reading the outbox's refs, an integration's endpoint): it is tried
// again.
func retry(err error) outcome { return outcome{fail: &failure{retryable: true, message: err.Error()}} }

// failed is the outcome of a call that returned err.
func failed(ep vcs.Endpoint, err error) outcome {
	f := failureOf(ep, err)
	return outcome{fail: &f}
}

// send performs w through ep; inDoubt: an earlier attempt may have
// reached GitLab; ref: the id its key keeps.
func (s *sender) send(ctx context.Context, ep vcs.Endpoint, w Write, inDoubt bool, ref Ref) outcome {
	switch w.Kind {
	case KindStatus:
		return s.status(ctx, ep, w, inDoubt)
	case KindNote:
		return s.note(ctx, ep, w, ref)
	case KindDeployment:
		return s.deployment(ctx, ep, w, ref)
	case KindAward:
		return s.award(ctx, ep, w.Payload)
	case KindReply:
		return s.reply(ctx, ep, w, ref)
	case KindIssue:
		return s.issue(ctx, ep, w, ref)
	case KindMerge:
		err := s.gitlab.MergeMergeRequest(ctx, ep, w.Payload.Project, w.Payload.MergeRequestIID, w.Payload.SHA)
		return doneOrUnchanged(ep, err, fmt.Sprintf("merged !%d", w.Payload.MergeRequestIID), "already merged")
	}
	return outcome{fail: &failure{message: fmt.Sprintf("unknown write kind %q", w.Kind)}}
}

// status posts a commit status. A status already in that state (or past
// it) is done. GitLab refuses pending → pending and running → running, but
// takes a finished state again as a new status, so a finished state in
// doubt is looked for first: the same status (state, run, description) as
// GitLab's latest is done. In doubt is a write sent again after an attempt
// failed (its answer may have been lost), or whose key was taken over from
// a server killed or stopped before it recorded the answer; a first
// attempt costs no read.
func (s *sender) status(ctx context.Context, ep vcs.Endpoint, w Write, inDoubt bool) outcome {
	p := w.Payload
	cs := vcs.CommitStatus{Project: p.Project, SHA: p.SHA, Ref: p.Ref, Name: p.Name,
		State: p.State, Description: p.Description, TargetURL: p.TargetURL}
	if inDoubt && finishedStatus(p.State) {
		has, err := s.gitlab.HasCommitStatus(ctx, ep, cs)
		if err != nil {
			return failed(ep, err)
		}
		if has {
			return done("already %s (found in GitLab)", p.State)
		}
	}
	err := s.gitlab.SetCommitStatus(ctx, ep, cs)
	return doneOrUnchanged(ep, err, "status "+p.State, "already "+p.State)
}

// finishedStatus reports whether GitLab takes state again as a new status.
func finishedStatus(state string) bool {
	return state == "success" || state == "failed" || state == "canceled"
}

// doneOrUnchanged is the outcome of a call that returned err: done with
// result, or with already when GitLab refused it because it has the
// object in the asked-for state (vcs.KindUnchanged), or failed.
func doneOrUnchanged(ep vcs.Endpoint, err error, result, already string) outcome {
	if err == nil {
		return done("%s", result)
	}
	out := failed(ep, err)
	if vcs.KindOf(err) == vcs.KindUnchanged {
		return done("%s (GitLab: %s)", already, out.fail.message)
	}
	return out
}

// award adds an award emoji to a command note. GitLab keeps one of each
// emoji per user and note, so an emoji Hoist awarded already (an earlier
// attempt whose answer was lost, a command taken twice) is done.
func (s *sender) award(ctx context.Context, ep vcs.Endpoint, p Payload) outcome {
	err := s.gitlab.AwardNoteEmoji(ctx, ep, p.Project, p.MergeRequestIID, p.NoteID, p.Emoji)
	return doneOrUnchanged(ep, err, fmt.Sprintf("awarded :%s:", p.Emoji), fmt.Sprintf("already awarded :%s:", p.Emoji))
}

// replyMarker identifies Hoist's reply to command note noteID, so a reply
// created by an attempt whose answer was lost is found instead of posted
// twice.
func replyMarker(noteID int64) string { return fmt.Sprintf("<!-- hoist:reply=%d -->", noteID) }

// reply answers a command note with a note on its merge request, once: a
// reply whose id is kept, or one found by its marker, is not posted again
// (nor edited: the first answer to a command stands).
func (s *sender) reply(ctx context.Context, ep vcs.Endpoint, w Write, ref Ref) outcome {
	p := w.Payload
	if ref.Known {
		return done("already replied in note %d", ref.ID)
	}
	marker := replyMarker(p.NoteID)
	id, err := s.gitlab.FindNote(ctx, ep, p.Project, p.MergeRequestIID, marker)
	if err != nil {
		return failed(ep, err)
	}
	if id != 0 {
		return s.keepRef(ctx, w.Key, id, done("already replied in note %d", id))
	}
	id, err = s.gitlab.CreateNote(ctx, ep, p.Project, p.MergeRequestIID, p.Body+"\n\n"+marker)
	if err != nil {
		return failed(ep, err)
	}
	return s.keepRef(ctx, w.Key, id, done("replied in note %d", id))
}

// noteMarker identifies Hoist's note of a stack in a merge request, so a
// note created by an attempt whose answer was lost (a crash, a timeout) is
// found and edited instead of posted twice.
func noteMarker(stackID string) string { return "<!-- hoist:stack=" + stackID + " -->" }

// note edits the stack's note on the merge request in place, or creates it
// when there is none yet or someone deleted it (the edit is not found).
func (s *sender) note(ctx context.Context, ep vcs.Endpoint, w Write, ref Ref) outcome {
	p := w.Payload
	id, ok := ref.ID, ref.Known
	if !ok {
		found, err := s.gitlab.FindNote(ctx, ep, p.Project, p.MergeRequestIID, noteMarker(p.StackID))
		if err != nil {
			return failed(ep, err)
		}
		id, ok = found, found != 0
	}
	if ok {
		err := s.gitlab.UpdateNote(ctx, ep, p.Project, p.MergeRequestIID, id, p.Body)
		switch {
		case err == nil:
			return s.keepRef(ctx, w.Key, id, done("edited note %d", id))
		case vcs.KindOf(err) != vcs.KindNotFound:
			return failed(ep, err)
		}
		// Deleted in GitLab: create a new one below.
	}
	id, err := s.gitlab.CreateNote(ctx, ep, p.Project, p.MergeRequestIID, p.Body)
	if err != nil {
		return failed(ep, err)
	}
	return s.keepRef(ctx, w.Key, id, done("created note %d", id))
}

func (s *sender) keepRef(ctx context.Context, key string, id int64, out outcome) outcome {
	if err := s.refs.SetGitLabRef(ctx, key, id, s.now()); err != nil {
		// GitLab has the write; only the id is lost, and the marker finds
		// the note again next time.
		out.result += " (id not recorded: " + err.Error() + ")"
	}
	return out
}

// deployment creates the run's deployment in the stack's environment, or
// moves it to its new status.
func (s *sender) deployment(ctx context.Context, ep vcs.Endpoint, w Write, ref Ref) outcome {
	p := w.Payload
	if ref.Known {
		if err := s.gitlab.UpdateDeployment(ctx, ep, p.Project, ref.ID, p.State); err != nil {
			return failed(ep, err)
		}
		return done("deployment %d %s", ref.ID, p.State)
	}
	if out := s.environment(ctx, ep, w.IntegrationID, p); out.fail != nil {
		return out
	}
	id, err := s.gitlab.CreateDeployment(ctx, ep, vcs.Deployment{Project: p.Project, Environment: p.Environment,
		Ref: p.Ref, SHA: p.SHA, Status: p.State})
	if err != nil {
		return failed(ep, err)
	}
	return s.keepRef(ctx, w.Key, id, done("created deployment %d %s", id, p.State))
}

// environment makes sure the stack's environment exists: the stored id, an
// environment of that name already in GitLab, or a new one.
func (s *sender) environment(ctx context.Context, ep vcs.Endpoint, integrationID string, p Payload) outcome {
	key := EnvironmentKey(integrationID, p.Project, p.Environment)
	if _, ok, err := s.refs.GitLabRef(ctx, key); err != nil || ok {
		if err != nil {
			return retry(err)
		}
		return outcome{}
	}
	id, err := s.gitlab.FindEnvironment(ctx, ep, p.Project, p.Environment)
	if err != nil {
		return failed(ep, err)
	}
	if id != 0 {
		return s.keepRef(ctx, key, id, outcome{})
	}
	id, err = s.gitlab.CreateEnvironment(ctx, ep, p.Project, p.Environment)
	if err != nil {
		out := failed(ep, err)
		if out.fail.status == http.StatusBadRequest {
			// Taken by a racing writer: the next attempt finds it.
			out.fail.retryable = true
		}
		return out
	}
	return s.keepRef(ctx, key, id, outcome{})
}

// failure is a failed attempt, as the writer's retry policy reads it.
type failure struct {
	status    int        // HTTP status; 0 for network errors
	gitlab    *vcs.Error // nil when the call failed before a request
	retryable bool
	noAgent   bool   // a private integration had no VCS agent connected
	message   string // GitLab's error, for the run page
}

// failureOf tells retryable failures (429, 5xx, 408, 409, no answer, no
// VCS agent connected, no client) from final ones (other statuses, a VCS
// agent's refusal: only its operator can widen what it forwards).
func failureOf(ep vcs.Endpoint, err error) failure {
	var e *vcs.Error
	if !errors.As(err, &e) {
		return failure{retryable: true, message: fmt.Sprintf("gitlab client of integration %s: %s", ep.Integration, err)}
	}
	f := failure{status: e.Status, gitlab: e, message: e.Message}
	switch e.Kind {
	case vcs.KindNoAgent:
		f.retryable, f.noAgent = true, true
	case vcs.KindUnreachable, vcs.KindRateLimited, vcs.KindUnavailable, vcs.KindConflict:
		// 409: GitLab's optimistic locking lost a race (two writers on
		// one pipeline); the next attempt sees the winner.
		f.retryable = true
	}
	return f
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
