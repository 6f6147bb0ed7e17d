package feedback

import (
	"context"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
)

// CommandFeedback is what answering one merge request command writes.
type CommandFeedback struct {
	IntegrationID   string
	Project         string // path with namespace
	MergeRequestIID int64
	NoteID          int64    // the command note
	Emoji           []string // award emoji to add, in order (e.g. "eyes", "white_check_mark")
	Reply           string   // a reply note's markdown; "" for none
}

// Bounds of a command's answer.
const (
	// MaxCommandEmoji bounds the award emoji of one answer.
	MaxCommandEmoji = 8
	// MaxEmojiName bounds an emoji's name, in bytes (GitLab's own names
	// are far shorter).
	MaxEmojiName = 64
	// MaxReply bounds a reply's markdown, in bytes: a few sentences and a
	// code block, far below GitLab's 1,000,000-character note limit.
	MaxReply = 8 << 10
)

// emojiName is an award emoji's name as GitLab spells it, without colons.
var emojiName = regexp.MustCompile(`^[a-z0-9_]+$`)

// validate checks f, naming the field at fault.
func (f CommandFeedback) validate() error {
	switch {
	case f.IntegrationID == "":
		return apperr.InvalidField("integration_id", "is required")
	case f.Project == "":
		return apperr.InvalidField("project", "is required")
	case f.MergeRequestIID <= 0:
		return apperr.InvalidField("merge_request_iid", "must be positive, not %d", f.MergeRequestIID)
	case f.NoteID <= 0:
		return apperr.InvalidField("note_id", "must be positive, not %d", f.NoteID)
	case len(f.Emoji) > MaxCommandEmoji:
		return apperr.InvalidField("emoji", "%d emoji, at most %d", len(f.Emoji), MaxCommandEmoji)
	case len(f.Reply) > MaxReply:
		return apperr.InvalidField("reply", "%d bytes, at most %d", len(f.Reply), MaxReply)
	case !utf8.ValidString(f.Reply):
		return apperr.InvalidField("reply", "is not UTF-8")
	}
	for _, e := range f.Emoji {
		if len(e) > MaxEmojiName || !emojiName.MatchString(e) {
			return apperr.InvalidField("emoji", "%.80q is not an emoji name (lowercase letters, digits and _, at most %d bytes)",
				e, MaxEmojiName)
		}
	}
	return nil
}

// EnqueueCommandFeedback records the GitLab writes answering a merge
// request command: each award emoji on the command's note, and the reply.
// Call it inside the transaction that records what the command did (the
// runs it creates), so both commit together, then Notify after
// committing; without a transaction in ctx it is one of its own.
//
// Each emoji and the reply are a key of their own (AwardKey, ReplyKey):
// they are sent in parallel, so GitLab may show them in another order than
// f.Emoji's. A command answered twice (its webhook redelivered) writes
// nothing twice: GitLab keeps one of each emoji per user and note, and a
// command note gets one reply (the first sent stands).
func (s *Service) EnqueueCommandFeedback(ctx context.Context, f CommandFeedback) error {
	if err := f.validate(); err != nil {
		return err
	}
	now := s.now()
	base := Write{IntegrationID: f.IntegrationID, NextAttemptAt: now, CreatedAt: now,
		Payload: Payload{Project: f.Project, MergeRequestIID: f.MergeRequestIID, NoteID: f.NoteID}}
	var ws []Write
	for _, e := range f.Emoji {
		w := base
		w.Kind, w.Key, w.Payload.Emoji = KindAward, AwardKey(f.IntegrationID, f.Project, f.MergeRequestIID, f.NoteID, e), e
		ws = append(ws, w)
	}
	if f.Reply != "" {
		w := base
		w.Kind, w.Key, w.Payload.Body = KindReply, ReplyKey(f.IntegrationID, f.Project, f.MergeRequestIID, f.NoteID), f.Reply
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		return nil
	}
	if err := s.cfg.Store.EnqueueWrites(ctx, ws); err != nil {
		return fmt.Errorf("answer command note %d: %w", f.NoteID, err)
	}
	s.wakeSoon()
	return nil
}
