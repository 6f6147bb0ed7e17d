package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// confirmSide is a GitLab (the simulator) with a project whose one stack
// plans a change, and what a test needs to drive it.
type confirmSide struct {
	sim   *gitlabsim.Server
	url   string
	token string
}

func newConfirmSide(t *testing.T) confirmSide {
	t.Helper()
	sim, u := apptest.StartGitLab(t)
	token := infraProject(t, sim, gitlabsim.UserOptions{Username: "hoist-bot", Bot: true}, map[string]string{
		"network/main.tf": "resource \"terraform_data\" \"net\" {\n  input = \"10.0.0.0/16\"\n}\n"})
	return confirmSide{sim: sim, url: u, token: token}
}

// planTracked connects p to GitLab, creates the stack and pushes a change
// to main; it returns the admin key and the tracked run, once UNCONFIRMED.
func (c confirmSide) planTracked(t *testing.T, p *apptest.Process, dataDir string) (key, runID, stackID string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(string(b))
	var it api.Integration
	p.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": c.url, "token": c.token}).Decode(t, &it)
	if _, err := c.sim.AddHook(t.Context(), "acme/infra", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	var st struct{ ID string }
	p.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": "network", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "network"}).Decode(t, &st)
	if _, err := c.sim.Push(t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "widen the network", Actions: []gitlabsim.FileAction{{Action: "update",
			Path: "network/main.tf", Content: "resource \"terraform_data\" \"net\" {\n  input = \"10.0.0.0/8\"\n}\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	runID = waitRunState(t, p, key, st.ID, "", "UNCONFIRMED")
	return key, runID, st.ID
}

// waitRunState waits (bounded) until the stack's run id (its only tracked
// run when id is "") is in state, failing early if it fails.
func waitRunState(t *testing.T, p *apptest.Process, key, stackID, id, state string) string {
	t.Helper()
	apptest.Eventually(t, 2*time.Minute, "run "+id+" "+state, func() bool {
		var runs struct {
			Items []struct{ ID, Type, State, Error string }
		}
		p.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stackID+"/runs", key, nil).Decode(t, &runs)
		for _, r := range runs.Items {
			if r.Type != "TRACKED" || (id != "" && r.ID != id) {
				continue
			}
			if r.State == "FAILED" {
				t.Fatalf("run %s failed: %s", r.ID, r.Error) // the server's log follows, from its cleanup
			}
			if r.State == state {
				id = r.ID
				return true
			}
		}
		return false
	})
	return id
}

// confirmAndCheck confirms the run through p and checks that it applied
// and saved the stack's state exactly once.
func confirmAndCheck(t *testing.T, p *apptest.Process, key, stackID, runID string) {
	t.Helper()
	p.Must(http.StatusOK, "POST", "/api/v1/runs/"+runID+"/confirm", key, nil)
	waitRunState(t, p, key, stackID, runID, "FINISHED")
	var versions struct {
		Items []struct {
			Run string `json:"run"`
		}
	}
	p.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stackID+"/state-versions", key, nil).Decode(t, &versions)
	if len(versions.Items) != 1 || versions.Items[0].Run != runID {
		t.Errorf("state versions after the apply: %+v, want one, by run %s", versions.Items, runID)
	}
}

// freePort is a loopback address nothing listens on at the time of the call.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestConfirmAfterRestart is issue 14's first acceptance through the real
// program: a tracked run planned by one server process is confirmed and
// applied by the next one, though the state backend the plan was made
// against (a loopback listener of the first process) is gone: the same data
// dir restarted on another --listen port, and a second server on the same
// PostgreSQL database.
func TestConfirmAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary with OpenTofu")
	}
	t.Parallel()
	tofuEnv := []string{"PATH=" + filepath.Dir(apptest.Tofu(t)) + string(os.PathListSeparator) + os.Getenv("PATH")}

	t.Run("restart on the same data dir and another port", func(t *testing.T) {
		t.Parallel()
		gl := newConfirmSide(t)
		dataDir := t.TempDir()
		first := startBinary(t, dataDir, tofuEnv, "--worker-slots", "1", "--listen", freePort(t))
		key, runID, stackID := gl.planTracked(t, first, dataDir)
		first.Stop()
		second := startBinary(t, dataDir, tofuEnv, "--worker-slots", "1", "--listen", freePort(t))
		if second.URL == first.URL {
			t.Fatalf("the restarted server listens where the first did (%s)", second.URL)
		}
		confirmAndCheck(t, second, key, stackID, runID)
	})

	t.Run("another server on the same PostgreSQL database", func(t *testing.T) {
		t.Parallel()
		db := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
		gl := newConfirmSide(t)
		dirA, dirB := t.TempDir(), t.TempDir()
		first := startBinary(t, dirA, tofuEnv, "--worker-slots", "1", "--database-url", db)
		key, runID, stackID := gl.planTracked(t, first, dirA)
		// Replicas share the encryption key (the state token is sealed with it).
		k, err := os.ReadFile(filepath.Join(dirA, secret.KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, secret.KeyFileName), k, 0o600); err != nil {
			t.Fatal(err)
		}
		second := startBinary(t, dirB, tofuEnv, "--worker-slots", "1", "--database-url", db)
		// The first replica is gone: only the second can apply.
		first.Stop()
		confirmAndCheck(t, second, key, stackID, runID)
	})
}
