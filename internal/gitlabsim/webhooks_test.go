package gitlabsim

import (
	"context"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// hookFixture is a project with one hook subscribed to push, tag push and
// merge request events, pointing at a recording receiver.
func hookFixture(t *testing.T) (*fixture, *receiver, Hook) {
	t.Helper()
	f := setup(t)
	rc := newReceiver(t)
	h, err := f.sim.AddHook(context.Background(), f.project.PathWithNamespace, HookOptions{URL: rc.srv.URL, Token: "s3cret",
		TagPushEvents: true, MergeRequestsEvents: true, NoteEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	return f, rc, h
}

// parsed checks GitLab's delivery headers and parses the body with the
// official client into the event type for the header.
func parsed(t *testing.T, f *fixture, r received) any {
	t.Helper()
	h := r.header
	if h.Get("X-Gitlab-Token") != "s3cret" || h.Get("X-Gitlab-Instance") != f.url || !strings.HasPrefix(h.Get("User-Agent"), "GitLab/") ||
		h.Get("X-Gitlab-Event-UUID") == "" || h.Get("X-Gitlab-Webhook-UUID") == "" || h.Get("Idempotency-Key") == "" ||
		h.Get("Content-Type") != "application/json" {
		t.Errorf("delivery headers = %v", h)
	}
	ev, err := gitlab.ParseWebhook(gitlab.EventType(h.Get("X-Gitlab-Event")), r.body)
	if err != nil {
		t.Fatalf("parse %s: %v", h.Get("X-Gitlab-Event"), err)
	}
	return ev
}

func TestPushWebhooks(t *testing.T) {
	t.Parallel()
	f, rc, _ := hookFixture(t)
	ctx := context.Background()
	pid := f.project.PathWithNamespace
	big := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "feature", Commits: commits("c", 45)})
	small := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "feature", Commits: commits("d", 1)})
	if err := f.sim.DeleteBranch(ctx, pid, "feature", 0); err != nil {
		t.Fatal(err)
	}
	tagSHA, err := f.sim.CreateTag(ctx, TagOptions{Project: pid, Tag: "v1.0.0", Ref: "main", Message: "release"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.DeleteTag(ctx, pid, "v1.0.0", 0); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, f.sim)
	got := rc.all()
	if len(got) != 5 {
		t.Fatalf("got %d deliveries, want 5", len(got))
	}

	create := parsed(t, f, got[0]).(*gitlab.PushEvent)
	if create.Before != zeroSHA || create.After != big.After || create.TotalCommitsCount != 45 || len(create.Commits) != 20 {
		t.Errorf("branch create: before %s after %s total %d listed %d", create.Before, create.After, create.TotalCommitsCount, len(create.Commits))
	}
	if create.Commits[19].ID != big.After || create.Commits[0].ID != big.Commits[25] || create.Ref != "refs/heads/feature" {
		t.Errorf("listed commits are not the newest 20, oldest first")
	}
	if len(create.Commits[19].Added) != 1 || create.Commits[19].Added[0] != "c-45.txt" {
		t.Errorf("added = %v", create.Commits[19].Added)
	}
	update := parsed(t, f, got[1]).(*gitlab.PushEvent)
	if update.Before != big.After || update.After != small.After || update.TotalCommitsCount != 1 || update.CheckoutSHA != small.After {
		t.Errorf("update = %+v", update)
	}
	del := parsed(t, f, got[2]).(*gitlab.PushEvent)
	if del.Before != small.After || del.After != zeroSHA || len(del.Commits) != 0 || del.CheckoutSHA != "" {
		t.Errorf("branch delete = before %s after %s", del.Before, del.After)
	}
	tag := parsed(t, f, got[3]).(*gitlab.TagEvent)
	if tag.Before != zeroSHA || tag.CheckoutSHA != tagSHA || tag.Ref != "refs/tags/v1.0.0" || got[3].header.Get("X-Gitlab-Event") != "Tag Push Hook" {
		t.Errorf("tag create = %+v", tag)
	}
	tagDel := parsed(t, f, got[4]).(*gitlab.TagEvent)
	if tagDel.After != zeroSHA || tagDel.Before == zeroSHA {
		t.Errorf("tag delete = before %s after %s", tagDel.Before, tagDel.After)
	}

	// Recorded deliveries, and a resend keeps the Idempotency-Key.
	ds := f.sim.Deliveries(0)
	if len(ds) != 5 || ds[0].StatusCode != http.StatusOK || ds[0].Duration <= 0 || ds[0].RequestHeaders.Get("X-Gitlab-Token") == "s3cret" {
		t.Fatalf("deliveries = %+v", ds)
	}
	re, err := f.sim.Redeliver(ctx, ds[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	all := rc.all()
	last := all[len(all)-1]
	if re.IdempotencyKey != ds[1].IdempotencyKey || last.header.Get("Idempotency-Key") != got[1].header.Get("Idempotency-Key") ||
		last.header.Get("X-Gitlab-Webhook-UUID") == got[1].header.Get("X-Gitlab-Webhook-UUID") || string(last.body) != string(got[1].body) {
		t.Errorf("redelivery headers = %v", last.header)
	}
}

func TestMergeRequestWebhooks(t *testing.T) {
	t.Parallel()
	f, rc, _ := hookFixture(t)
	ctx := context.Background()
	pid := f.project.PathWithNamespace
	first := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "topic", Commits: commits("t", 2)})
	mr, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: pid, SourceBranch: "topic", Title: "Add things", Draft: true})
	if err != nil {
		t.Fatal(err)
	}
	title := "Add more things"
	if _, err := f.sim.UpdateMergeRequest(ctx, pid, mr.IID, MRUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	second := mustPush(t, f.sim, PushOptions{Project: pid, Branch: "topic", Commits: commits("u", 1)})
	if _, err := f.sim.CloseMergeRequest(ctx, pid, mr.IID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.ReopenMergeRequest(ctx, pid, mr.IID, 0); err != nil {
		t.Fatal(err)
	}
	merged, err := f.sim.MergeMergeRequest(ctx, pid, mr.IID, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitHooks(t, f.sim)

	type step struct {
		event, action string
		oldrev        bool
	}
	want := []step{
		{"Push Hook", "", false}, {"Merge Request Hook", "open", false}, {"Merge Request Hook", "update", false},
		{"Push Hook", "", false}, {"Merge Request Hook", "update", true}, {"Merge Request Hook", "close", false},
		{"Merge Request Hook", "reopen", false}, {"Push Hook", "", false}, {"Merge Request Hook", "merge", false},
	}
	got := rc.all()
	if len(got) != len(want) {
		t.Fatalf("got %d deliveries, want %d", len(got), len(want))
	}
	for i, w := range want {
		ev := parsed(t, f, got[i])
		if got[i].header.Get("X-Gitlab-Event") != w.event {
			t.Errorf("delivery %d: event %s, want %s", i, got[i].header.Get("X-Gitlab-Event"), w.event)
			continue
		}
		if w.event != "Merge Request Hook" {
			continue
		}
		m := ev.(*gitlab.MergeEvent)
		_, hasOldrev := decode(t, got[i].body)["object_attributes"].(map[string]any)["oldrev"]
		if m.ObjectAttributes.Action != w.action || hasOldrev != w.oldrev {
			t.Errorf("delivery %d: action %s oldrev %v, want %s %v", i, m.ObjectAttributes.Action, hasOldrev, w.action, w.oldrev)
		}
	}
	open := parsed(t, f, got[1]).(*gitlab.MergeEvent)
	if !open.ObjectAttributes.Draft || open.ObjectAttributes.LastCommit.ID != first.After || open.ObjectAttributes.IID != int64(mr.IID) {
		t.Errorf("open = %+v", open.ObjectAttributes)
	}
	titleOnly := parsed(t, f, got[2]).(*gitlab.MergeEvent)
	if titleOnly.Changes.Title.Current != "Draft: Add more things" {
		t.Errorf("title change = %+v", titleOnly.Changes.Title)
	}
	upd := parsed(t, f, got[4]).(*gitlab.MergeEvent)
	if upd.ObjectAttributes.OldRev != first.After || upd.ObjectAttributes.LastCommit.ID != second.After {
		t.Errorf("update with commits: oldrev %s last %s", upd.ObjectAttributes.OldRev, upd.ObjectAttributes.LastCommit.ID)
	}
	mergePush := parsed(t, f, got[7]).(*gitlab.PushEvent)
	if mergePush.After != merged.MergeCommitSHA || mergePush.Ref != "refs/heads/main" {
		t.Errorf("merge push = %s %s", mergePush.Ref, mergePush.After)
	}
	if m := parsed(t, f, got[8]).(*gitlab.MergeEvent); m.ObjectAttributes.State != "merged" || m.ObjectAttributes.MergeCommitSHA != merged.MergeCommitSHA {
		t.Errorf("merge = %+v", m.ObjectAttributes)
	}
}

func TestForkMergeRequestWebhook(t *testing.T) {
	t.Parallel()
	f, rc, _ := hookFixture(t)
	ctx := context.Background()
	if _, err := f.sim.CreateUser(ctx, UserOptions{Username: "mallory"}); err != nil {
		t.Fatal(err)
	}
	fork, err := f.sim.ForkProject(ctx, f.project.PathWithNamespace, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	res := mustPush(t, f.sim, PushOptions{Project: fork.PathWithNamespace, Branch: "evil", Commits: commits("e", 1)})
	if _, err := f.sim.CreateMergeRequest(ctx, MROptions{Project: f.project.PathWithNamespace, SourceProject: fork.PathWithNamespace,
		SourceBranch: "evil", Title: "Please merge"}); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, f.sim)
	got := rc.all()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries to the target project, want 1 (the fork's push goes to the fork's hooks)", len(got))
	}
	m := parsed(t, f, got[0]).(*gitlab.MergeEvent)
	if m.ObjectAttributes.SourceProjectID != int64(fork.ID) || m.ObjectAttributes.TargetProjectID != int64(f.project.ID) ||
		m.ObjectAttributes.LastCommit.ID != res.After {
		t.Errorf("fork MR = %+v", m.ObjectAttributes)
	}
	// The target project serves the fork's diff.
	diffs, _, err := f.client.MergeRequests.ListMergeRequestDiffs(f.project.ID, m.ObjectAttributes.IID, nil)
	if err != nil || len(diffs) != 1 || diffs[0].NewPath != "e-1.txt" {
		t.Errorf("fork MR diffs = %v, %v", diffs, err)
	}
}

func TestFailedDeliveryIsRecorded(t *testing.T) {
	t.Parallel()
	f, rc, h := hookFixture(t)
	rc.mu.Lock()
	rc.status = http.StatusInternalServerError
	rc.mu.Unlock()
	mustPush(t, f.sim, PushOptions{Project: f.project.PathWithNamespace, Branch: "main", Commits: commits("f", 1)})
	waitHooks(t, f.sim)
	ds := f.sim.Deliveries(h.ID)
	if len(ds) != 1 || ds[0].StatusCode != http.StatusInternalServerError || ds[0].Succeeded() {
		t.Fatalf("deliveries = %+v", ds)
	}
}
