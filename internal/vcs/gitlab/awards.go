package gitlab

import (
	"context"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
)

// Award emoji on merge request notes: how Hoist acknowledges a command
// typed in a merge request comment (internal/feedback). Never retried
// here; a failure is a *vcs.Error.

// maxAwardPages bounds the search of a note's award emoji (100 a page).
const maxAwardPages = 5

// AwardNoteEmoji adds award emoji name (without colons: "eyes") to note
// noteID of merge request !iid as the token's user
// (POST /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji).
//
// GitLab keeps one of each emoji per user on a note. When the user has
// awarded it already, GitLab answers 404 "Award Emoji Name has already
// been taken" (older versions put the validation errors there; a 400 says
// the same); the error is then of kind vcs.KindUnchanged. client-go drops
// the body of a 404, so a 404 is told from a missing note (or any other
// refusal) by looking: the note's award emoji are listed (GET /user, then
// GET …/award_emoji, at most 500) for the user's. A note or merge request
// that does not exist, or that the user cannot see, is vcs.KindNotFound.
func (c *Client) AwardNoteEmoji(ctx context.Context, ep vcs.Endpoint, project string, iid, noteID int64, name string) error {
	client, release, err := c.clientFor(ep, apiCall)
	if err != nil {
		return err
	}
	defer release()
	_, resp, err := client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(project, iid, noteID,
		&gl.CreateAwardEmojiOptions{Name: name}, gl.WithContext(ctx))
	if err == nil {
		return nil
	}
	e := classify(resp, err)
	switch {
	case e.Status == http.StatusBadRequest && strings.Contains(e.Message, "has already been taken"):
		e.Kind = vcs.KindUnchanged
	case e.Kind == vcs.KindNotFound:
		has, err := hasAwarded(ctx, client, project, iid, noteID, name)
		switch {
		case err != nil && vcs.KindOf(err) != vcs.KindNotFound:
			return err // the look failed: the next attempt looks again
		case has:
			e.Kind = vcs.KindUnchanged
		case err == nil:
			e.Message += " (the note is there: GitLab refused the emoji " + name + ")"
		}
	}
	return e
}

// hasAwarded reports whether the token's user has award emoji name on the
// note, among its first 500.
func hasAwarded(ctx context.Context, client *gl.Client, project string, iid, noteID int64, name string) (bool, error) {
	me, resp, err := client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return false, classify(resp, err)
	}
	if me == nil || me.ID == 0 {
		return false, &vcs.Error{Kind: vcs.KindBadAnswer, Status: resp.StatusCode, Message: "GET /user answered without a user id"}
	}
	opt := &gl.ListAwardEmojiOptions{ListOptions: gl.ListOptions{PerPage: 100, Page: 1}}
	for range maxAwardPages {
		awards, resp, err := client.AwardEmoji.ListMergeRequestAwardEmojiOnNote(project, iid, noteID, opt, gl.WithContext(ctx))
		if err != nil {
			return false, classify(resp, err)
		}
		for _, a := range awards {
			if a != nil && a.Name == name && a.User.ID == me.ID {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return false, nil
}
