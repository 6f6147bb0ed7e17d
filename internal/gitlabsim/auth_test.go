package gitlabsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

func TestStatusTransitionRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, requested, want, err string
	}{
		{"created", "pending", "pending", ""},
		{"created", "running", "running", ""},
		{"pending", "running", "running", ""},
		{"created", "success", "success", ""},
		{"pending", "success", "success", ""},
		{"running", "failed", "failed", ""},
		{"running", "canceled", "canceled", ""},
		{"created", "skipped", "skipped", ""},
		{"running", "running", "", `Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")`},
		{"pending", "pending", "", `Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")`},
		{"running", "pending", "", `Cannot transition status via :enqueue from :running (Reason(s): Status cannot transition via "enqueue")`},
		{"running", "skipped", "", `Cannot transition status via :skip from :running (Reason(s): Status cannot transition via "skip")`},
	}
	for _, tt := range tests {
		got, msg := transitionStatus(tt.from, tt.requested)
		if got != tt.want || msg != tt.err {
			t.Errorf("%s → %s = %q, %q; want %q, %q", tt.from, tt.requested, got, msg, tt.want, tt.err)
		}
	}
}

func TestCommitStatusesOverAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pid := f.project.PathWithNamespace
	sha, err := f.sim.ResolveRef(context.Background(), pid, "main")
	if err != nil {
		t.Fatal(err)
	}
	post := func(state string) (*gitlab.CommitStatus, error) {
		st, _, err := f.client.Commits.SetCommitStatus(pid, sha, &gitlab.SetCommitStatusOptions{
			State: gitlab.BuildStateValue(state), Name: gitlab.Ptr("hoist/app"), Ref: gitlab.Ptr("main"),
			TargetURL: gitlab.Ptr("http://hoist/runs/1"), Description: gitlab.Ptr("+1 ~0 -0")})
		return st, err
	}
	first, err := post("pending")
	if err != nil || first.Status != "pending" || first.Name != "hoist/app" || first.Ref != "main" || first.PipelineID == 0 {
		t.Fatalf("pending = %+v, %v", first, err)
	}
	if _, err := post("pending"); statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Cannot transition status via :enqueue from :pending") {
		t.Errorf("pending twice: %v", err)
	}
	running, err := post("running")
	if err != nil || running.ID != first.ID || running.Status != "running" {
		t.Fatalf("running = %+v, %v", running, err)
	}
	_, err = post("running")
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")`) {
		t.Errorf("running twice: %v", err)
	}
	done, err := post("success")
	if err != nil || done.ID != first.ID || done.Status != "success" || done.FinishedAt == nil {
		t.Fatalf("success = %+v, %v", done, err)
	}
	// A finished status is replaced by a new one.
	again, err := post("running")
	if err != nil || again.ID == first.ID || again.Status != "running" {
		t.Fatalf("after finish = %+v, %v", again, err)
	}
	latest, _, err := f.client.Commits.GetCommitStatuses(pid, sha, nil)
	if err != nil || len(latest) != 1 || latest[0].ID != again.ID {
		t.Fatalf("latest statuses = %v, %v", latest, err)
	}
	all, _, err := f.client.Commits.GetCommitStatuses(pid, sha, &gitlab.GetCommitStatusesOptions{All: gitlab.Ptr(true)})
	if err != nil || len(all) != 2 {
		t.Fatalf("all statuses = %v, %v", all, err)
	}
	if recorded, err := f.sim.CommitStatuses(pid, sha); err != nil || len(recorded) != 2 || !recorded[0].Retried || recorded[1].State != "running" {
		t.Errorf("recorded statuses = %+v, %v", recorded, err)
	}
	if _, _, err := f.client.Commits.SetCommitStatus(pid, strings.Repeat("ab", 20), &gitlab.SetCommitStatusOptions{State: gitlab.Pending}); !errors.Is(err, gitlab.ErrNotFound) {
		t.Errorf("status on unknown commit: %v", err)
	}
}

func TestScopesTokensAndAccessLevels(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	pid := f.project.PathWithNamespace
	sha, err := f.sim.ResolveRef(ctx, pid, "main")
	if err != nil {
		t.Fatal(err)
	}
	status := &gitlab.SetCommitStatusOptions{State: gitlab.Running, Name: gitlab.Ptr("x")}

	// read_api reads but cannot write: 403 insufficient_scope.
	_, readTok := addUser(t, f.sim, "reader", Maintainer, pid, "read_api")
	rc := newClient(t, f.url, readTok)
	if _, _, err := rc.Projects.GetProject(pid, nil); err != nil {
		t.Errorf("read_api read: %v", err)
	}
	_, _, err = rc.Commits.SetCommitStatus(pid, sha, status)
	if statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "insufficient_scope") {
		t.Errorf("read_api write: %v", err)
	}
	// read_repository alone cannot use the API.
	_, repoTok := addUser(t, f.sim, "cloner", Maintainer, pid, "read_repository")
	if _, _, err := newClient(t, f.url, repoTok).Projects.GetProject(pid, nil); statusOf(err) != http.StatusForbidden {
		t.Errorf("read_repository API call: %v", err)
	}

	// Reporter cannot post statuses; Developer can.
	_, repTok := addUser(t, f.sim, "rep", Reporter, pid, "api")
	if _, _, err := newClient(t, f.url, repTok).Commits.SetCommitStatus(pid, sha, status); statusOf(err) != http.StatusForbidden {
		t.Errorf("reporter posts status: %v", err)
	}
	_, devTok := addUser(t, f.sim, "dev", Developer, pid, "api")
	if _, _, err := newClient(t, f.url, devTok).Commits.SetCommitStatus(pid, sha, status); err != nil {
		t.Errorf("developer posts status: %v", err)
	}

	// Unknown, revoked and expired tokens: 401, with GitLab's bodies.
	if _, _, err := newClient(t, f.url, "glpat-nope").Users.CurrentUser(); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("unknown token: %v", err)
	}
	if body := rawGet(t, f.url+"/api/v4/user", "glpat-nope"); body != `{"message":"401 Unauthorized"}` {
		t.Errorf("unknown token body = %s", body)
	}
	u, _ := addUser(t, f.sim, "gone", Developer, pid)
	revoked, err := f.sim.CreateToken(ctx, TokenOptions{UserID: u.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = newClient(t, f.url, revoked.Value).PersonalAccessTokens.GetSinglePersonalAccessToken()
	if statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "Token was revoked") {
		t.Errorf("revoked token: %v", err)
	}
	yesterday := time.Now().AddDate(0, 0, -1)
	expired, err := f.sim.CreateToken(ctx, TokenOptions{UserID: u.ID, Scopes: []string{"api"}, ExpiresAt: &yesterday})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = newClient(t, f.url, expired.Value).Users.CurrentUser()
	if statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "Token is expired") {
		t.Errorf("expired token: %v", err)
	}
	// Bearer works as well as PRIVATE-TOKEN.
	req, err := http.NewRequest(http.MethodGet, f.url+"/api/v4/user", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("bearer: %d", resp.StatusCode)
	}
}
