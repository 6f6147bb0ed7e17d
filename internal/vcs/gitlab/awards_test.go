package gitlab_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// TestAwardNoteEmoji: hoist-bot (a Reporter) awards emoji on a command
// note of merge request !1; awarding one again is KindUnchanged and adds
// nothing; a note or merge request that is not there is KindNotFound.
func TestAwardNoteEmoji(t *testing.T) {
	t.Parallel()
	e := startSim(t)
	ctx := t.Context()
	const path = "acme/infra"
	if _, err := e.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: path, Files: map[string]string{"main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: path, UserID: e.user.ID, AccessLevel: gitlabsim.Reporter}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Push(ctx, gitlabsim.PushOptions{Project: path, Branch: "feature", Commits: []gitlabsim.CommitSpec{
		{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# v2\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	mr, err := e.sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: path, SourceBranch: "feature", Title: "Change"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := e.sim.CommentMergeRequest(ctx, path, mr.IID, 0, "/hoist plan")
	if err != nil {
		t.Fatal(err)
	}
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	ep := vcs.Endpoint{Integration: "gl", APIHost: e.url, Token: e.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})}
	iid, noteID := int64(mr.IID), int64(note.ID)
	for _, tt := range []struct {
		name      string
		iid, note int64
		emoji     string
		want      vcs.ErrorKind // "" for success
	}{
		{"first award", iid, noteID, "eyes", ""},
		{"the same again", iid, noteID, "eyes", vcs.KindUnchanged},
		{"another emoji", iid, noteID, "white_check_mark", ""},
		{"no such note", iid, noteID + 100, "eyes", vcs.KindNotFound},
		{"no such merge request", iid + 100, noteID, "eyes", vcs.KindNotFound},
		{"not an emoji name", iid, noteID, "Not Valid", vcs.KindInvalid},
	} {
		err := c.AwardNoteEmoji(ctx, ep, path, tt.iid, tt.note, tt.emoji)
		if got := vcs.KindOf(err); got != tt.want || (tt.want == "") != (err == nil) {
			t.Errorf("%s: AwardNoteEmoji = %v (kind %q), want kind %q", tt.name, err, got, tt.want)
		}
	}
	awards, err := e.sim.AwardEmoji(path, note.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range awards {
		if a.UserID != e.user.ID {
			t.Errorf("award %+v by user %d, want hoist-bot's (%d)", a, a.UserID, e.user.ID)
		}
		got = append(got, a.Name)
	}
	if want := []string{"eyes", "white_check_mark"}; !slices.Equal(got, want) {
		t.Errorf("awards on the note = %v, want %v once each", got, want)
	}
}

// TestAwardNoteEmojiTakenAnswers: GitLab's ways of saying the emoji is
// there already are KindUnchanged; a 404 is one only when the user's emoji
// is found on the note, and a look that fails is the failure to retry.
func TestAwardNoteEmojiTakenAnswers(t *testing.T) {
	t.Parallel()
	const (
		post   = "POST /api/v4/projects/acme%2Finfra/merge_requests/1/notes/7/award_emoji"
		list   = "GET /api/v4/projects/acme%2Finfra/merge_requests/1/notes/7/award_emoji"
		me     = "GET /api/v4/user"
		mine   = `[{"id":1,"name":"thumbsup","user":{"id":5}},{"id":2,"name":"eyes","user":{"id":5}}]`
		theirs = `[{"id":1,"name":"eyes","user":{"id":6}}]`
	)
	type answer struct {
		status int
		body   string
	}
	taken404 := answer{404, `{"message":"404 Award Emoji Name has already been taken Not Found"}`}
	for _, tt := range []struct {
		name    string
		answers map[string]answer
		want    vcs.ErrorKind
	}{
		{"404, and the user's emoji is there", map[string]answer{post: taken404, list: {200, mine}}, vcs.KindUnchanged},
		{"404, and only someone else's", map[string]answer{post: taken404, list: {200, theirs}}, vcs.KindNotFound},
		{"404, and no note", map[string]answer{post: {404, `{"message":"404 Not found"}`}, list: {404, `{"message":"404 Not found"}`}}, vcs.KindNotFound},
		{"404, and the look fails", map[string]answer{post: taken404, me: {503, `{"message":"down"}`}}, vcs.KindUnavailable},
		{"400 taken", map[string]answer{post: {400, `{"message":{"name":["has already been taken"]}}`}}, vcs.KindUnchanged},
		{"400 otherwise", map[string]answer{post: {400, `{"message":{"name":["is not a valid emoji name"]}}`}}, vcs.KindInvalid},
		{"a server error", map[string]answer{post: {500, `{"message":"has already been taken"}`}}, vcs.KindUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a, ok := tt.answers[r.Method+" "+r.URL.EscapedPath()]
				if !ok {
					a = answer{200, `{"id":5,"username":"hoist-bot"}`} // GET /user
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			}))
			t.Cleanup(srv.Close)
			c := gitlab.New(nil, nil)
			t.Cleanup(c.Close)
			err := c.AwardNoteEmoji(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: "t"}, "acme/infra", 1, 7, "eyes")
			if got := vcs.KindOf(err); got != tt.want {
				t.Errorf("AwardNoteEmoji = %v (kind %q), want kind %q", err, got, tt.want)
			}
		})
	}
}
