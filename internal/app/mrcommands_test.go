package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// Issue 18 (the comment commands built so far): through the simulator's
// real webhooks, a Developer's `/hoist plan api` plans only api again; a
// Reporter is refused with the reason; a typo and `/hoist apply` (not
// built yet) are answered with one reply each; the integration user's own
// comments, commit and issue comments make nothing; a comment processed
// again acts once; every command note carries the emoji; the merge
// request keeps one Hoist note per stack.
func TestMergeRequestCommentCommands(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	h.commentsHook()
	h.pushCommit("main", "Add api", gitlabsim.FileAction{Action: "create", Path: "api/main.tf", Content: infraTF("api")})
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "api", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "api"})
	dev, rep := h.simUser("dev", gitlabsim.Developer), h.simUser("rep", gitlabsim.Reporter)

	sha := h.push("feature", map[string]string{"infra/main.tf": infraTF("web2"), "api/main.tf": infraTF("api2")})
	mr, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature", Title: "Both"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"web", "api"} {
		h.waitState(h.waitRunAt(st, sha, "PROPOSED").ID, "FINISHED")
	}
	proposed := func(stack string) int {
		n := 0
		for _, r := range h.runsOf(stack) {
			if r.CommitSHA == sha && r.Type == "PROPOSED" {
				n++
			}
		}
		return n
	}

	// A Developer's /hoist plan api: one new run, of api only.
	planAPI, err := h.Sim.CommentMergeRequest(ctx, runsProject, mr.IID, dev, "/hoist plan api\nplease")
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 30*time.Second, "a second proposed run of api", func() error {
		if proposed("api") == 2 {
			return nil
		}
		return fmt.Errorf("deliveries: %s", h.deliverySummaries())
	})
	h.waitEmoji(planAPI.ID, "eyes", "white_check_mark")

	// Refusals and answers: one reply each, the x emoji, no run.
	refused := map[string]struct {
		user int
		body string
		want string
	}{
		"reporter": {rep, "/hoist plan", "needs developer access to the project; @rep has reporter"},
		"typo":     {dev, "/hoist aply api", "Did you mean `/hoist apply`?"},
		"apply":    {dev, "/hoist apply", "web does not apply before merge (its `mr_apply` setting is off)"},
		"unknown":  {dev, "/hoist plan nope", "No stack of acme/infra is called `nope`"},
	}
	for name, c := range refused {
		n, err := h.Sim.CommentMergeRequest(ctx, runsProject, mr.IID, c.user, c.body)
		if err != nil {
			t.Fatal(err)
		}
		h.waitEmoji(n.ID, "eyes", "x")
		reply := h.waitReply(mr.IID, n.ID)
		if !strings.Contains(reply.Body, c.want) {
			t.Errorf("%s: reply %q, want %q", name, reply.Body, c.want)
		}
	}

	// A stack may ask for more: with api at maintainer, the Developer's
	// plan of it is refused, web's goes on.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/api", h.AdminKey, map[string]any{"mr_plan_min_access": "maintainer"})
	h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/api", h.AdminKey, map[string]any{"mr_plan_min_access": "admin"})
	both, err := h.Sim.CommentMergeRequest(ctx, runsProject, mr.IID, dev, "/hoist plan web api")
	if err != nil {
		t.Fatal(err)
	}
	h.waitEmoji(both.ID, "eyes", "white_check_mark")
	if reply := h.waitReply(mr.IID, both.ID); !strings.Contains(reply.Body,
		"`/hoist plan` of api needs maintainer access to the project; @dev has developer") {
		t.Errorf("reply to a plan of web and api: %q", reply.Body)
	}
	apptest.Eventually(t, 30*time.Second, "a second proposed run of web", func() bool { return proposed("web") == 2 })

	// Help answers with the list and a check mark.
	help, err := h.Sim.CommentMergeRequest(ctx, runsProject, mr.IID, dev, "/HOIST help")
	if err != nil {
		t.Fatal(err)
	}
	h.waitEmoji(help.ID, "eyes", "white_check_mark")
	if reply := h.waitReply(mr.IID, help.ID); !strings.Contains(reply.Body, "/hoist plan [stack…]") {
		t.Errorf("help reply %q", reply.Body)
	}

	// Comments that make nothing: the integration user's own, a commit's,
	// an issue's; and the plan comment processed again by Hoist.
	own, err := h.Sim.CommentMergeRequest(ctx, runsProject, mr.IID, h.SimUser.ID, "/hoist plan")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.CommentCommit(ctx, runsProject, sha, dev, "/hoist plan"); err != nil {
		t.Fatal(err)
	}
	issue, err := h.Sim.CreateIssue(ctx, gitlabsim.IssueOptions{Project: runsProject, Title: "Question"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.CommentIssue(ctx, runsProject, issue.IID, dev, "/hoist plan"); err != nil {
		t.Fatal(err)
	}
	d := h.deliveryOf("/hoist plan api")
	h.Must(http.StatusAccepted, "POST", "/api/v1/deliveries/"+d+"/redeliver", h.AdminKey, nil)
	apptest.Eventually(t, 30*time.Second, "the second processing of the plan comment", func() error {
		var full api.Delivery
		h.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+d, h.AdminKey, nil).Decode(t, &full)
		if full.Status != "ignored" || full.Result == nil || !strings.Contains(full.Result.Summary, "acted on already") {
			return fmt.Errorf("delivery %s: %s %+v", d, full.Status, full.Result)
		}
		return nil
	})
	if err := h.Sim.WaitHooks(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitDeliveriesDone()
	if got := proposed("api"); got != 2 {
		t.Errorf("api has %d proposed runs at the head, want 2 (the comment acted on once)", got)
	}
	if got := proposed("web"); got != 2 {
		t.Errorf("web has %d proposed runs at the head, want 2", got)
	}
	if got, err := h.Sim.AwardEmoji(runsProject, own.ID); err != nil || len(got) != 0 {
		t.Errorf("the integration user's own comment got emoji %+v, %v", got, err)
	}

	// One Hoist note per stack on the merge request, besides the replies.
	notes, err := h.Sim.Notes(runsProject, mr.IID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"web", "api"} {
		n := 0
		for _, note := range notes {
			if strings.Contains(note.Body, "<!-- hoist:stack="+st+" -->") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("stack %s has %d notes on !%d, want 1", st, n, mr.IID)
		}
	}
}

// commentsHook adds a hook of Hoist's with only the Comments trigger (the
// set-up's hook has none).
func (h *harness) commentsHook() {
	h.t.Helper()
	hooks, err := h.Sim.Hooks(runsProject)
	if err != nil || len(hooks) != 1 {
		h.t.Fatalf("hooks %+v, %v", hooks, err)
	}
	no := false
	if _, err := h.Sim.AddHook(h.t.Context(), runsProject, gitlabsim.HookOptions{URL: hooks[0].URL, Token: hooks[0].Token,
		PushEvents: &no, NoteEvents: true}); err != nil {
		h.t.Fatal(err)
	}
}

// comment writes a comment on a merge request as user and returns it.
func (h *harness) comment(iid, user int, body string) gitlabsim.Note {
	h.t.Helper()
	n, err := h.Sim.CommentMergeRequest(h.t.Context(), runsProject, iid, user, body)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// stackLock is a stack's merge request lock as the API shows it (nil:
// none).
func (h *harness) stackLock(id string) *api.StackMRLock {
	h.t.Helper()
	var st api.Stack
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/"+id, h.AdminKey, nil).Decode(h.t, &st)
	return st.MRLock
}

// Issue 18, apply before merge: a Developer's /hoist apply is refused
// (access); a Maintainer's applies the merge request's head at once and
// locks the stack to it; another merge request's apply is refused with a
// link to the first; a push to the tracked branch queues behind the lock;
// merging releases it and the queued run goes on; /hoist unlock releases
// a lock by hand.
func TestMergeRequestApplyBeforeMerge(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	h.commentsHook()
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"mr_apply": true})
	dev, mia := h.simUser("dev", gitlabsim.Developer), h.simUser("mia", gitlabsim.Maintainer)

	sha1 := h.push("feature-1", map[string]string{"infra/main.tf": infraTF("one")})
	mr1, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature-1", Title: "One"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", sha1, "PROPOSED").ID, "FINISHED")
	refused := h.comment(mr1.IID, dev, "/hoist apply")
	h.waitEmoji(refused.ID, "eyes", "x")
	if reply := h.waitReply(mr1.IID, refused.ID); !strings.Contains(reply.Body,
		"`/hoist apply` of web needs maintainer access to the project; @dev has developer") {
		t.Errorf("reply to a Developer's apply: %q", reply.Body)
	}

	applied := h.comment(mr1.IID, mia, "/hoist apply")
	r := h.waitRun(h.waitRunAt("web", sha1, "TRACKED").ID, "FINISHED", func(r api.Run) bool { return isTerminal(r.State) })
	if r.State != "FINISHED" || r.MergeRequestIID != int64(mr1.IID) || strings.Contains(states(r), "UNCONFIRMED") {
		t.Fatalf("the apply run: %s, !%d, history %s (%s)", r.State, r.MergeRequestIID, states(r), r.Error)
	}
	h.waitEmoji(applied.ID, "eyes", "white_check_mark")
	if l := h.stackLock("web"); l == nil || l.MergeRequestIID != int64(mr1.IID) || l.LockedBy != "mia" {
		t.Fatalf("lock after the apply: %+v", l)
	}

	// Another merge request cannot apply the stack meanwhile.
	sha2 := h.push("feature-2", map[string]string{"infra/main.tf": infraTF("two")})
	mr2, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature-2", Title: "Two"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", sha2, "PROPOSED").ID, "FINISHED")
	other := h.comment(mr2.IID, mia, "/hoist apply")
	h.waitEmoji(other.ID, "eyes", "x")
	if reply := h.waitReply(mr2.IID, other.ID); !strings.Contains(reply.Body,
		fmt.Sprintf("web is locked by !%d", mr1.IID)) {
		t.Errorf("reply to the second merge request's apply: %q", reply.Body)
	}

	// A push to the tracked branch waits for the lock.
	// (Another file than the merge request's, so that it still merges.)
	shaMain := h.pushCommit("main", "Extra", gitlabsim.FileAction{Action: "create", Path: "infra/extra.tf",
		Content: `output "extra" { value = "x" }` + "\n"})
	pushed := h.waitRunAt("web", shaMain, "TRACKED")
	// The scheduler records who blocks the run on its first pass over it,
	// however late that comes on a loaded machine; a few passes later the
	// run must still wait.
	h.waitRun(pushed.ID, "blocked", func(p api.Run) bool { return p.State != "QUEUED" || p.BlockedBy != "" })
	time.Sleep(time.Second) // a few more scheduling passes
	if got := h.getRun(pushed.ID); got.State != "QUEUED" || got.BlockedBy != r.ID {
		t.Fatalf("a push to main while !%d holds web: %s, blocked by %q", mr1.IID, got.State, got.BlockedBy)
	}

	// Merging releases the lock; the queued run goes on.
	if _, err := h.Sim.MergeMergeRequest(ctx, runsProject, mr1.IID, mia); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 30*time.Second, "the lock released by the merge", func() bool { return h.stackLock("web") == nil })
	h.waitRun(pushed.ID, "past QUEUED", func(r api.Run) bool { return r.State != "QUEUED" && r.State != "READY" })

	// /hoist unlock releases a lock by hand: the second merge request
	// applies, then unlocks.
	again := h.comment(mr2.IID, mia, "/hoist apply")
	h.waitEmoji(again.ID, "eyes", "white_check_mark")
	apptest.Eventually(t, 30*time.Second, "web locked by the second merge request", func() bool {
		l := h.stackLock("web")
		return l != nil && l.MergeRequestIID == int64(mr2.IID)
	})
	unlock := h.comment(mr2.IID, mia, "/hoist unlock")
	h.waitEmoji(unlock.ID, "eyes", "white_check_mark")
	apptest.Eventually(t, 30*time.Second, "the lock released by /hoist unlock", func() bool { return h.stackLock("web") == nil })
}

// waitEmoji waits until note noteID carries exactly the emoji want (in any
// order: each is a write of its own), all by the integration's user.
func (h *harness) waitEmoji(noteID int, want ...string) {
	h.t.Helper()
	apptest.Eventually(h.t, 30*time.Second, fmt.Sprintf("emoji %v on note %d", want, noteID), func() error {
		got, err := h.Sim.AwardEmoji(runsProject, noteID)
		if err != nil {
			return err
		}
		var names []string
		for _, a := range got {
			if a.UserID != h.SimUser.ID {
				return fmt.Errorf("emoji %s by user %d", a.Name, a.UserID)
			}
			names = append(names, a.Name)
		}
		slices.Sort(names)
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(names, w) {
			return fmt.Errorf("emoji %v", names)
		}
		return nil
	})
}

// waitReply waits for Hoist's one reply to the command note noteID.
func (h *harness) waitReply(iid, noteID int) gitlabsim.Note {
	h.t.Helper()
	return h.waitNote(iid, fmt.Sprintf("<!-- hoist:reply=%d -->", noteID))
}

// waitNote waits for a note of the merge request holding marker.
func (h *harness) waitNote(iid int, marker string) gitlabsim.Note {
	h.t.Helper()
	var found gitlabsim.Note
	apptest.Eventually(h.t, 30*time.Second, "a note with "+marker, func() error {
		notes, err := h.Sim.Notes(runsProject, iid)
		if err != nil {
			return err
		}
		n := 0
		for _, note := range notes {
			if strings.Contains(note.Body, marker) {
				found = note
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d notes with %s", n, marker)
		}
		return nil
	})
	return found
}

// deliveryOf finds the stored delivery of the comment whose text holds
// needle.
func (h *harness) deliveryOf(needle string) string {
	h.t.Helper()
	var id string
	apptest.Eventually(h.t, 30*time.Second, "the delivery of the comment "+needle, func() error {
		var page api.Page[api.Delivery]
		h.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=100", h.AdminKey, nil).Decode(h.t, &page)
		for _, d := range page.Items {
			if d.Event != "Note Hook" {
				continue
			}
			var full api.Delivery
			h.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+d.ID, h.AdminKey, nil).Decode(h.t, &full)
			if strings.Contains(string(full.Body), needle) {
				id = d.ID
				return nil
			}
		}
		return fmt.Errorf("no delivery of the comment %s", needle)
	})
	return id
}

// waitDeliveriesDone waits until no delivery is waiting to be processed.
func (h *harness) waitDeliveriesDone() {
	h.t.Helper()
	apptest.Eventually(h.t, 30*time.Second, "every delivery processed", func() error {
		var page api.Page[api.Delivery]
		h.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=200", h.AdminKey, nil).Decode(h.t, &page)
		for _, d := range page.Items {
			if d.Status == "received" || d.Status == "processing" {
				return fmt.Errorf("delivery %s is %s", d.ID, d.Status)
			}
		}
		return nil
	})
}

// deliverySummaries lists the latest deliveries' status and result, for
// failure messages.
func (h *harness) deliverySummaries() string {
	var page api.Page[api.Delivery]
	h.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=20", h.AdminKey, nil).Decode(h.t, &page)
	var out []string
	for _, d := range page.Items {
		line := d.Event + " " + d.Status
		if d.Result != nil {
			line += ": " + d.Result.Summary
		}
		if d.Error != "" {
			line += " (" + d.Error + ")"
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

// Issue 18's apply requirements: a stack requiring approved, mergeable and
// undiverged refuses `/hoist apply` on a merge request that is not
// approved, whose CI job is still pending and whose target branch moved
// on, naming each; a merge request meeting them (its only commit status
// Hoist's own) applies.
func TestMergeRequestApplyRequirements(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	h.commentsHook()
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"mr_apply": true,
		"apply_requirements": []string{"undiverged", "Approved", "mergeable"}})
	var st api.Stack
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web", h.AdminKey, nil).Decode(t, &st)
	if want := []string{"approved", "mergeable", "undiverged"}; !slices.Equal(st.ApplyRequirements, want) {
		t.Fatalf("apply_requirements = %q, want %q (ordered, lower case)", st.ApplyRequirements, want)
	}
	if _, msg, field := h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/web", h.AdminKey,
		map[string]any{"apply_requirements": []string{"green"}}).APIError(t); field != "apply_requirements" ||
		!strings.Contains(msg, `must be among approved, mergeable and undiverged, got "green"`) {
		t.Errorf("an unknown requirement: %s: %s", field, msg)
	}
	one, two := 1, true
	if _, err := h.Sim.SetProjectSettings(ctx, runsProject, gitlabsim.ProjectSettings{ApprovalsRequired: &one,
		OnlyAllowMergeIfPipelineSucceeds: &two}); err != nil {
		t.Fatal(err)
	}
	mia, bob := h.simUser("mia", gitlabsim.Maintainer), h.simUser("bob", gitlabsim.Developer)

	// !1: not approved, a CI job pending, and main moves on after it.
	sha1 := h.push("feature-1", map[string]string{"infra/main.tf": infraTF("one")})
	mr1, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature-1", Title: "One"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", sha1, "PROPOSED").ID, "FINISHED")
	h.simStatus(sha1, "feature-1", "unit-tests", "pending")
	h.pushCommit("main", "Extra", gitlabsim.FileAction{Action: "create", Path: "docs/extra.md", Content: "x\n"})
	refused := h.comment(mr1.IID, mia, "/hoist apply")
	h.waitEmoji(refused.ID, "eyes", "x")
	reply := h.waitReply(mr1.IID, refused.ID).Body
	for _, want := range []string{"web: apply requirements not met", "`approved`: GitLab says it needs 1 more approval(s)",
		"`mergeable`: the pipeline must succeed: `unit-tests` is pending", "`undiverged`: `main` has 1 commit(s)"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply to an apply of an unready merge request lacks %q:\n%s", want, reply)
		}
	}
	for _, r := range h.runsOf("web") {
		if r.Type == "TRACKED" {
			t.Errorf("a refused apply made a run: %s at %s", r.ID, r.CommitSHA)
		}
	}

	// !2 from the new main: approved by bob, its only status Hoist's own.
	sha2 := h.push("feature-2", map[string]string{"infra/main.tf": infraTF("two")})
	mr2, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature-2", Title: "Two"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", sha2, "PROPOSED").ID, "FINISHED")
	early := h.comment(mr2.IID, mia, "/hoist apply")
	h.waitEmoji(early.ID, "eyes", "x")
	if reply := h.waitReply(mr2.IID, early.ID).Body; !strings.Contains(reply, "`approved`") || strings.Contains(reply, "`undiverged`") {
		t.Errorf("reply to an apply before approval: %s", reply)
	}
	if _, err := h.Sim.ApproveMergeRequest(ctx, runsProject, mr2.IID, bob, ""); err != nil {
		t.Fatal(err)
	}
	applied := h.comment(mr2.IID, mia, "/hoist apply")
	h.waitEmoji(applied.ID, "eyes", "white_check_mark")
	r := h.waitRun(h.waitRunAt("web", sha2, "TRACKED").ID, "FINISHED", func(r api.Run) bool { return isTerminal(r.State) })
	if r.State != "FINISHED" {
		t.Fatalf("the apply after approval: %s (%s), history %s", r.State, r.Error, states(r))
	}
}

// simStatus posts a commit status as the simulator's user, as a CI job
// would.
func (h *harness) simStatus(sha, ref, name, state string) {
	h.t.Helper()
	tok := h.Token(gitlabsim.TokenOptions{Name: "ci-" + name})
	form := url.Values{"state": {state}, "name": {name}, "ref": {ref}}
	req, err := http.NewRequestWithContext(h.t.Context(), "POST",
		h.SimURL+"/api/v4/projects/"+url.PathEscape(runsProject)+"/statuses/"+sha, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("PRIVATE-TOKEN", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		h.t.Fatalf("status %s on %s: %s", name, sha, resp.Status)
	}
}

// Issue 18: a merge request that applied before its merge and then got
// another commit is merged without applying it again: the tracked
// branch's run on the merge commit still plans changes, and the stack's
// note on the merge request says so (the same, single note).
func TestMergeRequestChangesLeftAfterMerge(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	h.commentsHook()
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"mr_apply": true})
	mia := h.simUser("mia", gitlabsim.Maintainer)

	sha1 := h.push("feature-1", map[string]string{"infra/main.tf": infraTF("one")})
	mr, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature-1", Title: "One"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", sha1, "PROPOSED").ID, "FINISHED")
	applied := h.comment(mr.IID, mia, "/hoist apply")
	h.waitEmoji(applied.ID, "eyes", "white_check_mark")
	h.waitState(h.waitRunAt("web", sha1, "TRACKED").ID, "FINISHED")
	// The note follows the run: wait until it shows the apply.
	apptest.Eventually(t, 30*time.Second, "the note after /hoist apply", func() error {
		note := h.waitNote(mr.IID, "<!-- hoist:stack=web -->")
		if !strings.Contains(note.Body, "Applied: 1 added, 0 changed, 0 destroyed") || !strings.Contains(note.Body, "1 added</summary>") ||
			!strings.Contains(note.Body, "locked to this merge request") {
			return fmt.Errorf("note:\n%s", note.Body)
		}
		return nil
	})

	// Another commit, merged without applying it.
	sha2 := h.push("feature-1", map[string]string{"infra/main.tf": infraTF("two")})
	h.waitState(h.waitRunAt("web", sha2, "PROPOSED").ID, "FINISHED")
	merged, err := h.Sim.MergeMergeRequest(ctx, runsProject, mr.IID, mia)
	if err != nil {
		t.Fatal(err)
	}
	after := h.waitRun(h.waitRunAt("web", merged.MergeCommitSHA, "TRACKED").ID, "planned",
		func(r api.Run) bool { return r.State == "UNCONFIRMED" || isTerminal(r.State) })
	if after.State != "UNCONFIRMED" || after.Delta.Change != 1 {
		t.Fatalf("the tracked run after the merge: %s %+v (%s)", after.State, after.Delta, after.Error)
	}
	apptest.Eventually(t, 30*time.Second, "the note saying changes are left", func() error {
		n := h.waitNote(mr.IID, "<!-- hoist:stack=web -->")
		for _, want := range []string{"merged, but the tracked branch still has changes", "still plans +0 ~1 -0", after.ID,
			"terraform_data.hello"} {
			if !strings.Contains(n.Body, want) {
				return fmt.Errorf("note lacks %q:\n%s", want, n.Body)
			}
		}
		return nil
	})
}

// Issue 18's automerge: a merge request changing two stacks with
// mr_automerge is not merged after the first one's `/hoist apply`, and is
// merged by Hoist (at the applied head) once the second has applied; the
// stacks' notes say Hoist merged it and that nothing was left to change.
func TestMergeRequestAutomerge(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	ctx := t.Context()
	h.commentsHook()
	if _, msg, field := h.Must(http.StatusBadRequest, "PATCH", "/api/v1/stacks/web", h.AdminKey,
		map[string]any{"mr_automerge": true}).APIError(t); field != "mr_automerge" || !strings.Contains(msg, "needs mr_apply") {
		t.Errorf("automerge without mr_apply: %s: %s", field, msg)
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"mr_apply": true, "mr_automerge": true})
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "extra", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "extra", "mr_apply": true, "mr_automerge": true})
	mia := h.simUser("mia", gitlabsim.Maintainer)

	head := h.pushCommit("feature", "Both", gitlabsim.FileAction{Action: "update", Path: "infra/main.tf", Content: infraTF("two")},
		gitlabsim.FileAction{Action: "create", Path: "extra/main.tf", Content: infraTF("extra")})
	mr, err := h.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature", Title: "Both"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitState(h.waitRunAt("web", head, "PROPOSED").ID, "FINISHED")
	h.waitState(h.waitRunAt("extra", head, "PROPOSED").ID, "FINISHED")

	first := h.comment(mr.IID, mia, "/hoist apply web")
	h.waitEmoji(first.ID, "eyes", "white_check_mark")
	h.waitState(h.waitRunAt("web", head, "TRACKED").ID, "FINISHED")
	time.Sleep(time.Second) // the dispatcher's passes: no merge may be on its way
	if m, err := h.Sim.MergeRequest(runsProject, mr.IID); err != nil || m.State != "opened" {
		t.Fatalf("after one of two stacks applied: %+v, %v; want it open", m.State, err)
	}

	second := h.comment(mr.IID, mia, "/hoist apply extra")
	h.waitEmoji(second.ID, "eyes", "white_check_mark")
	h.waitState(h.waitRunAt("extra", head, "TRACKED").ID, "FINISHED")
	var merged gitlabsim.MergeRequest
	apptest.Eventually(t, 30*time.Second, "the merge request merged by Hoist", func() error {
		m, err := h.Sim.MergeRequest(runsProject, mr.IID)
		if err != nil || m.State != "merged" {
			return fmt.Errorf("state %s, %v", m.State, err)
		}
		merged = m
		return nil
	})
	if merged.MergedByID != h.SimUser.ID {
		t.Errorf("merged by user %d, want the integration's %d", merged.MergedByID, h.SimUser.ID)
	}
	for _, stack := range []string{"web", "extra"} {
		h.waitState(h.waitRunAt(stack, merged.MergeCommitSHA, "TRACKED").ID, "FINISHED")
		apptest.Eventually(t, 30*time.Second, stack+"'s note after the automerge", func() error {
			n := h.waitNote(mr.IID, "<!-- hoist:stack="+stack+" -->")
			if !strings.Contains(n.Body, "**Merged by Hoist** (automerge") || !strings.Contains(n.Body, "merged: no changes left") {
				return fmt.Errorf("note:\n%s", n.Body)
			}
			return nil
		})
	}
}
