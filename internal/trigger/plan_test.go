package trigger

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/vcs"
)

// repoStacks are the stacks of one repository: two rooted folders, one
// allowing forks.
func repoStacks() []Stack {
	return []Stack{
		{ID: "infra", Branch: "main", ProjectRoot: "infra"},
		{ID: "app", Branch: "main", ProjectRoot: "app"},
		{ID: "forky", Branch: "main", ProjectRoot: "infra", AllowForks: true},
	}
}

func plan(t *testing.T, req Request) Plan {
	t.Helper()
	if req.Matcher == nil {
		req.Matcher = NewMatcher(repoStacks())
	}
	p, err := PlanRuns(req)
	if err != nil {
		t.Fatalf("PlanRuns: %v", err)
	}
	if len(p.Stacks) != len(req.Matcher.Stacks()) {
		t.Fatalf("%d stack outcomes, want one per stack (%d)", len(p.Stacks), len(req.Matcher.Stacks()))
	}
	return p
}

func results(p Plan) map[string]Result {
	m := map[string]Result{}
	for _, o := range p.Stacks {
		m[o.StackID] = o.Result
	}
	return m
}

func TestPlanTrackedPush(t *testing.T) {
	t.Parallel()
	p := plan(t, Request{Event: push("main", sha2), ChangedFiles: []string{"infra/main.tf"}})
	want := []NewRun{
		{StackID: "infra", Type: RunTracked, SHA: sha2, Branch: "main", Trigger: vcs.KindPush, TriggeredBy: "jsmith",
			Reason: "push to tracked branch main touches infra/"},
		{StackID: "forky", Type: RunTracked, SHA: sha2, Branch: "main", Trigger: vcs.KindPush, TriggeredBy: "jsmith",
			Reason: "push to tracked branch main touches infra/"},
	}
	if !reflect.DeepEqual(p.Create, want) {
		t.Errorf("Create = %+v\nwant %+v", p.Create, want)
	}
	moves := []TrackedCommitMove{{StackID: "infra", SHA: sha2}, {StackID: "forky", SHA: sha2}}
	if !reflect.DeepEqual(p.MoveTrackedCommit, moves) {
		t.Errorf("MoveTrackedCommit = %+v, want %+v", p.MoveTrackedCommit, moves)
	}
	app := p.Stacks[1]
	if app.StackID != "app" || app.Result != ResultSkipped || app.Decision.Reason != "push to main does not touch app/" {
		t.Errorf("app outcome = %+v", app)
	}
	if len(p.Cancel) != 0 || len(p.Attach) != 0 {
		t.Errorf("unexpected cancels %v or attachments %v", p.Cancel, p.Attach)
	}
}

// TestPlanDedupeAttachesMergeRequest: push first, MR event second for the
// same commit: one run, linked to the MR.
func TestPlanDedupeAttachesMergeRequest(t *testing.T) {
	t.Parallel()
	files := []string{"infra/main.tf"}
	first := plan(t, Request{Event: push("feature-x", sha2), ChangedFiles: files})
	if len(first.Create) != 2 || first.Create[0].MergeRequest != nil {
		t.Fatalf("push created %+v, want two proposed runs without MR", first.Create)
	}
	existing := []ExistingRun{
		{ID: "r-infra", StackID: "infra", Type: RunProposed, SHA: sha2, Branch: "feature-x", State: "QUEUED"},
		{ID: "r-forky", StackID: "forky", Type: RunProposed, SHA: sha2, Branch: "feature-x", State: "PLANNING"},
	}
	second := plan(t, Request{Event: mergeRequest(vcs.ActionOpen, "", false), ChangedFiles: files, Runs: existing})
	if len(second.Create) != 0 || len(second.Cancel) != 0 {
		t.Errorf("MR event created %+v and canceled %+v, want nothing", second.Create, second.Cancel)
	}
	ref := MergeRequestRef{IID: 7, URL: "https://gitlab.example/group/infra/-/merge_requests/7"}
	wantAttach := []Attachment{{RunID: "r-infra", StackID: "infra", MergeRequest: ref},
		{RunID: "r-forky", StackID: "forky", MergeRequest: ref}}
	if !reflect.DeepEqual(second.Attach, wantAttach) {
		t.Errorf("Attach = %+v, want %+v", second.Attach, wantAttach)
	}
	if o := second.Stacks[0]; o.Result != ResultDeduplicated || o.RunID != "r-infra" {
		t.Errorf("infra outcome = %+v, want deduplicated onto r-infra", o)
	}

	// MR first, push second: the run already has its MR; nothing to do.
	existing[0].MergeRequestIID, existing[1].MergeRequestIID = 7, 7
	third := plan(t, Request{Event: push("feature-x", sha2), ChangedFiles: files, Runs: existing})
	if len(third.Create)+len(third.Attach)+len(third.Cancel) != 0 {
		t.Errorf("push after MR planned %+v", third)
	}
}

// TestPlanRedeliveryCreatesNothing: a run at the SHA in any state, even
// finished, absorbs the event; the tracked commit does not move again.
func TestPlanRedeliveryCreatesNothing(t *testing.T) {
	t.Parallel()
	existing := []ExistingRun{
		{ID: "r1", StackID: "infra", Type: RunTracked, SHA: sha2, Branch: "main", State: "FINISHED"},
		{ID: "r2", StackID: "forky", Type: RunTracked, SHA: sha2, Branch: "main", State: "CANCELED"},
	}
	p := plan(t, Request{Event: push("main", sha2), ChangedFiles: []string{"infra/x.tf"}, Runs: existing})
	if len(p.Create)+len(p.MoveTrackedCommit)+len(p.Attach)+len(p.Cancel) != 0 {
		t.Errorf("redelivery planned %+v", p)
	}
	if got := results(p); got["infra"] != ResultDeduplicated || got["forky"] != ResultDeduplicated {
		t.Errorf("results = %v", got)
	}
}

func TestPlanNewerCommitCancelsOlderProposedRuns(t *testing.T) {
	t.Parallel()
	existing := []ExistingRun{
		{ID: "queued", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
		{ID: "planning", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "PLANNING"},
		{ID: "finished", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "FINISHED"},
		{ID: "other-branch", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-y", State: "QUEUED"},
		{ID: "tracked", StackID: "infra", Type: RunTracked, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
		// The push does not affect app, so app's older run stays: no new
		// run replaces it.
		{ID: "app-queued", StackID: "app", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
	}
	p := plan(t, Request{Event: push("feature-x", sha3), ChangedFiles: []string{"infra/main.tf"}, Runs: existing})
	var got []string
	for _, c := range p.Cancel {
		got = append(got, c.RunID)
		if c.Reason != "superseded by 33333333 on feature-x" {
			t.Errorf("cancel reason %q", c.Reason)
		}
	}
	if want := []string{"queued", "planning"}; !reflect.DeepEqual(got, want) {
		t.Errorf("canceled %v, want %v", got, want)
	}
}

func TestPlanBranchDeletionCancelsQueuedProposedRuns(t *testing.T) {
	t.Parallel()
	existing := []ExistingRun{
		{ID: "queued", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
		{ID: "ready", StackID: "app", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "READY"},
		{ID: "planning", StackID: "infra", Type: RunProposed, SHA: sha2, Branch: "feature-x", State: "PLANNING"},
		{ID: "other-branch", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "main", State: "QUEUED"},
		{ID: "tracked", StackID: "app", Type: RunTracked, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
	}
	p := plan(t, Request{Event: push("feature-x", zero), Runs: existing})
	want := []Cancellation{
		{RunID: "queued", StackID: "infra", Reason: "branch feature-x was deleted"},
		{RunID: "ready", StackID: "app", Reason: "branch feature-x was deleted"},
	}
	if !reflect.DeepEqual(p.Cancel, want) {
		t.Errorf("Cancel = %+v, want %+v", p.Cancel, want)
	}
	if len(p.Create) != 0 {
		t.Errorf("deletion created %+v", p.Create)
	}
	for _, o := range p.Stacks {
		if o.Result != ResultSkipped || o.Decision.Reason != "branch feature-x was deleted" {
			t.Errorf("outcome %+v", o)
		}
	}
}

// TestPlanForkMergeRequest: only the stack allowing forks runs, and the
// fork's update cancels the MR's older runs, not same-named local branches.
func TestPlanForkMergeRequest(t *testing.T) {
	t.Parallel()
	existing := []ExistingRun{
		{ID: "mr-old", StackID: "forky", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED", MergeRequestIID: 7},
		{ID: "local", StackID: "forky", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
	}
	p := plan(t, Request{Event: mergeRequest(vcs.ActionUpdate, sha1, true), ChangedFiles: []string{"infra/a.tf"}, Runs: existing})
	if len(p.Create) != 1 || p.Create[0].StackID != "forky" || p.Create[0].SHA != sha2 ||
		p.Create[0].MergeRequest == nil || p.Create[0].MergeRequest.IID != 7 || p.Create[0].Trigger != vcs.KindMergeRequest {
		t.Fatalf("Create = %+v, want one proposed run of forky on the MR head", p.Create)
	}
	if len(p.Cancel) != 1 || p.Cancel[0].RunID != "mr-old" {
		t.Errorf("Cancel = %+v, want only mr-old", p.Cancel)
	}
	if r := results(p); r["infra"] != ResultSkipped {
		t.Errorf("infra result %s, want skipped (forks not allowed)", r["infra"])
	}
}

func TestPlanRunCap(t *testing.T) {
	t.Parallel()
	files := []string{"infra/main.tf"} // affects infra and forky: two runs
	if _, err := PlanRuns(Request{Event: push("main", sha2), ChangedFiles: files,
		Matcher: NewMatcher(repoStacks()), RunCap: 2}); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
	p, err := PlanRuns(Request{Event: push("main", sha2), ChangedFiles: files,
		Matcher: NewMatcher(repoStacks()), RunCap: 1})
	if !errors.Is(err, ErrRunCap) || !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("err = %v, want invalid wrapping ErrRunCap", err)
	}
	want := "push to main would create 2 runs, more than the cap of 1 per event; no runs were created"
	if got := apperr.MessageOf(err); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if len(p.Create)+len(p.Cancel)+len(p.Attach)+len(p.MoveTrackedCommit) != 0 {
		t.Errorf("capped plan still acts: %+v", p)
	}
	if r := results(p); r["infra"] != ResultCapped || r["forky"] != ResultCapped || r["app"] != ResultSkipped {
		t.Errorf("results = %v", r)
	}
}

func TestPlanDefaultRunCap(t *testing.T) {
	t.Parallel()
	stacks := make([]Stack, DefaultRunCap+1)
	for i := range stacks {
		stacks[i] = Stack{ID: fmt.Sprint("stack-", i), Branch: "main"}
	}
	_, err := PlanRuns(Request{Event: push("main", sha2), ChangedFiles: []string{"x"}, Matcher: NewMatcher(stacks)})
	if !errors.Is(err, ErrRunCap) {
		t.Errorf("%d runs with the default cap: err = %v, want ErrRunCap", len(stacks), err)
	}
}

// TestPlanReplaceableDecider: the decision step is one function; a policy
// can ask for things Default never does, within what the event allows.
func TestPlanReplaceableDecider(t *testing.T) {
	t.Parallel()
	proposeAll := func(in Input, st Stack) Decision {
		return Decision{Run: RunProposed, Reason: "policy proposes everything"}
	}
	p := plan(t, Request{Event: push("main", sha2), ChangedFiles: []string{"README.md"}, Decide: proposeAll})
	if len(p.Create) != 3 || p.Create[1].Reason != "policy proposes everything" {
		t.Errorf("Create = %+v, want a proposed run per stack", p.Create)
	}
	// A deletion has no commit: whatever the policy says, nothing runs.
	p = plan(t, Request{Event: push("main", zero), Decide: proposeAll})
	if len(p.Create) != 0 || p.Stacks[0].Decision.Reason != "push to main has no commit to run" {
		t.Errorf("deletion under a proposing policy: %+v", p)
	}
	// Move the tracked commit without a run (Spacelift's notrigger).
	moveOnly := func(in Input, st Stack) Decision { return Decision{MoveTrackedCommit: true, Reason: "notrigger"} }
	p = plan(t, Request{Event: push("main", sha2), Decide: moveOnly})
	if len(p.Create) != 0 || len(p.MoveTrackedCommit) != 3 {
		t.Errorf("move-only policy planned %+v", p)
	}
}

func TestPlanIgnoresTagsAndIgnoredEvents(t *testing.T) {
	t.Parallel()
	for _, ev := range []*vcs.Event{
		{Kind: vcs.KindTag, Tag: "v1", Ref: "refs/tags/v1", After: sha2},
		{Kind: vcs.KindIgnored, Name: "Pipeline Hook"},
		{Kind: vcs.KindNote, MergeRequest: &vcs.MergeRequest{IID: 7, HeadSHA: sha2}, Note: &vcs.Note{}},
	} {
		p := plan(t, Request{Event: ev, ChangedFiles: []string{"infra/main.tf"}})
		if len(p.Create)+len(p.Cancel)+len(p.Attach)+len(p.MoveTrackedCommit) != 0 {
			t.Errorf("%s event planned %+v", ev.Kind, p)
		}
	}
}

// TestPlanReplanAtTheSameCommit: a decision with Replan (a `/hoist plan`
// comment) creates a run even where one of its type exists at the SHA,
// linked to the comment's merge request; without it, the run dedupes.
func TestPlanReplanAtTheSameCommit(t *testing.T) {
	t.Parallel()
	note := mergeRequest("", "", false)
	note.Kind, note.Name, note.Note = vcs.KindNote, "Note Hook", &vcs.Note{ID: 99, Body: "/hoist plan infra", Action: "create"}
	existing := []ExistingRun{{ID: "r1", StackID: "infra", Type: RunProposed, SHA: sha2, Branch: "feature-x", State: "FINISHED", MergeRequestIID: 7}}
	tests := []struct {
		name   string
		replan bool
		want   Result
	}{
		{"replan", true, ResultCreated},
		{"no replan", false, ResultDeduplicated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			decide := func(_ Input, st Stack) Decision {
				if st.ID != "infra" {
					return Decision{Reason: "not asked for"}
				}
				return Decision{Run: RunProposed, Replan: tt.replan, Reason: "/hoist plan"}
			}
			p := plan(t, Request{Event: note, ChangedFiles: []string{"infra/main.tf"}, Runs: existing, Decide: decide})
			if got := results(p)["infra"]; got != tt.want {
				t.Fatalf("infra: %s, want %s", got, tt.want)
			}
			if tt.replan && (len(p.Create) != 1 || p.Create[0].MergeRequest == nil || p.Create[0].MergeRequest.IID != 7 ||
				p.Create[0].Trigger != vcs.KindNote) {
				t.Fatalf("created %+v, want one run linked to !7", p.Create)
			}
			if len(p.Cancel) != 0 {
				t.Fatalf("a replan canceled %+v", p.Cancel)
			}
		})
	}
}

// TestRunStacks: planning reads the runs of the stacks decided to run (and
// of every stack when a branch is deleted), and planning with only those
// runs gives the plan PlanRuns gives with all of them.
func TestRunStacks(t *testing.T) {
	t.Parallel()
	existing := []ExistingRun{
		{ID: "infra-old", StackID: "infra", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "QUEUED"},
		{ID: "app-old", StackID: "app", Type: RunProposed, SHA: sha1, Branch: "feature-x", State: "READY"},
		{ID: "forky-at-head", StackID: "forky", Type: RunProposed, SHA: sha3, Branch: "feature-x", State: "FINISHED"},
		{ID: "app-tracked", StackID: "app", Type: RunTracked, SHA: sha2, Branch: "main", State: "QUEUED"},
	}
	tag := &vcs.Event{Kind: vcs.KindTag, Tag: "v1.0.0", Ref: "refs/tags/v1.0.0", After: sha2}
	for _, tc := range []struct {
		name  string
		ev    *vcs.Event
		files []string
		want  []string
	}{
		{"a push touching infra/", push("feature-x", sha3), []string{"infra/main.tf"}, []string{"infra", "forky"}},
		{"a push to the tracked branch touching app/", push("main", sha2), []string{"app/x.go"}, []string{"app"}},
		{"a push touching no stack", push("feature-x", sha3), []string{"README.md"}, nil},
		{"a branch deleted", push("feature-x", zero), nil, []string{"infra", "app", "forky"}},
		{"a merge request touching app/", mergeRequest(vcs.ActionOpen, "", false), []string{"app/x.go"}, []string{"app"}},
		{"a tag", tag, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Event: tc.ev, ChangedFiles: tc.files, Matcher: NewMatcher(repoStacks())}
			decided := Decide(req)
			got := decided.RunStacks()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("RunStacks = %v, want %v", got, tc.want)
			}
			need := map[string]bool{}
			for _, id := range got {
				need[id] = true
			}
			var some []ExistingRun
			for _, r := range existing {
				if need[r.StackID] {
					some = append(some, r)
				}
			}
			all := req
			all.Runs = existing
			want, wantErr := PlanRuns(all)
			req.Runs = some
			plan, err := PlanDecided(req, decided)
			if !reflect.DeepEqual(plan, want) || !errors.Is(err, wantErr) {
				t.Errorf("planned with the runs of %v:\n%+v, %v\nwith all runs:\n%+v, %v", got, plan, err, want, wantErr)
			}
		})
	}
}
