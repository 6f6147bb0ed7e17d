package trigger

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/vcs"
)

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
	sha3 = "3333333333333333333333333333333333333333"
	zero = "0000000000000000000000000000000000000000"
)

func push(branch, after string) *vcs.Event {
	return &vcs.Event{Kind: vcs.KindPush, Provider: "gitlab", Name: "Push Hook",
		Repository: "group/infra", Ref: "refs/heads/" + branch, Branch: branch,
		Before: sha1, After: after, Deleted: after == zero, Sender: vcs.User{ID: 4, Username: "jsmith"}}
}

func mergeRequest(action vcs.MergeRequestAction, oldrev string, fork bool) *vcs.Event {
	src := int64(14)
	if fork {
		src = 77
	}
	return &vcs.Event{Kind: vcs.KindMergeRequest, Provider: "gitlab", Name: "Merge Request Hook",
		Repository: "group/infra", Sender: vcs.User{ID: 5, Username: "ana"},
		MergeRequest: &vcs.MergeRequest{IID: 7, Action: action, State: "opened",
			SourceBranch: "feature-x", TargetBranch: "main", SourceProjectID: src, TargetProjectID: 14,
			Fork: fork, HeadSHA: sha2, OldRev: oldrev, URL: "https://gitlab.example/group/infra/-/merge_requests/7"}}
}

// TestDefault walks every rule of SPEC §4.2 for one stack.
func TestDefault(t *testing.T) {
	t.Parallel()
	infra := Stack{ID: "infra", Branch: "main", ProjectRoot: "infra", AdditionalGlobs: []string{"modules/**"}}
	forks := infra
	forks.AllowForks = true
	detached := infra
	detached.Detached = true
	tag := &vcs.Event{Kind: vcs.KindTag, Tag: "v1.0.0", Ref: "refs/tags/v1.0.0", After: sha2}
	note := &vcs.Event{Kind: vcs.KindNote, MergeRequest: &vcs.MergeRequest{IID: 7, HeadSHA: sha2}, Note: &vcs.Note{Body: "/hoist plan"}}
	pipeline := &vcs.Event{Kind: vcs.KindIgnored, Name: "Pipeline Hook"}
	touched := []string{"infra/main.tf"}
	tests := []struct {
		name     string
		ev       *vcs.Event
		st       Stack
		files    []string
		affected bool
		run      RunType
		move     bool
		reason   string
	}{
		{"push to tracked branch touching the stack", push("main", sha2), infra, touched, true, RunTracked, true,
			"push to tracked branch main touches infra/ or globs [modules/**]"},
		{"push to tracked branch missing the stack", push("main", sha2), infra, []string{"app/x.go"}, false, RunNone, false,
			"push to main does not touch infra/ or globs [modules/**]"},
		{"push to another branch touching the stack", push("feature-x", sha2), infra, touched, true, RunProposed, false,
			"push to feature-x touches infra/"},
		{"push to another branch missing the stack", push("feature-x", sha2), infra, []string{"app/x.go"}, false, RunNone, false,
			"push to feature-x does not touch infra/ or globs [modules/**]"},
		{"push changing no files", push("feature-x", sha2), infra, nil, false, RunNone, false,
			"push to feature-x changed no files"},
		{"branch deleted", push("feature-x", zero), infra, nil, false, RunNone, false, "branch feature-x was deleted"},
		{"tag push", tag, infra, touched, true, RunNone, false, "tag pushes do not trigger stack runs (tag v1.0.0)"},
		{"MR opened", mergeRequest(vcs.ActionOpen, "", false), infra, touched, true, RunProposed, false,
			"merge request !7 (open) touches infra/"},
		{"MR reopened", mergeRequest(vcs.ActionReopen, "", false), infra, touched, true, RunProposed, false,
			"merge request !7 (reopen) touches infra/"},
		{"MR updated with new commits", mergeRequest(vcs.ActionUpdate, sha1, false), infra, touched, true, RunProposed, false,
			"merge request !7 (update) touches infra/"},
		{"MR opened missing the stack", mergeRequest(vcs.ActionOpen, "", false), infra, []string{"app/x.go"}, false, RunNone, false,
			"merge request !7 does not touch infra/"},
		{"MR title edit", mergeRequest(vcs.ActionUpdate, "", false), infra, touched, true, RunNone, false,
			"merge request !7 was updated without new commits"},
		{"MR closed", mergeRequest(vcs.ActionClose, "", false), infra, touched, true, RunNone, false, "merge request !7 was closed"},
		{"MR merged", mergeRequest(vcs.ActionMerge, "", false), infra, touched, true, RunNone, false,
			"merge request !7 was merged; the push to main triggers tracked runs"},
		{"MR approved", mergeRequest(vcs.ActionApproved, "", false), infra, touched, true, RunNone, false,
			"approvals of merge request !7 do not trigger runs"},
		{"MR approval", mergeRequest(vcs.ActionApproval, "", false), infra, touched, true, RunNone, false, "approvals of"},
		{"MR unknown action", mergeRequest("teleport", "", false), infra, touched, true, RunNone, false,
			`merge request !7 action "teleport" does not trigger runs`},
		{"fork MR", mergeRequest(vcs.ActionOpen, "", true), infra, touched, true, RunNone, false,
			"merge request !7 comes from a fork and the stack does not allow forks"},
		{"fork MR on a stack allowing forks", mergeRequest(vcs.ActionOpen, "", true), forks, touched, true, RunProposed, false,
			"merge request !7 (open) touches infra/"},
		{"comment", note, infra, nil, false, RunNone, false, "comments on merge request !7 do not trigger runs"},
		{"ignored event", pipeline, infra, nil, false, RunNone, false, "Pipeline Hook events do not trigger runs"},
		{"detached stack", push("main", sha2), detached, touched, true, RunNone, false,
			"the stack is detached from its integration"},
		{"root stack", push("main", sha2), Stack{ID: "all", Branch: "main"}, touched, true, RunTracked, true,
			"push to tracked branch main touches the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Default(Input{Event: tt.ev, ChangedFiles: tt.files, Affected: tt.affected}, tt.st)
			if d.Run != tt.run || d.MoveTrackedCommit != tt.move {
				t.Errorf("Default = %+v, want run %q move %v", d, tt.run, tt.move)
			}
			if !strings.HasPrefix(d.Reason, tt.reason) {
				t.Errorf("reason %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}

// TestDefaultAgreesWithAffected: a decision's Affected flag comes from the
// Matcher; check the whole path for the stacks of one repository.
func TestDefaultAgreesWithAffected(t *testing.T) {
	t.Parallel()
	stacks := []Stack{
		{ID: "infra", Branch: "main", ProjectRoot: "infra"},
		{ID: "app", Branch: "main", ProjectRoot: "app"},
		{ID: "net", Branch: "main", ProjectRoot: "net", AdditionalGlobs: []string{"modules/vpc/**"}},
	}
	files := []string{"infra/main.tf", "modules/vpc/variables.tf"}
	affected := NewMatcher(stacks).Match(files)
	want := []RunType{RunTracked, RunNone, RunTracked}
	for i, st := range stacks {
		d := Default(Input{Event: push("main", sha2), ChangedFiles: files, Affected: affected[i]}, st)
		if d.Run != want[i] {
			t.Errorf("stack %s: run %q (%s), want %q", st.ID, d.Run, d.Reason, want[i])
		}
	}
}
