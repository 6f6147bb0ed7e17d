package gitlab_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// approvalFixture is project acme/infra needing one approval, read by
// hoist-bot (Maintainer), with users of every kind of access: mia
// Maintainer through group acme, dev Developer on the project, boss an
// administrator who is no member, and stranger no member at all.
type approvalFixture struct {
	simEnv
	c                          *gitlab.Client
	ep                         vcs.Endpoint
	projectID                  int64
	mia, dev, boss, stranger   gitlabsim.User
	approved, pending          gitlabsim.MergeRequest // open; approved by mia, dev and boss / by nobody
	merged                     gitlabsim.MergeRequest
	mainHead, approvedFirstSHA string
}

func approvalSetup(t *testing.T) approvalFixture {
	t.Helper()
	f := approvalFixture{simEnv: startSim(t), c: gitlab.New(nil, nil)}
	t.Cleanup(f.c.Close)
	ctx := t.Context()
	const path = "acme/infra"
	p, err := f.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: path, Files: map[string]string{"main.tf": "\n"}})
	if err != nil {
		t.Fatal(err)
	}
	f.projectID = int64(p.ID)
	if _, err := f.sim.SetProjectSettings(ctx, path, gitlabsim.ProjectSettings{ApprovalsRequired: new(1)}); err != nil {
		t.Fatal(err)
	}
	user := func(name string, admin bool, member gitlabsim.MemberOptions) gitlabsim.User {
		u, err := f.sim.CreateUser(ctx, gitlabsim.UserOptions{Username: name, Admin: admin})
		if err != nil {
			t.Fatal(err)
		}
		if member.AccessLevel != 0 {
			member.UserID = u.ID
			if err := f.sim.AddMember(ctx, member); err != nil {
				t.Fatal(err)
			}
		}
		return u
	}
	author := user("author", false, gitlabsim.MemberOptions{Project: path, AccessLevel: gitlabsim.Developer})
	f.mia = user("mia", false, gitlabsim.MemberOptions{Group: "acme", AccessLevel: gitlabsim.Maintainer})
	f.dev = user("dev", false, gitlabsim.MemberOptions{Project: path, AccessLevel: gitlabsim.Developer})
	f.boss = user("boss", true, gitlabsim.MemberOptions{})
	f.stranger = user("stranger", false, gitlabsim.MemberOptions{})
	if err := f.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: path, UserID: f.user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	if f.mainHead, err = f.sim.ResolveRef(ctx, path, "main"); err != nil {
		t.Fatal(err)
	}
	mr := func(branch string, n int) (gitlabsim.MergeRequest, gitlabsim.PushResult) {
		var commits []gitlabsim.CommitSpec
		for i := range n {
			commits = append(commits, gitlabsim.CommitSpec{Message: fmt.Sprintf("%s %d", branch, i),
				Actions: []gitlabsim.FileAction{{Action: "create", Path: fmt.Sprintf("%s-%d.tf", branch, i), Content: "\n"}}})
		}
		push, err := f.sim.Push(ctx, gitlabsim.PushOptions{Project: path, Branch: branch, UserID: author.ID, Commits: commits})
		if err != nil {
			t.Fatal(err)
		}
		m, err := f.sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: path, SourceBranch: branch, Title: branch, UserID: author.ID})
		if err != nil {
			t.Fatal(err)
		}
		return m, push
	}
	var push gitlabsim.PushResult
	f.approved, push = mr("approved", 2)
	f.approvedFirstSHA = push.Commits[0]
	for _, u := range []gitlabsim.User{f.mia, f.dev, f.boss} {
		if f.approved, err = f.sim.ApproveMergeRequest(ctx, path, f.approved.IID, u.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.pending, _ = mr("pending", 1)
	f.merged, _ = mr("merged", 1)
	if f.merged, err = f.sim.MergeMergeRequest(ctx, path, f.merged.IID, f.mia.ID); err != nil {
		t.Fatal(err)
	}
	f.ep = vcs.Endpoint{Integration: "gl", APIHost: f.url, Token: f.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})}
	return f
}

func TestMergeRequestApprovals(t *testing.T) {
	t.Parallel()
	f := approvalSetup(t)
	tests := []struct {
		name string
		mr   gitlabsim.MergeRequest
		want vcs.Approvals
	}{
		{"approved by a maintainer, a developer and a non-member admin", f.approved, vcs.Approvals{
			IID: int64(f.approved.IID), State: "opened", HeadSHA: f.approved.HeadSHA, Approved: true, ApprovalsLeft: 0,
			ApprovedBy: []vcs.Approver{
				{ID: int64(f.mia.ID), Username: "mia", AccessLevel: vcs.AccessMaintainer},
				{ID: int64(f.dev.ID), Username: "dev", AccessLevel: vcs.AccessDeveloper},
				{ID: int64(f.boss.ID), Username: "boss", AccessLevel: vcs.AccessNone},
			}}},
		{"no approvals", f.pending, vcs.Approvals{
			IID: int64(f.pending.IID), State: "opened", HeadSHA: f.pending.HeadSHA, Approved: false, ApprovalsLeft: 1}},
		{"merged", f.merged, vcs.Approvals{
			IID: int64(f.merged.IID), State: "merged", HeadSHA: f.merged.HeadSHA, Approved: false, ApprovalsLeft: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.c.MergeRequestApprovals(t.Context(), f.ep, f.projectID, int64(tt.mr.IID))
			if err != nil {
				t.Fatal(err)
			}
			if !approvalsEqual(got, tt.want) {
				t.Errorf("MergeRequestApprovals = %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name           string
		project, iid   int64
		wantInMessages string
	}{
		{"unknown merge request", f.projectID, 999, "merge request !999"},
		{"unknown project", 999, 1, "project 999"},
	} {
		_, err := f.c.MergeRequestApprovals(t.Context(), f.ep, tt.project, tt.iid)
		if !apperr.Is(err, apperr.NotFound) || !strings.Contains(err.Error(), tt.wantInMessages) {
			t.Errorf("%s: err = %v, want not_found about %q", tt.name, err, tt.wantInMessages)
		}
	}
}

func approvalsEqual(a, b vcs.Approvals) bool {
	return a.IID == b.IID && a.State == b.State && a.HeadSHA == b.HeadSHA && a.Approved == b.Approved &&
		a.ApprovalsLeft == b.ApprovalsLeft && slices.Equal(a.ApprovedBy, b.ApprovedBy)
}

func TestProjectAccessLevel(t *testing.T) {
	t.Parallel()
	f := approvalSetup(t)
	tests := []struct {
		name string
		user int64
		want int64
	}{
		{"maintainer through the group", int64(f.mia.ID), vcs.AccessMaintainer},
		{"developer on the project", int64(f.dev.ID), vcs.AccessDeveloper},
		{"administrator, no member", int64(f.boss.ID), vcs.AccessNone},
		{"no member", int64(f.stranger.ID), vcs.AccessNone},
		{"no such user", 99999, vcs.AccessNone},
	}
	for _, tt := range tests {
		got, err := f.c.ProjectAccessLevel(t.Context(), f.ep, f.projectID, tt.user)
		if err != nil || got != tt.want {
			t.Errorf("%s: level = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if _, err := f.c.ProjectAccessLevel(t.Context(), f.ep, 999, int64(f.mia.ID)); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("unknown project: err = %v, want not_found", err)
	}
}

func TestCommitMergeRequests(t *testing.T) {
	t.Parallel()
	f := approvalSetup(t)
	approved := vcs.CommitMergeRequest{IID: int64(f.approved.IID), State: "opened", SourceBranch: "approved",
		TargetBranch: "main", HeadSHA: f.approved.HeadSHA}
	merged := vcs.CommitMergeRequest{IID: int64(f.merged.IID), State: "merged", SourceBranch: "merged",
		TargetBranch: "main", HeadSHA: f.merged.HeadSHA, MergeCommitSHA: f.merged.MergeCommitSHA}
	tests := []struct {
		name string
		sha  string
		want []vcs.CommitMergeRequest
	}{
		{"open merge request by its head", f.approved.HeadSHA, []vcs.CommitMergeRequest{approved}},
		{"open merge request by an earlier commit", f.approvedFirstSHA, []vcs.CommitMergeRequest{approved}},
		{"merged merge request by its merge commit", f.merged.MergeCommitSHA, []vcs.CommitMergeRequest{merged}},
		{"a commit of no merge request", f.mainHead, nil},
		{"a commit GitLab does not know", strings.Repeat("0123456789", 4), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.c.CommitMergeRequests(t.Context(), f.ep, f.projectID, tt.sha)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("CommitMergeRequests = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	for _, sha := range []string{"main", f.merged.MergeCommitSHA[:12], strings.ToUpper(f.mainHead)} {
		if _, err := f.c.CommitMergeRequests(t.Context(), f.ep, f.projectID, sha); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("sha %q: err = %v, want invalid", sha, err)
		}
	}
	if _, err := f.c.CommitMergeRequests(t.Context(), f.ep, 999, f.mainHead); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("unknown project: err = %v, want not_found", err)
	}
}

// hostileGitLab answers a merge request with n approvers named name, each
// a Developer, and endless pages of a commit's merge requests.
func hostileGitLab(t *testing.T, n int, name string) vcs.Endpoint {
	t.Helper()
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/v4/projects/1/merge_requests/1", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"iid": 1, "state": "opened", "sha": strings.Repeat("a", 40)})
	})
	mux.HandleFunc("GET /api/v4/projects/1/merge_requests/1/approvals", func(w http.ResponseWriter, r *http.Request) {
		by := make([]any, n)
		for i := range by {
			by[i] = map[string]any{"user": map[string]any{"id": i + 1, "username": name}}
		}
		reply(w, map[string]any{"approved": true, "approved_by": by})
	})
	mux.HandleFunc("GET /api/v4/projects/1/members/all/{user}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"username": "x", "access_level": 30})
	})
	mux.HandleFunc("GET /api/v4/projects/1/repository/commits/{sha}/merge_requests", func(w http.ResponseWriter, r *http.Request) {
		page := 1
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		w.Header().Set("X-Next-Page", fmt.Sprint(page+1))
		reply(w, []any{map[string]any{"iid": page, "state": "opened"}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return vcs.Endpoint{APIHost: srv.URL, Token: "t"}
}

func TestApprovalsBoundHostileAnswers(t *testing.T) {
	t.Parallel()
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	ctx := t.Context()

	long := strings.Repeat("é", 10_000)
	got, err := c.MergeRequestApprovals(ctx, hostileGitLab(t, 100, long), 1, 1)
	if err != nil || len(got.ApprovedBy) != 100 {
		t.Fatalf("100 approvers: %d, %v", len(got.ApprovedBy), err)
	}
	if u := got.ApprovedBy[0].Username; len([]rune(u)) != 255 || !strings.HasSuffix(u, "…") || got.ApprovedBy[0].AccessLevel != vcs.AccessDeveloper {
		t.Errorf("approver = %d runes ending %q, level %d; want a 255-rune name, cut, level 30",
			len([]rune(u)), u[len(u)-3:], got.ApprovedBy[0].AccessLevel)
	}
	if _, err := c.MergeRequestApprovals(ctx, hostileGitLab(t, 101, "x"), 1, 1); err == nil || !strings.Contains(err.Error(), "101 approvers") {
		t.Errorf("101 approvers: err = %v, want refused", err)
	}
	if _, err := c.CommitMergeRequests(ctx, hostileGitLab(t, 0, ""), 1, strings.Repeat("b", 40)); err == nil || !strings.Contains(err.Error(), "more than 10 pages") {
		t.Errorf("endless pages: err = %v, want refused", err)
	}
}

// MergeRequestChecks reads GitLab's verdicts; MergeMergeRequest merges at
// the applied head only, says unchanged for a merged one, and refuses for
// good (kind invalid) what GitLab will not merge or a moved head.
func TestMergeRequestChecksAndMerge(t *testing.T) {
	t.Parallel()
	f := approvalSetup(t)
	ctx := t.Context()
	checks := func(mr gitlabsim.MergeRequest) vcs.MergeChecks {
		t.Helper()
		c, err := f.c.MergeRequestChecks(ctx, f.ep, f.projectID, int64(mr.IID))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := checks(f.pending); c.DetailedMergeStatus != "not_approved" || c.Approved || c.ApprovalsLeft != 1 ||
		c.HeadSHA != f.pending.HeadSHA || c.DivergedCommits != 2 || c.StatusesRead {
		// main got the merged merge request's commit and merge commit
		// after the pending one branched off
		t.Errorf("checks of an unapproved merge request = %+v", c)
	}
	if c := checks(f.approved); c.DetailedMergeStatus != "mergeable" || !c.Approved || c.ApprovalsLeft != 0 {
		t.Errorf("checks of an approved merge request = %+v", c)
	}
	if _, err := f.c.MergeRequestChecks(ctx, f.ep, f.projectID, 999); vcs.KindOf(err) != vcs.KindNotFound {
		t.Errorf("checks of a missing merge request: %v", err)
	}

	const path = "acme/infra"
	for _, tc := range []struct {
		name string
		mr   gitlabsim.MergeRequest
		sha  string
		kind vcs.ErrorKind
		msg  string
	}{
		{"merged already", f.merged, f.merged.HeadSHA, vcs.KindUnchanged, "merged already"},
		{"head moved", f.approved, f.approvedFirstSHA, vcs.KindInvalid, "head moved"},
		{"not approved", f.pending, f.pending.HeadSHA, vcs.KindInvalid, "GitLab will not merge it"},
	} {
		err := f.c.MergeMergeRequest(ctx, f.ep, path, int64(tc.mr.IID), tc.sha)
		var e *vcs.Error
		if !errors.As(err, &e) || e.Kind != tc.kind || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: MergeMergeRequest = %v (kind %s), want kind %s with %q", tc.name, err, vcs.KindOf(err), tc.kind, tc.msg)
		}
	}
	if err := f.c.MergeMergeRequest(ctx, f.ep, path, int64(f.approved.IID), "main"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("merge at a branch name: %v", err)
	}
	if err := f.c.MergeMergeRequest(ctx, f.ep, path, int64(f.approved.IID), f.approved.HeadSHA); err != nil {
		t.Fatalf("merge of an approved merge request at its head: %v", err)
	}
	if m, err := f.sim.MergeRequest(path, f.approved.IID); err != nil || m.State != "merged" || m.MergedByID != f.user.ID {
		t.Errorf("after the merge: %s by %d, %v", m.State, m.MergedByID, err)
	}
}
