package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestPushesShareGitLabConnections is issue 15's acceptance for the GitLab
// adapter: a hundred pushes in a row, each needing the compare call (a new
// branch is compared with the default branch), reuse the integration's
// connection instead of opening one each; a new token gets a new client
// and the old one's idle connection is closed.
func TestPushesShareGitLabConnections(t *testing.T) {
	t.Parallel()
	const pushes = 100
	f := hookSetup(t)
	h, ctx := f.harness, t.Context()

	const compare = "GET /api/v4/projects/*/repository/compare"
	compares := h.sim.CallCount(compare)
	opened, _ := h.sim.Connections()
	for i := range pushes {
		if _, err := h.sim.CreateBranch(ctx, f.project, fmt.Sprintf("feature-%d", i), "main", h.simUser.ID); err != nil {
			t.Fatal(err)
		}
		f.settle()
	}
	if n := h.sim.CallCount(compare) - compares; n != pushes {
		t.Fatalf("%d compare calls for %d pushes, want one each", n, pushes)
	}
	total, _ := h.sim.Connections()
	t.Logf("%d TCP connections to GitLab in all, %d during %d pushes", total, total-opened, pushes)
	if total > 5 {
		t.Errorf("%d TCP connections to GitLab for one integration, want at most a handful", total)
	}

	// A new token: the check of the token opens the new client's
	// connection, the old client's idle one is closed, and the next push's
	// compare uses the new one.
	opened, ended := h.sim.Connections()
	h.must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/gitlab", h.adminKey,
		map[string]any{"token": h.token(gitlabsim.TokenOptions{Scopes: []string{"api"}})})
	if _, err := h.sim.CreateBranch(ctx, f.project, "after-rotation", "main", h.simUser.ID); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if now, _ := h.sim.Connections(); now-opened != 1 {
		t.Errorf("%d connections opened after the token changed, want 1 (the new client's)", now-opened)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, now := h.sim.Connections(); now > ended {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old client's idle connection was not closed after the token changed")
		}
		time.Sleep(10 * time.Millisecond) // polling a bounded condition
	}
}
