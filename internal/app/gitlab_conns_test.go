package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
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
	compares := h.Sim.CallCount(compare)
	opened, _ := h.Sim.Connections()
	for i := range pushes {
		if _, err := h.Sim.CreateBranch(ctx, f.project, fmt.Sprintf("feature-%d", i), "main", h.SimUser.ID); err != nil {
			t.Fatal(err)
		}
		f.settle()
	}
	if n := h.Sim.CallCount(compare) - compares; n != pushes {
		t.Fatalf("%d compare calls for %d pushes, want one each", n, pushes)
	}
	total, _ := h.Sim.Connections()
	t.Logf("%d TCP connections to GitLab in all, %d during %d pushes", total, total-opened, pushes)
	if total > 5 {
		t.Errorf("%d TCP connections to GitLab for one integration, want at most a handful", total)
	}

	// A new token: the check of the token opens the new client's
	// connection, the old client's idle one is closed, and the next push's
	// compare uses the new one.
	opened, ended := h.Sim.Connections()
	h.Must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/gitlab", h.AdminKey,
		map[string]any{"token": h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})})
	if _, err := h.Sim.CreateBranch(ctx, f.project, "after-rotation", "main", h.SimUser.ID); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if now, _ := h.Sim.Connections(); now-opened != 1 {
		t.Errorf("%d connections opened after the token changed, want 1 (the new client's)", now-opened)
	}
	apptest.Eventually(t, 5*time.Second, "the old client's idle connection to close after the token changed", func() bool {
		_, now := h.Sim.Connections()
		return now > ended
	})
}
