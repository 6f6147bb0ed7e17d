package gitlab_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// waitEnded waits until the simulator saw n connections end.
func waitEnded(t *testing.T, sim *gitlabsim.Server, n int64) {
	t.Helper()
	apptest.Eventually(t, 5*time.Second, fmt.Sprintf("%d connections to end", n), func() error {
		if accepted, ended := sim.Connections(); ended < n {
			return fmt.Errorf("%d ended (of %d accepted)", ended, accepted)
		}
		return nil
	})
}

// accepted is how many connections the simulator accepted.
func accepted(sim *gitlabsim.Server) int64 {
	n, _ := sim.Connections()
	return n
}

// connFixture is a simulator project with a second commit on main, a
// Maintainer token, and its endpoint.
type connFixture struct {
	simEnv
	ep            vcs.Endpoint
	projectID     int64
	before, after string
}

func connSetup(t *testing.T) connFixture {
	t.Helper()
	f := connFixture{simEnv: startSim(t)}
	ctx := t.Context()
	p, err := f.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"main.tf": "\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: f.user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	push, err := f.sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", Commits: []gitlabsim.CommitSpec{
		{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# v2\n"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.projectID, f.before, f.after = int64(p.ID), push.Before, push.After
	f.ep = vcs.Endpoint{Integration: "gl", APIHost: f.url, Token: f.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})}
	return f
}

func (f connFixture) compare(t *testing.T, c *gitlab.Client, ep vcs.Endpoint) {
	t.Helper()
	files, err := c.CompareFiles(t.Context(), ep, f.projectID, f.before, f.after)
	if err != nil || len(files) != 2 {
		t.Fatalf("CompareFiles = %q, %v", files, err)
	}
}

// TestOneConnectionPerIntegration: every kind of call of one integration
// goes through one client, whose kept-alive connection they share, where
// a transport per call opened a connection each.
func TestOneConnectionPerIntegration(t *testing.T) {
	t.Parallel()
	f := connSetup(t)
	c := gitlab.New(nil, nil)
	t.Cleanup(c.Close)
	ctx := t.Context()
	for range 50 {
		f.compare(t, c, f.ep)
	}
	info, err := c.CheckToken(ctx, f.ep)
	if err != nil {
		t.Fatal(err)
	}
	q := vcs.RepoQuery{Repository: "acme/infra", Branch: "main", UserID: info.UserID}
	if _, err := c.CheckRepository(ctx, f.ep, q); err != nil {
		t.Fatal(err)
	}
	if err := c.Archive(ctx, f.ep, "acme/infra", f.after, "", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ProjectHooks(ctx, f.ep, "acme/infra"); err != nil {
		t.Fatal(err)
	}
	st := vcs.CommitStatus{Project: "acme/infra", SHA: f.after, Name: "hoist/infra", State: "pending"}
	if err := c.SetCommitStatus(ctx, f.ep, st); err != nil {
		t.Fatal(err)
	}
	if n := accepted(f.sim); n != 1 {
		t.Errorf("%d connections opened for one integration's calls in a row, want 1", n)
	}

	// Another integration on the same GitLab has a client of its own.
	other := f.ep
	other.Integration = "gl-2"
	f.compare(t, c, other)
	if n := accepted(f.sim); n != 2 {
		t.Errorf("%d connections opened for two integrations, want 2", n)
	}
}

// TestChangedEndpointReplacesClient: a new token (or host, or CA bundle)
// makes the integration's next call build a new client and close the old
// one's idle connections; Forget and Close close them too, and a call
// without an integration closes its own after it.
func TestChangedEndpointReplacesClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// after runs once the integration's first compare left an idle
		// connection; it must close that connection.
		after func(t *testing.T, f connFixture, c *gitlab.Client)
		// opened is how many connections the server accepted in all.
		opened int64
	}{
		{"new token", func(t *testing.T, f connFixture, c *gitlab.Client) {
			ep := f.ep
			ep.Token = f.token(t, gitlabsim.TokenOptions{Scopes: []string{"api"}})
			f.compare(t, c, ep)
			f.compare(t, c, ep)
		}, 2},
		{"forget", func(t *testing.T, f connFixture, c *gitlab.Client) { c.Forget(f.ep.Integration) }, 1},
		{"close", func(t *testing.T, f connFixture, c *gitlab.Client) { c.Close() }, 1},
		{"one-off call", func(t *testing.T, f connFixture, c *gitlab.Client) {
			ep := f.ep
			ep.Integration = ""
			f.compare(t, c, ep)
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := connSetup(t)
			c := gitlab.New(nil, nil)
			t.Cleanup(c.Close)
			f.compare(t, c, f.ep)
			tt.after(t, f, c)
			waitEnded(t, f.sim, 1)
			if n := accepted(f.sim); n != tt.opened {
				t.Errorf("%d connections opened, want %d", n, tt.opened)
			}
		})
	}
}
