package feedback_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// enqueueRecorder is the outbox at the edge of the validation test: it
// keeps what it is given.
type enqueueRecorder struct {
	feedback.Store
	ws []feedback.Write
}

func (s *enqueueRecorder) EnqueueWrites(_ context.Context, ws []feedback.Write) error {
	s.ws = append(s.ws, ws...)
	return nil
}

func TestEnqueueCommandFeedbackValidates(t *testing.T) {
	t.Parallel()
	ok := feedback.CommandFeedback{IntegrationID: integ, Project: project, MergeRequestIID: 4, NoteID: 77}
	with := func(change func(f *feedback.CommandFeedback)) feedback.CommandFeedback {
		f := ok
		change(&f)
		return f
	}
	for _, tt := range []struct {
		name      string
		in        feedback.CommandFeedback
		wantField string // "" for valid
		wantKeys  []string
	}{
		{"emoji and a reply", with(func(f *feedback.CommandFeedback) {
			f.Emoji, f.Reply = []string{"eyes", "white_check_mark"}, "Unknown stack `nope`."
		}), "", []string{
			feedback.AwardKey(integ, project, 4, 77, "eyes"), feedback.AwardKey(integ, project, 4, 77, "white_check_mark"),
			feedback.ReplyKey(integ, project, 4, 77)}},
		{"digits and underscores", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{"x", "100", "heavy_check_mark"} }), "",
			[]string{feedback.AwardKey(integ, project, 4, 77, "x"), feedback.AwardKey(integ, project, 4, 77, "100"),
				feedback.AwardKey(integ, project, 4, 77, "heavy_check_mark")}},
		{"a reply of the largest size", with(func(f *feedback.CommandFeedback) { f.Reply = strings.Repeat("é", feedback.MaxReply/2) }), "",
			[]string{feedback.ReplyKey(integ, project, 4, 77)}},
		{"nothing to write", ok, "", nil},
		{"no integration", with(func(f *feedback.CommandFeedback) { f.IntegrationID = "" }), "integration_id", nil},
		{"no project", with(func(f *feedback.CommandFeedback) { f.Project = "" }), "project", nil},
		{"no merge request", with(func(f *feedback.CommandFeedback) { f.MergeRequestIID = 0 }), "merge_request_iid", nil},
		{"no note", with(func(f *feedback.CommandFeedback) { f.NoteID = -1 }), "note_id", nil},
		{"colons", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{":eyes:"} }), "emoji", nil},
		{"upper case", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{"Eyes"} }), "emoji", nil},
		{"a plus", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{"+1"} }), "emoji", nil},
		{"empty", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{"eyes", ""} }), "emoji", nil},
		{"too long", with(func(f *feedback.CommandFeedback) { f.Emoji = []string{strings.Repeat("a", feedback.MaxEmojiName+1)} }), "emoji", nil},
		{"too many", with(func(f *feedback.CommandFeedback) {
			f.Emoji = slices.Repeat([]string{"eyes"}, feedback.MaxCommandEmoji+1)
		}), "emoji", nil},
		{"a reply too large", with(func(f *feedback.CommandFeedback) { f.Reply = strings.Repeat("x", feedback.MaxReply+1) }), "reply", nil},
		{"a reply not UTF-8", with(func(f *feedback.CommandFeedback) { f.Reply = "\xff" }), "reply", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &enqueueRecorder{}
			err := feedback.NewService(feedback.Config{Store: store}).EnqueueCommandFeedback(t.Context(), tt.in)
			var ae *apperr.Error
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("EnqueueCommandFeedback = %v, want it enqueued", err)
			case tt.wantField != "" && (!errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != tt.wantField):
				t.Fatalf("EnqueueCommandFeedback = %v, want invalid %s", err, tt.wantField)
			}
			var keys []string
			for _, w := range store.ws {
				keys = append(keys, w.Key)
				if w.RunID != "" || w.Payload.NoteID != tt.in.NoteID || w.Payload.MergeRequestIID != tt.in.MergeRequestIID ||
					w.Payload.Project != tt.in.Project || w.NextAttemptAt.IsZero() {
					t.Errorf("write %+v", w)
				}
			}
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("enqueued keys %v, want %v", keys, tt.wantKeys)
			}
		})
	}
}

// command is a merge request !mr with a command note by a developer.
func (e *env) command(body string) (mr gitlabsim.MergeRequest, note gitlabsim.Note) {
	e.t.Helper()
	e.push("feature", "# v2\n")
	mr, err := e.sim.CreateMergeRequest(e.ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Change"})
	if err != nil {
		e.t.Fatal(err)
	}
	dev, err := e.sim.CreateUser(e.ctx, gitlabsim.UserOptions{Username: "dev"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.sim.AddMember(e.ctx, gitlabsim.MemberOptions{Project: project, UserID: dev.ID, AccessLevel: gitlabsim.Developer}); err != nil {
		e.t.Fatal(err)
	}
	if note, err = e.sim.CommentMergeRequest(e.ctx, project, mr.IID, dev.ID, body); err != nil {
		e.t.Fatal(err)
	}
	return mr, note
}

// answer enqueues f in a transaction of its own, as the code taking a
// command does along with its runs, and wakes the dispatcher.
func (e *env) answer(f feedback.CommandFeedback) {
	e.t.Helper()
	if err := e.store.InTx(e.ctx, func(ctx context.Context) error { return e.svc.EnqueueCommandFeedback(ctx, f) }); err != nil {
		e.t.Fatal(err)
	}
	e.svc.Notify()
}

// settleCommands waits until no write of no run (commands' answers) is
// still to be sent, and returns them.
func (e *env) settleCommands() []feedback.Write {
	e.t.Helper()
	return e.settle("")
}

// awards are the names of the award emoji on a note, oldest first.
func (e *env) awards(noteID int) []string {
	e.t.Helper()
	as, err := e.sim.AwardEmoji(project, noteID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

// replies are the notes of merge request !iid that are not note cmd.
func (e *env) replies(iid int, cmd gitlabsim.Note) []gitlabsim.Note {
	e.t.Helper()
	notes, err := e.sim.Notes(project, iid)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(notes, func(n gitlabsim.Note) bool { return n.ID == cmd.ID })
}

// TestCommandFeedback: a command's answer (two emoji and a reply) lands
// with the transaction that enqueued it and not without; the same answer
// again, once the first is in GitLab (a redelivered webhook), adds no
// second emoji and no second reply, and is done, not failed.
func TestCommandFeedback(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		mr, note := e.command("/hoist plan nope")
		rec := &recorder{}
		e.start(e.store, feedback.DispatcherConfig{Metrics: rec})
		f := feedback.CommandFeedback{IntegrationID: integ, Project: project, MergeRequestIID: int64(mr.IID), NoteID: int64(note.ID),
			Emoji: []string{"eyes", "x"}, Reply: "No stack `nope` in this repository."}

		refused := errors.New("the command's runs could not be created")
		err := e.store.InTx(e.ctx, func(ctx context.Context) error {
			if err := e.svc.EnqueueCommandFeedback(ctx, f); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("InTx = %v", err)
		}
		if ws, err := e.store.ListWrites(e.ctx, ""); err != nil || len(ws) != 0 {
			t.Fatalf("writes of a rolled back command = %+v, %v; want none", ws, err)
		}

		for round := 1; round <= 2; round++ {
			e.answer(f)
			ws := e.settleCommands()
			wantLanded(t, ws)
			if len(ws) != 3*round {
				t.Errorf("round %d: %d writes, want 3 a round: %+v", round, len(ws), ws)
			}
			if got := e.awards(note.ID); !slices.Equal(got, []string{"eyes", "x"}) && !slices.Equal(got, []string{"x", "eyes"}) {
				t.Errorf("round %d: award emoji %v, want eyes and x once each", round, got)
			}
			replies := e.replies(mr.IID, note)
			if len(replies) != 1 || !strings.HasPrefix(replies[0].Body, f.Reply) ||
				!strings.HasSuffix(replies[0].Body, fmt.Sprintf("<!-- hoist:reply=%d -->", note.ID)) {
				t.Errorf("round %d: replies %+v, want one with the marker", round, replies)
			}
		}
		ws := e.settleCommands()
		for _, w := range ws[3:] {
			if !strings.HasPrefix(w.Result, "already") {
				t.Errorf("the second answer's %s: %q, want it found already there", w.Describe(), w.Result)
			}
		}
		if n := e.sim.CallCount("POST /api/v4/projects/*/merge_requests/*/notes"); n != 1 {
			t.Errorf("%d notes posted, want the one reply", n)
		}
		if got := rec.got(); len(got) != 6 || slices.ContainsFunc(got, func(s string) bool { return !strings.HasSuffix(s, " done") }) {
			t.Errorf("attempts %v, want 6 done at the first try", got)
		}
	})
}

// TestReplyAnswerLost: GitLab creates the reply but its answer never
// arrives (the client gives up waiting); the retry finds the reply by its
// marker instead of posting a second one.
func TestReplyAnswerLost(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		mr, note := e.command("/hoist apply")
		// The note is created, then its answer trickles in after the
		// client's timeout.
		if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/merge_requests/*/notes",
			Trickle: 2 * time.Second, TrickleBytes: 1, Count: 1}); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		short := gitlab.Timeouts{APIHeader: 300 * time.Millisecond, API: 300 * time.Millisecond}
		e.start(e.store, feedback.DispatcherConfig{Metrics: rec, GitLab: gitlab.New(nil, nil, gitlab.WithTimeouts(short))})
		e.answer(feedback.CommandFeedback{IntegrationID: integ, Project: project, MergeRequestIID: int64(mr.IID), NoteID: int64(note.ID),
			Reply: "Apply needs an approved merge request."})
		ws := e.settleCommands()
		wantLanded(t, ws)
		if len(ws) != 1 || ws[0].Attempts != 2 || !strings.HasPrefix(ws[0].Result, "already replied") || ws[0].LastError == "" {
			t.Errorf("writes %+v; want the reply found at the second attempt, the lost answer as its last error", ws)
		}
		if replies := e.replies(mr.IID, note); len(replies) != 1 {
			t.Errorf("replies %+v, want one", replies)
		}
		if got, want := rec.got(), []string{"reply retrying", "reply done retry"}; !slices.Equal(got, want) {
			t.Errorf("attempts %v, want %v", got, want)
		}
		apptest.Eventually(t, 5*time.Second, "the trickled answer to end", func() bool { return e.sim.Faults()[0].Cut == 1 })
	})
}
