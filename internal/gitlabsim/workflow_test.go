package gitlabsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// mrFixture opens !1 from branch b (one commit changing 2 files) authored
// by root, with hooks on, and returns it with Bob, a Developer.
func mrFixture(t *testing.T) (*fixture, *receiver, MergeRequest, User, *gitlab.Client) {
	t.Helper()
	f, rc, _ := hookFixture(t)
	ctx := context.Background()
	mustPush(t, f.sim, PushOptions{Project: f.project.PathWithNamespace, Branch: "b", Commits: []CommitSpec{{Message: "two files",
		Actions: []FileAction{{Action: "update", Path: "main.tf", Content: "# b\n"}, {Action: "create", Path: "x.tf", Content: "x"}}}}})
	mr, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: f.project.PathWithNamespace, SourceBranch: "b", Title: "T"})
	if err != nil {
		t.Fatal(err)
	}
	bob, bobToken := addUser(t, f.sim, "bob", Developer, f.project.PathWithNamespace, "api")
	waitHooks(t, f.sim)
	return f, rc, mr, bob, newClient(t, f.url, bobToken)
}

// lastHook parses the newest delivery with client-go.
func lastHook(t *testing.T, f *fixture, rc *receiver) any {
	t.Helper()
	waitHooks(t, f.sim)
	all := rc.all()
	if len(all) == 0 {
		t.Fatal("no delivery")
	}
	return parsed(t, f, all[len(all)-1])
}

func TestNoteHooksOnMergeRequestsCommitsAndIssues(t *testing.T) {
	t.Parallel()
	f, rc, mr, bob, _ := mrFixture(t)
	ctx := context.Background()
	path := f.project.PathWithNamespace

	n, err := f.sim.CommentMergeRequest(ctx, path, mr.IID, bob.ID, "/hoist plan app")
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := lastHook(t, f, rc).(*gitlab.MergeCommentEvent)
	if !ok || ev.ObjectAttributes.ID != int64(n.ID) || ev.ObjectAttributes.Note != "/hoist plan app" ||
		ev.ObjectAttributes.NoteableType != "MergeRequest" || ev.User.Username != "bob" || ev.MergeRequest.IID != int64(mr.IID) ||
		ev.MergeRequest.LastCommit.ID != mr.HeadSHA {
		t.Fatalf("MR note hook = %T %+v", ev, ev)
	}

	c, err := f.sim.CommentCommit(ctx, path, "b", bob.ID, "nice commit")
	if err != nil || c.CommitSHA != mr.HeadSHA {
		t.Fatalf("CommentCommit = %+v, %v", c, err)
	}
	cev, ok := lastHook(t, f, rc).(*gitlab.CommitCommentEvent)
	if !ok || cev.ObjectAttributes.NoteableType != "Commit" || cev.ObjectAttributes.CommitID != mr.HeadSHA || cev.Commit.ID != mr.HeadSHA {
		t.Fatalf("commit note hook = %T %+v", cev, cev)
	}

	is, err := f.sim.CreateIssue(ctx, IssueOptions{Project: path, Title: "Bug"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.CommentIssue(ctx, path, is.IID, bob.ID, "/hoist apply"); err != nil {
		t.Fatal(err)
	}
	iev, ok := lastHook(t, f, rc).(*gitlab.IssueCommentEvent)
	if !ok || iev.ObjectAttributes.NoteableType != "Issue" || iev.Issue.IID != int64(is.IID) || iev.Issue.Title != "Bug" {
		t.Fatalf("issue note hook = %T %+v", iev, iev)
	}

	// Only merge request notes show in the MR's notes.
	if notes, err := f.sim.Notes(path, mr.IID); err != nil || len(notes) != 1 {
		t.Errorf("Notes = %+v, %v; want the MR note only", notes, err)
	}
	for _, bad := range []string{"", "  \n", strings.Repeat("x", maxNoteBody+1)} {
		if _, err := f.sim.CommentMergeRequest(ctx, path, mr.IID, bob.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CommentMergeRequest(%.10q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := f.sim.CommentIssue(ctx, path, 99, 0, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("comment on a missing issue = %v", err)
	}
}

func TestApprovalsAndMergeStatus(t *testing.T) {
	t.Parallel()
	f, rc, mr, bob, bobClient := mrFixture(t)
	ctx := context.Background()
	pid, iid := f.project.ID, int64(mr.IID)

	got, _, err := f.client.MergeRequests.GetMergeRequest(pid, iid, nil)
	if err != nil || got.DetailedMergeStatus != "mergeable" || got.ChangesCount != "2" {
		t.Fatalf("MR = %q changes %q, %v; want mergeable, 2", got.DetailedMergeStatus, got.ChangesCount, err)
	}
	if _, err := f.sim.SetProjectSettings(ctx, f.project.PathWithNamespace, ProjectSettings{ApprovalsRequired: gitlab.Ptr(1)}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = f.client.MergeRequests.GetMergeRequest(pid, iid, nil)
	if got.DetailedMergeStatus != "not_approved" {
		t.Errorf("detailed_merge_status = %q, want not_approved", got.DetailedMergeStatus)
	}
	if _, _, err := bobClient.MergeRequests.AcceptMergeRequest(pid, iid, nil); statusOf(err) != http.StatusMethodNotAllowed {
		t.Errorf("merge before approval: %v, want 405", err)
	}
	// root wrote the MR: its own approval is refused with GitLab's 401.
	root := newClient(t, f.url, f.sim.AdminToken())
	if _, _, err := root.MergeRequestApprovals.ApproveMergeRequest(pid, iid, nil); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("author approves: %v, want 401", err)
	}
	if _, _, err := bobClient.MergeRequestApprovals.ApproveMergeRequest(pid, iid, &gitlab.ApproveMergeRequestOptions{SHA: gitlab.Ptr(strings.Repeat("a", 40))}); statusOf(err) != http.StatusConflict {
		t.Errorf("approve at a stale sha: %v, want 409", err)
	}
	a, resp, err := bobClient.MergeRequestApprovals.ApproveMergeRequest(pid, iid, &gitlab.ApproveMergeRequestOptions{SHA: gitlab.Ptr(mr.HeadSHA)})
	if err != nil || resp.StatusCode != http.StatusCreated || !a.Approved || a.ApprovalsLeft != 0 || len(a.ApprovedBy) != 1 || a.ApprovedBy[0].User.Username != "bob" {
		t.Fatalf("approve = %+v, %v", a, err)
	}
	if ev := lastHook(t, f, rc).(*gitlab.MergeEvent); ev.ObjectAttributes.Action != "approved" || ev.User.Username != "bob" {
		t.Errorf("approve hook action %q by %q, want approved by bob", ev.ObjectAttributes.Action, ev.User.Username)
	}
	if _, _, err := bobClient.MergeRequestApprovals.ApproveMergeRequest(pid, iid, nil); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("second approval: %v, want 401", err)
	}
	a, _, err = f.client.MergeRequestApprovals.GetConfiguration(pid, iid)
	if err != nil || !a.Approved || a.ApprovalsRequired != 1 || a.UserHasApproved || !a.UserCanApprove {
		t.Errorf("approvals seen by alice = %+v, %v", a, err)
	}
	state, _, err := f.client.MergeRequestApprovals.GetApprovalState(pid, iid)
	if err != nil || len(state.Rules) != 1 || !state.Rules[0].Approved || len(state.Rules[0].ApprovedBy) != 1 {
		t.Errorf("approval_state = %+v, %v", state, err)
	}

	if _, err := bobClient.MergeRequestApprovals.UnapproveMergeRequest(pid, iid); err != nil {
		t.Fatal(err)
	}
	if ev := lastHook(t, f, rc).(*gitlab.MergeEvent); ev.ObjectAttributes.Action != "unapproved" {
		t.Errorf("unapprove hook action %q, want unapproved", ev.ObjectAttributes.Action)
	}
	// With two required, one approval is an "approval", not "approved".
	if _, err := f.sim.SetProjectSettings(ctx, f.project.PathWithNamespace, ProjectSettings{ApprovalsRequired: gitlab.Ptr(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.ApproveMergeRequest(ctx, f.project.PathWithNamespace, mr.IID, bob.ID, ""); err != nil {
		t.Fatal(err)
	}
	if ev := lastHook(t, f, rc).(*gitlab.MergeEvent); ev.ObjectAttributes.Action != "approval" || ev.ObjectAttributes.DetailedMergeStatus != "not_approved" {
		t.Errorf("hook action %q status %q, want approval, not_approved", ev.ObjectAttributes.Action, ev.ObjectAttributes.DetailedMergeStatus)
	}
	if _, err := f.sim.ApproveMergeRequest(ctx, f.project.PathWithNamespace, mr.IID, f.user.ID, ""); err != nil {
		t.Fatal(err)
	}

	// Pipelines must succeed: no status, then a failed one, then success.
	if _, err := f.sim.SetProjectSettings(ctx, f.project.PathWithNamespace, ProjectSettings{OnlyAllowMergeIfPipelineSucceeds: gitlab.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ state, want string }{{"", "ci_must_pass"}, {"failed", "ci_must_pass"}, {"success", "mergeable"}} {
		if step.state != "" {
			if _, _, err := f.client.Commits.SetCommitStatus(pid, mr.HeadSHA, &gitlab.SetCommitStatusOptions{
				State: gitlab.BuildStateValue(step.state), Ref: gitlab.Ptr("b"), Name: gitlab.Ptr("ci")}); err != nil {
				t.Fatal(err)
			}
		}
		if s, err := f.sim.DetailedMergeStatus(ctx, f.project.PathWithNamespace, mr.IID); err != nil || s != step.want {
			t.Errorf("after status %q: detailed_merge_status = %q, %v; want %q", step.state, s, err, step.want)
		}
	}

	if _, _, err := bobClient.MergeRequests.AcceptMergeRequest(pid, iid, &gitlab.AcceptMergeRequestOptions{SHA: gitlab.Ptr(strings.Repeat("b", 40))}); statusOf(err) != http.StatusConflict {
		t.Errorf("merge at a stale sha: %v, want 409", err)
	}
	merged, _, err := bobClient.MergeRequests.AcceptMergeRequest(pid, iid, &gitlab.AcceptMergeRequestOptions{SHA: gitlab.Ptr(mr.HeadSHA)})
	if err != nil || merged.State != "merged" || merged.MergeCommitSHA == "" {
		t.Fatalf("merge = %+v, %v", merged, err)
	}
	if ev := lastHook(t, f, rc).(*gitlab.MergeEvent); ev.ObjectAttributes.Action != "merge" {
		t.Errorf("last hook action %q, want merge", ev.ObjectAttributes.Action)
	}
	if _, _, err := bobClient.MergeRequests.AcceptMergeRequest(pid, iid, nil); statusOf(err) != http.StatusMethodNotAllowed {
		t.Errorf("merge a merged MR: %v, want 405", err)
	}
}

func TestMergeStatusDraftAndConflict(t *testing.T) {
	t.Parallel()
	f, _, mr, _, _ := mrFixture(t)
	ctx := context.Background()
	path := f.project.PathWithNamespace
	if _, err := f.sim.UpdateMergeRequest(ctx, path, mr.IID, MRUpdate{Draft: gitlab.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.sim.DetailedMergeStatus(ctx, path, mr.IID); s != "draft_status" {
		t.Errorf("draft: %q", s)
	}
	if _, err := f.sim.UpdateMergeRequest(ctx, path, mr.IID, MRUpdate{Draft: gitlab.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	mustPush(t, f.sim, PushOptions{Project: path, Branch: "main", Commits: []CommitSpec{{Message: "clash",
		Actions: []FileAction{{Action: "update", Path: "main.tf", Content: "# main moved\n"}}}}})
	got, _, err := f.client.MergeRequests.GetMergeRequest(f.project.ID, int64(mr.IID), nil)
	if err != nil || got.DetailedMergeStatus != "conflict" || !got.HasConflicts {
		t.Errorf("conflicting MR = %q %v %q, %v", got.DetailedMergeStatus, got.HasConflicts, "", err)
	}
}

func TestAwardEmojiOnNotes(t *testing.T) {
	t.Parallel()
	f, _, mr, bob, bobClient := mrFixture(t)
	pid, iid := f.project.ID, int64(mr.IID)
	n, err := f.sim.CommentMergeRequest(context.Background(), f.project.PathWithNamespace, mr.IID, bob.ID, "/hoist plan")
	if err != nil {
		t.Fatal(err)
	}
	nid := int64(n.ID)
	eyes, resp, err := f.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, iid, nid, &gitlab.CreateAwardEmojiOptions{Name: "eyes"})
	if err != nil || resp.StatusCode != http.StatusCreated || eyes.Name != "eyes" || eyes.User.Username != "alice" ||
		eyes.AwardableID != nid || eyes.AwardableType != "Note" {
		t.Fatalf("award = %+v, %v", eyes, err)
	}
	if _, _, err := f.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, iid, nid, &gitlab.CreateAwardEmojiOptions{Name: "eyes"}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("same award twice: %v, want GitLab's 404", err)
	}
	if _, _, err := f.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, iid, nid, &gitlab.CreateAwardEmojiOptions{Name: "<script>"}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("bad name: %v, want 400", err)
	}
	if _, _, err := f.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, iid, nid+100, &gitlab.CreateAwardEmojiOptions{Name: "x"}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("award on a missing note: %v, want 404", err)
	}
	if _, _, err := f.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, iid, nid, &gitlab.CreateAwardEmojiOptions{Name: "white_check_mark"}); err != nil {
		t.Fatal(err)
	}
	list, _, err := bobClient.AwardEmoji.ListMergeRequestAwardEmojiOnNote(pid, iid, nid, nil)
	if err != nil || len(list) != 2 || list[0].Name != "eyes" || list[1].Name != "white_check_mark" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := bobClient.AwardEmoji.DeleteMergeRequestAwardEmojiOnNote(pid, iid, nid, eyes.ID); statusOf(err) != http.StatusForbidden {
		t.Errorf("bob deletes alice's award: %v, want 403", err)
	}
	if _, err := f.client.AwardEmoji.DeleteMergeRequestAwardEmojiOnNote(pid, iid, nid, eyes.ID); err != nil {
		t.Fatal(err)
	}
	awards, err := f.sim.AwardEmoji(f.project.PathWithNamespace, n.ID)
	if err != nil || len(awards) != 1 || awards[0].Name != "white_check_mark" || awards[0].UserID != f.user.ID {
		t.Errorf("AwardEmoji = %+v, %v", awards, err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v, _, err := f.client.Version.GetVersion()
	if err != nil || v.Version != Version || v.Revision == "" {
		t.Errorf("version = %+v, %v", v, err)
	}
	anon := newClient(t, f.url, "")
	if _, _, err := anon.Version.GetVersion(); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("anonymous version: %v, want 401", err)
	}
}

// diverged_commits_count, when asked for, counts the target branch's
// commits the merge request's branch lacks.
func TestDivergedCommitsCount(t *testing.T) {
	t.Parallel()
	f, _, mr, _, _ := mrFixture(t)
	pid, iid := f.project.ID, int64(mr.IID)
	count := func() int64 {
		t.Helper()
		got, _, err := f.client.MergeRequests.GetMergeRequest(pid, iid, &gitlab.GetMergeRequestsOptions{IncludeDivergedCommitsCount: gitlab.Ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		return got.DivergedCommitsCount
	}
	if n := count(); n != 0 {
		t.Fatalf("diverged_commits_count of a fresh branch = %d", n)
	}
	for i := range 2 {
		mustPush(t, f.sim, PushOptions{Project: f.project.PathWithNamespace, Branch: "main", Commits: []CommitSpec{{Message: "main moves",
			Actions: []FileAction{{Action: "create", Path: fmt.Sprintf("other%d.md", i), Content: "x"}}}}})
	}
	if n := count(); n != 2 {
		t.Errorf("diverged_commits_count after two commits on main = %d, want 2", n)
	}
}
