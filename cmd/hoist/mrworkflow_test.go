package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// mrTF is a stack's code: one terraform_data whose input changes with
// greeting.
func mrTF(greeting string) string {
	return `resource "terraform_data" "hello" { input = "` + greeting + `" }` + "\n"
}

// TestMergeRequestWorkflowBinary is issue 18's acceptance 1 through the
// real binary and the simulator's real webhooks: a merge request touching
// two stacks; a Developer's `/hoist plan app` replans only app; a
// Developer's `/hoist apply` is refused (access); a Maintainer's before
// approval is refused naming `approved`; after an approval it applies both
// stacks, which are then locked; a second merge request's apply is refused
// with a link to the first; merging releases the locks and the tracked
// runs after the merge show no changes (the note says so). The merge
// request ends with exactly one Hoist note per stack and the emoji on each
// command note.
func TestMergeRequestWorkflowBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary and OpenTofu")
	}
	t.Parallel()
	tofu := apptest.Tofu(t)
	ctx := t.Context()
	sim, simURL := apptest.StartGitLab(t)
	const project = "acme/infra"
	token := infraProject(t, sim, gitlabsim.UserOptions{Username: "hoist-bot"},
		map[string]string{"app/main.tf": mrTF("app 1"), "db/main.tf": mrTF("db 1"), "README.md": "# infra\n"})
	user := func(name string, level int) int {
		u, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Project: project, UserID: u.ID, AccessLevel: level}); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	dev, mia, bob := user("dev", gitlabsim.Developer), user("mia", gitlabsim.Maintainer), user("bob", gitlabsim.Developer)
	one := 1
	if _, err := sim.SetProjectSettings(ctx, project, gitlabsim.ProjectSettings{ApprovalsRequired: &one}); err != nil {
		t.Fatal(err)
	}

	dataDir := t.TempDir()
	env := append(os.Environ(), "PATH="+filepath.Dir(tofu)+string(os.PathListSeparator)+os.Getenv("PATH"))
	srv := startBinary(t, dataDir, env, "--worker-slots", "2")
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	var it api.Integration
	srv.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": simURL, "token": token}).Decode(t, &it)
	yes := true
	if _, err := sim.AddHook(ctx, project, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret, PushEvents: &yes,
		MergeRequestsEvents: true, NoteEvents: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app", "db"} {
		srv.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": name, "space": "root",
			"repository": project, "branch": "main", "project_root": name, "mr_apply": true, "apply_requirements": []string{"approved"}})
	}

	runs := func(stack string) []api.Run {
		var page api.Page[api.Run]
		srv.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/runs?limit=100", key, nil).Decode(t, &page)
		return page.Items
	}
	// waitRuns waits until stack has n runs of type typ at sha, all in a
	// terminal state, and returns them.
	waitRuns := func(stack, sha, typ string, n int) []api.Run {
		t.Helper()
		var got []api.Run
		apptest.Eventually(t, 3*time.Minute, fmt.Sprintf("%d finished %s run(s) of %s at %.8s", n, typ, stack, sha), func() error {
			got = got[:0]
			for _, r := range runs(stack) {
				if r.CommitSHA == sha && r.Type == typ {
					if !slices.Contains([]string{"FINISHED", "FAILED", "DISCARDED", "CANCELED", "STOPPED", "SKIPPED"}, r.State) {
						return fmt.Errorf("run %s is %s", r.ID, r.State)
					}
					got = append(got, r)
				}
			}
			if len(got) != n {
				return fmt.Errorf("%d runs", len(got))
			}
			return nil
		})
		return got
	}
	push := func(branch string, files map[string]string) string {
		t.Helper()
		var actions []gitlabsim.FileAction
		for path, content := range files {
			actions = append(actions, gitlabsim.FileAction{Action: "update", Path: path, Content: content})
		}
		res, err := sim.Push(ctx, gitlabsim.PushOptions{Project: project, Branch: branch,
			Commits: []gitlabsim.CommitSpec{{Message: "change " + branch, Actions: actions}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.After
	}
	comment := func(iid, user int, body string) gitlabsim.Note {
		t.Helper()
		n, err := sim.CommentMergeRequest(ctx, project, iid, user, body)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	emoji := func(noteID int, want ...string) {
		t.Helper()
		apptest.Eventually(t, time.Minute, fmt.Sprintf("emoji %v on note %d", want, noteID), func() error {
			got, err := sim.AwardEmoji(project, noteID)
			if err != nil {
				return err
			}
			var names []string
			for _, a := range got {
				names = append(names, a.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, slices.Sorted(slices.Values(want))) {
				return fmt.Errorf("emoji %v", names)
			}
			return nil
		})
	}
	notesWith := func(iid int, marker string) []gitlabsim.Note {
		notes, err := sim.Notes(project, iid)
		if err != nil {
			t.Fatal(err)
		}
		var out []gitlabsim.Note
		for _, n := range notes {
			if strings.Contains(n.Body, marker) {
				out = append(out, n)
			}
		}
		return out
	}
	reply := func(iid, noteID int) string {
		t.Helper()
		var body string
		apptest.Eventually(t, time.Minute, fmt.Sprintf("the reply to note %d", noteID), func() error {
			ns := notesWith(iid, fmt.Sprintf("<!-- hoist:reply=%d -->", noteID))
			if len(ns) != 1 {
				return fmt.Errorf("%d replies", len(ns))
			}
			body = ns[0].Body
			return nil
		})
		return body
	}
	lock := func(stack string) *api.StackMRLock {
		var st api.Stack
		srv.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack, key, nil).Decode(t, &st)
		return st.MRLock
	}

	// !1 touches both stacks: one proposed run each.
	head := push("feature", map[string]string{"app/main.tf": mrTF("app 2"), "db/main.tf": mrTF("db 2")})
	mr1, err := sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: project, SourceBranch: "feature", Title: "Both"})
	if err != nil {
		t.Fatal(err)
	}
	waitRuns("app", head, "PROPOSED", 1)
	waitRuns("db", head, "PROPOSED", 1)

	// A Developer's /hoist plan app replans app only.
	var commands []gitlabsim.Note
	plan := comment(mr1.IID, dev, "/hoist plan app")
	commands = append(commands, plan)
	emoji(plan.ID, "eyes", "white_check_mark")
	waitRuns("app", head, "PROPOSED", 2)
	if rs := waitRuns("db", head, "PROPOSED", 1); len(rs) != 1 {
		t.Errorf("db was replanned by /hoist plan app")
	}

	// A Developer may not apply.
	devApply := comment(mr1.IID, dev, "/hoist apply")
	commands = append(commands, devApply)
	emoji(devApply.ID, "eyes", "x")
	if r := reply(mr1.IID, devApply.ID); !strings.Contains(r, "needs maintainer access to the project; @dev has developer") {
		t.Errorf("reply to a Developer's apply: %s", r)
	}

	// A Maintainer, before approval: refused naming `approved`.
	early := comment(mr1.IID, mia, "/hoist apply")
	commands = append(commands, early)
	emoji(early.ID, "eyes", "x")
	if r := reply(mr1.IID, early.ID); !strings.Contains(r, "app: apply requirements not met: `approved`") ||
		!strings.Contains(r, "db: apply requirements not met: `approved`") {
		t.Errorf("reply to an apply before approval: %s", r)
	}

	// Approved: the apply runs both stacks and locks them.
	if _, err := sim.ApproveMergeRequest(ctx, project, mr1.IID, bob, ""); err != nil {
		t.Fatal(err)
	}
	applied := comment(mr1.IID, mia, "/hoist apply")
	commands = append(commands, applied)
	emoji(applied.ID, "eyes", "white_check_mark")
	for _, stack := range []string{"app", "db"} {
		r := waitRuns(stack, head, "TRACKED", 1)[0]
		if r.State != "FINISHED" || r.Delta.Change+r.Delta.Add == 0 {
			t.Fatalf("%s's apply: %s %+v (%s)", stack, r.State, r.Delta, r.Error)
		}
		if l := lock(stack); l == nil || l.MergeRequestIID != int64(mr1.IID) {
			t.Fatalf("%s's lock after the apply: %+v", stack, l)
		}
	}

	// !2 cannot apply app while !1 holds it.
	head2 := push("other", map[string]string{"app/main.tf": mrTF("app 3")})
	mr2, err := sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: project, SourceBranch: "other", Title: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	waitRuns("app", head2, "PROPOSED", 1)
	other := comment(mr2.IID, mia, "/hoist apply app")
	emoji(other.ID, "eyes", "x")
	if r := reply(mr2.IID, other.ID); !strings.Contains(r, fmt.Sprintf("app is locked by !%d %s", mr1.IID, mr1URL(simURL, project, mr1.IID))) {
		t.Errorf("reply to the second merge request's apply: %s", r)
	}

	// Merging releases the locks; the tracked runs on the merge commit
	// find nothing left to change, and the notes say so.
	merged, err := sim.MergeMergeRequest(ctx, project, mr1.IID, mia)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, time.Minute, "the locks released by the merge", func() bool { return lock("app") == nil && lock("db") == nil })
	for _, stack := range []string{"app", "db"} {
		r := waitRuns(stack, merged.MergeCommitSHA, "TRACKED", 1)[0]
		if r.State != "FINISHED" || r.Delta.Add+r.Delta.Change+r.Delta.Destroy != 0 {
			t.Errorf("%s's tracked run after the merge: %s %+v (%s)", stack, r.State, r.Delta, r.Error)
		}
		marker := "<!-- hoist:stack=" + stack + " -->"
		apptest.Eventually(t, time.Minute, stack+"'s note saying the merge left nothing to change", func() error {
			ns := notesWith(mr1.IID, marker)
			if len(ns) != 1 {
				return fmt.Errorf("%d notes of %s", len(ns), stack)
			}
			if !strings.Contains(ns[0].Body, "merged: no changes left") {
				return fmt.Errorf("note: %s", ns[0].Body)
			}
			return nil
		})
	}
	for _, n := range commands {
		got, err := sim.AwardEmoji(project, n.ID)
		if err != nil || len(got) != 2 {
			t.Errorf("command note %d (%q) has emoji %+v, %v; want eyes and a verdict", n.ID, n.Body, got, err)
		}
	}
}

// mr1URL is a merge request's web URL in the simulator.
func mr1URL(simURL, project string, iid int) string {
	return fmt.Sprintf("%s/%s/-/merge_requests/%d", strings.TrimRight(simURL, "/"), project, iid)
}
