package apptest

import (
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// StartGitLab starts a GitLab simulator on loopback, closed when the test
// ends, and returns it with its URL.
func StartGitLab(t testing.TB) (*gitlabsim.Server, string) {
	t.Helper()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u, err := sim.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sim, u
}
