package hooks

import (
	"encoding/json"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// parse runs body through the official client's webhook parser, the way a
// receiver built on client-go would see it.
func parse(t *testing.T, event string, body []byte) any {
	t.Helper()
	ev, err := gitlab.ParseWebhook(gitlab.EventType(event), body)
	if err != nil {
		t.Fatalf("gitlab.ParseWebhook(%q): %v\nbody: %s", event, err, body)
	}
	return ev
}

func mustPush(t *testing.T, p Push) []byte {
	t.Helper()
	body, err := PushPayload(p)
	if err != nil {
		t.Fatalf("PushPayload: %v", err)
	}
	return body
}

func mustMR(t *testing.T, user User, mr MergeRequest) []byte {
	t.Helper()
	body, err := MergeRequestPayload(user, mr)
	if err != nil {
		t.Fatalf("MergeRequestPayload: %v", err)
	}
	return body
}

func TestPushPayloadParses(t *testing.T) {
	t.Parallel()
	cs := history(3)
	p := Push{
		Project: testProject(), User: testUser(), Ref: "refs/heads/main",
		Before: sha("base"), After: cs[2].ID, Commits: cs, RefProtected: true,
	}
	body := mustPush(t, p)
	if got := p.Event(); got != EventPush {
		t.Fatalf("Event() = %q, want %q", got, EventPush)
	}
	ev, ok := parse(t, p.Event(), body).(*gitlab.PushEvent)
	if !ok {
		t.Fatalf("parsed %T, want *gitlab.PushEvent", ev)
	}
	if ev.ObjectKind != "push" || ev.EventName != "push" {
		t.Errorf("object_kind/event_name = %q/%q", ev.ObjectKind, ev.EventName)
	}
	if ev.Before != sha("base") || ev.After != cs[2].ID || ev.CheckoutSHA != cs[2].ID {
		t.Errorf("before/after/checkout = %s/%s/%s", ev.Before, ev.After, ev.CheckoutSHA)
	}
	if ev.Ref != "refs/heads/main" || !ev.RefProtected {
		t.Errorf("ref = %q protected=%v", ev.Ref, ev.RefProtected)
	}
	if ev.UserUsername != "jsmith" || ev.UserEmail != "john@example.com" || ev.ProjectID != 15 {
		t.Errorf("user/project = %q %q %d", ev.UserUsername, ev.UserEmail, ev.ProjectID)
	}
	if ev.Project.PathWithNamespace != "acme/platform/infra" || ev.Repository == nil || ev.Repository.GitHTTPURL == "" {
		t.Errorf("project = %+v repository = %+v", ev.Project, ev.Repository)
	}
	if ev.TotalCommitsCount != 3 || len(ev.Commits) != 3 {
		t.Fatalf("commits = %d listed, total %d; want 3, 3", len(ev.Commits), ev.TotalCommitsCount)
	}
	c := ev.Commits[2]
	if c.ID != cs[2].ID || c.Title != "change 2" || c.Author.Email != "john@example.com" {
		t.Errorf("last commit = %+v", c)
	}
	if c.Timestamp == nil || !c.Timestamp.Equal(cs[2].Timestamp) {
		t.Errorf("timestamp = %v, want %v", c.Timestamp, cs[2].Timestamp)
	}
	if len(c.Added) != 1 || c.Added[0] != "stacks/s2/main.tf" || len(c.Modified) != 1 || c.Removed == nil {
		t.Errorf("files = %v %v %v", c.Added, c.Modified, c.Removed)
	}
}

func TestPushPayloadTruncatesToNewest20(t *testing.T) {
	t.Parallel()
	cs := history(45)
	body := mustPush(t, Push{Project: testProject(), User: testUser(), Ref: "refs/heads/main", Before: sha("base"), After: cs[44].ID, Commits: cs})
	ev := parse(t, EventPush, body).(*gitlab.PushEvent)
	if ev.TotalCommitsCount != 45 {
		t.Errorf("total_commits_count = %d, want 45", ev.TotalCommitsCount)
	}
	if len(ev.Commits) != 20 {
		t.Fatalf("listed %d commits, want 20", len(ev.Commits))
	}
	for i, c := range ev.Commits {
		if want := cs[25+i].ID; c.ID != want {
			t.Errorf("commits[%d] = %s, want %s (commit %d)", i, c.ID, want, 25+i)
		}
	}
}

func TestPushPayloadZeroSHAs(t *testing.T) {
	t.Parallel()
	cs := history(2)
	tagObject := sha("annotated tag object")
	tests := []struct {
		name                  string
		push                  Push
		event                 string
		wantBefore, wantAfter string
		wantCheckout          string
		wantListed, wantTotal int
		wantMessage           string
	}{
		{
			name:  "branch created",
			push:  Push{Ref: "refs/heads/feature", After: cs[1].ID, Commits: cs},
			event: EventPush, wantBefore: ZeroSHA, wantAfter: cs[1].ID, wantCheckout: cs[1].ID, wantListed: 2, wantTotal: 2,
		},
		{
			name:  "branch deleted",
			push:  Push{Ref: "refs/heads/feature", Before: cs[1].ID, After: ZeroSHA, CheckoutSHA: cs[1].ID, Commits: cs},
			event: EventPush, wantBefore: cs[1].ID, wantAfter: ZeroSHA,
		},
		{
			name:  "tag created",
			push:  Push{Ref: "refs/tags/v1.0.0", After: tagObject, CheckoutSHA: cs[1].ID, Message: "release 1.0"},
			event: EventTagPush, wantBefore: ZeroSHA, wantAfter: tagObject, wantCheckout: cs[1].ID, wantMessage: "release 1.0",
		},
		{
			name:  "tag deleted",
			push:  Push{Ref: "refs/tags/v1.0.0", Before: tagObject},
			event: EventTagPush, wantBefore: tagObject, wantAfter: ZeroSHA,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.push
			p.Project, p.User = testProject(), testUser()
			if got := p.Event(); got != tt.event {
				t.Fatalf("Event() = %q, want %q", got, tt.event)
			}
			body := mustPush(t, p)
			var raw map[string]any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			if tt.wantCheckout == "" && raw["checkout_sha"] != nil {
				t.Errorf("checkout_sha = %v, want null", raw["checkout_sha"])
			}
			var before, after, checkout, message string
			var listed, total int64
			switch ev := parse(t, tt.event, body).(type) {
			case *gitlab.PushEvent:
				before, after, checkout, listed, total = ev.Before, ev.After, ev.CheckoutSHA, int64(len(ev.Commits)), ev.TotalCommitsCount
			case *gitlab.TagEvent:
				before, after, checkout, listed, total = ev.Before, ev.After, ev.CheckoutSHA, int64(len(ev.Commits)), ev.TotalCommitsCount
				message = ev.Message
				if ev.ObjectKind != "tag_push" || ev.Ref != "refs/tags/v1.0.0" {
					t.Errorf("object_kind/ref = %q/%q", ev.ObjectKind, ev.Ref)
				}
			default:
				t.Fatalf("parsed %T", ev)
			}
			if before != tt.wantBefore || after != tt.wantAfter || checkout != tt.wantCheckout {
				t.Errorf("before/after/checkout = %q/%q/%q, want %q/%q/%q", before, after, checkout, tt.wantBefore, tt.wantAfter, tt.wantCheckout)
			}
			if listed != int64(tt.wantListed) || total != int64(tt.wantTotal) {
				t.Errorf("commits listed/total = %d/%d, want %d/%d", listed, total, tt.wantListed, tt.wantTotal)
			}
			if message != tt.wantMessage {
				t.Errorf("message = %q, want %q", message, tt.wantMessage)
			}
			if list, ok := raw["commits"].([]any); !ok || list == nil {
				t.Errorf("commits = %v, want a list", raw["commits"])
			}
		})
	}
}

func TestPushPayloadRejectsEmptyRef(t *testing.T) {
	t.Parallel()
	if _, err := PushPayload(Push{Project: testProject()}); err == nil {
		t.Fatal("PushPayload without ref: want error")
	}
}

func TestMergeRequestPayloadParses(t *testing.T) {
	t.Parallel()
	mr := testMR()
	mr.SourceProject = testFork()
	body := mustMR(t, testReviewer(), mr)
	ev, ok := parse(t, EventMergeRequest, body).(*gitlab.MergeEvent)
	if !ok {
		t.Fatalf("parsed %T, want *gitlab.MergeEvent", ev)
	}
	a := ev.ObjectAttributes
	if ev.ObjectKind != "merge_request" || ev.EventType != "merge_request" {
		t.Errorf("object_kind/event_type = %q/%q", ev.ObjectKind, ev.EventType)
	}
	if ev.User == nil || ev.User.Username != "alice" {
		t.Errorf("user = %+v, want alice", ev.User)
	}
	if ev.Project.ID != 15 || a.TargetProjectID != 15 || a.SourceProjectID != 16 {
		t.Errorf("project %d, target %d, source %d; want 15, 15, 16", ev.Project.ID, a.TargetProjectID, a.SourceProjectID)
	}
	if a.Source == nil || a.Source.PathWithNamespace != "alice/infra" || a.Target == nil || a.Target.PathWithNamespace != "acme/platform/infra" {
		t.Errorf("source/target = %+v / %+v", a.Source, a.Target)
	}
	if a.ID != 99 || a.IID != 3 || a.Action != "open" || a.State != "opened" || a.StateID != gitlab.StateIDOpen {
		t.Errorf("id/iid/action/state = %d/%d/%q/%q/%d", a.ID, a.IID, a.Action, a.State, a.StateID)
	}
	if a.SourceBranch != "feature/vpc" || a.TargetBranch != "main" || a.Title != "Add network stack" {
		t.Errorf("branches/title = %q %q %q", a.SourceBranch, a.TargetBranch, a.Title)
	}
	if a.LastCommit.ID != mr.LastCommit.ID || a.LastCommit.Title != "change 2" || a.LastCommit.Timestamp == nil {
		t.Errorf("last_commit = %+v, want %s", a.LastCommit, mr.LastCommit.ID)
	}
	if a.OldRev != "" || a.Draft || a.WorkInProgress || a.DetailedMergeStatus != "mergeable" {
		t.Errorf("oldrev/draft/wip/detailed = %q/%v/%v/%q", a.OldRev, a.Draft, a.WorkInProgress, a.DetailedMergeStatus)
	}
	if a.CreatedAt != "2025-03-14 08:26:53 UTC" || a.URL != mr.URL {
		t.Errorf("created_at/url = %q %q", a.CreatedAt, a.URL)
	}
	if len(ev.Labels) != 1 || ev.Labels[0].Title != "infra" || ev.Labels[0].ID == 0 || len(a.Labels) != 1 {
		t.Errorf("labels = %+v / %+v", ev.Labels, a.Labels)
	}
	if len(ev.Assignees) != 1 || ev.Assignees[0].ID != 4 || a.AssigneeID != 4 || len(a.ReviewerIDs) != 1 || a.ReviewerIDs[0] != 7 {
		t.Errorf("assignees %+v assignee_id %d reviewer_ids %v", ev.Assignees, a.AssigneeID, a.ReviewerIDs)
	}
	if len(ev.Reviewers) != 1 || ev.Reviewers[0].Username != "alice" {
		t.Errorf("reviewers = %+v", ev.Reviewers)
	}
}

func TestMergeRequestPayloadOldRev(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		oldRev string
	}{
		{name: "new commits", oldRev: sha("previous head")},
		{name: "title only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mr := testMR()
			mr.Action, mr.OldRev = "update", tt.oldRev
			if tt.oldRev == "" {
				mr.Changes = map[string]Change{
					"title":      {Previous: "Draft: VPC", Current: mr.Title},
					"updated_at": {Previous: t0, Current: t0.Add(time.Hour)},
				}
			}
			body := mustMR(t, testUser(), mr)
			var raw struct {
				ObjectAttributes map[string]any `json:"object_attributes"`
			}
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			_, present := raw.ObjectAttributes["oldrev"]
			if present != (tt.oldRev != "") {
				t.Errorf("oldrev present = %v, want %v", present, tt.oldRev != "")
			}
			ev := parse(t, EventMergeRequest, body).(*gitlab.MergeEvent)
			if ev.ObjectAttributes.Action != "update" || ev.ObjectAttributes.OldRev != tt.oldRev {
				t.Errorf("action/oldrev = %q/%q, want update/%q", ev.ObjectAttributes.Action, ev.ObjectAttributes.OldRev, tt.oldRev)
			}
			if tt.oldRev == "" {
				if ev.Changes.Title.Previous != "Draft: VPC" || ev.Changes.Title.Current != "Add network stack" {
					t.Errorf("changes.title = %+v", ev.Changes.Title)
				}
				if ev.Changes.UpdatedAt.Current != "2025-03-14 09:26:53 UTC" {
					t.Errorf("changes.updated_at = %+v", ev.Changes.UpdatedAt)
				}
			}
		})
	}
}

func TestMergeRequestPayloadDraftAndMerge(t *testing.T) {
	t.Parallel()
	draft := testMR()
	draft.Draft, draft.Action = true, "update"
	draft.Changes = map[string]Change{"draft": {Previous: false, Current: true}}
	ev := parse(t, EventMergeRequest, mustMR(t, testUser(), draft)).(*gitlab.MergeEvent)
	if !ev.ObjectAttributes.Draft || !ev.ObjectAttributes.WorkInProgress || !ev.Changes.Draft.Current || ev.Changes.Draft.Previous {
		t.Errorf("draft = %v wip = %v changes.draft = %+v", ev.ObjectAttributes.Draft, ev.ObjectAttributes.WorkInProgress, ev.Changes.Draft)
	}

	merged := testMR()
	merged.Action, merged.State, merged.MergeCommitSHA, merged.MergeUserID = "merge", "merged", sha("merge commit"), 4
	merged.Changes = map[string]Change{"state_id": {Previous: 1, Current: 3}}
	ev = parse(t, EventMergeRequest, mustMR(t, testUser(), merged)).(*gitlab.MergeEvent)
	a := ev.ObjectAttributes
	if a.Action != "merge" || a.State != "merged" || a.StateID != gitlab.StateIDMerged || a.MergeCommitSHA != sha("merge commit") || a.MergeUserID != 4 {
		t.Errorf("merge attrs = %q %q %d %q %d", a.Action, a.State, a.StateID, a.MergeCommitSHA, a.MergeUserID)
	}
	if ev.Changes.StateID.Previous != gitlab.StateIDOpen || ev.Changes.StateID.Current != gitlab.StateIDMerged {
		t.Errorf("changes.state_id = %+v", ev.Changes.StateID)
	}
}

func TestMergeRequestPayloadRejectsEmptyAction(t *testing.T) {
	t.Parallel()
	mr := testMR()
	mr.Action = ""
	if _, err := MergeRequestPayload(testUser(), mr); err == nil {
		t.Fatal("MergeRequestPayload without action: want error")
	}
}

func TestNotePayloadParses(t *testing.T) {
	t.Parallel()
	n := Note{ID: 1244, Body: "hoist plan", Author: testReviewer(), MR: testMR(), CreatedAt: t0}
	body, err := NotePayload(testProject(), n)
	if err != nil {
		t.Fatalf("NotePayload: %v", err)
	}
	ev, ok := parse(t, EventNote, body).(*gitlab.MergeCommentEvent)
	if !ok {
		t.Fatalf("parsed %T, want *gitlab.MergeCommentEvent", ev)
	}
	a := ev.ObjectAttributes
	if ev.ObjectKind != "note" || a.NoteableType != "MergeRequest" || a.ID != 1244 || a.Note != "hoist plan" {
		t.Errorf("kind/type/id/note = %q/%q/%d/%q", ev.ObjectKind, a.NoteableType, a.ID, a.Note)
	}
	if a.Action != gitlab.CommentEventActionCreate || a.System || a.AuthorID != 7 || a.NoteableID != 99 {
		t.Errorf("action/system/author/noteable = %q/%v/%d/%d", a.Action, a.System, a.AuthorID, a.NoteableID)
	}
	if a.URL != "http://gitlab.test/acme/platform/infra/-/merge_requests/3#note_1244" {
		t.Errorf("url = %q", a.URL)
	}
	m := ev.MergeRequest
	if m.IID != 3 || m.SourceBranch != "feature/vpc" || m.LastCommit.ID != n.MR.LastCommit.ID || m.Assignee == nil || m.Assignee.Username != "jsmith" {
		t.Errorf("merge_request = iid %d branch %q last %q assignee %+v", m.IID, m.SourceBranch, m.LastCommit.ID, m.Assignee)
	}
	if ev.User == nil || ev.User.ID != 7 || ev.ProjectID != 15 {
		t.Errorf("user %+v project_id %d", ev.User, ev.ProjectID)
	}
}

func TestNotePayloadRejectsMissingID(t *testing.T) {
	t.Parallel()
	if _, err := NotePayload(testProject(), Note{Body: "x", MR: testMR()}); err == nil {
		t.Fatal("NotePayload without ID: want error")
	}
}

func TestEventHeader(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]string{
		"push": EventPush, "tag_push": EventTagPush, "merge_request": EventMergeRequest, "note": EventNote, "pipeline": "",
	} {
		if got := EventHeader(kind); got != want {
			t.Errorf("EventHeader(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestHookWants(t *testing.T) {
	t.Parallel()
	h := Hook{PushEvents: true, MergeRequestsEvents: true}
	for event, want := range map[string]bool{
		EventPush: true, EventTagPush: false, EventMergeRequest: true, EventNote: false, "Pipeline Hook": false,
	} {
		if got := h.Wants(event); got != want {
			t.Errorf("Wants(%q) = %v, want %v", event, got, want)
		}
	}
}

func TestPayloadsRedactMissingEmail(t *testing.T) {
	t.Parallel()
	u := testUser()
	u.Email = ""
	push := parse(t, EventPush, mustPush(t, Push{Project: testProject(), User: u, Ref: "refs/heads/main", After: sha("x")})).(*gitlab.PushEvent)
	mr := parse(t, EventMergeRequest, mustMR(t, u, testMR())).(*gitlab.MergeEvent)
	if push.UserEmail != "[REDACTED]" || mr.User.Email != "[REDACTED]" {
		t.Errorf("emails = %q, %q; want [REDACTED]", push.UserEmail, mr.User.Email)
	}
	if mr.Assignees[0].Email != "" {
		t.Errorf("assignee email = %q, want none", mr.Assignees[0].Email)
	}
}
