package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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
	ctx := t.Context()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot", Bot: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{
		"network/main.tf": "resource \"terraform_data\" \"net\" {\n  input = \"10.0.0.0/16\"\n}\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: user.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	return confirmSide{sim: sim, url: u, token: tok.Value}
}

// planTracked connects p to GitLab, creates the stack and pushes a change
// to main; it returns the admin key and the tracked run, once UNCONFIRMED.
func (c confirmSide) planTracked(t *testing.T, p *hoistProcess, dataDir string) (key, runID, stackID string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(string(b))
	var it struct {
		WebhookEndpoint string `json:"webhook_endpoint"`
		WebhookSecret   string `json:"webhook_secret"`
	}
	p.call(t, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": c.url, "token": c.token}, &it, http.StatusCreated)
	if _, err := c.sim.AddHook(t.Context(), "acme/infra", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	var st struct{ ID string }
	p.call(t, "POST", "/api/v1/stacks", key, map[string]any{"name": "network", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "network"}, &st, http.StatusCreated)
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
func waitRunState(t *testing.T, p *hoistProcess, key, stackID, id, state string) string {
	t.Helper()
	waitUntil(t, 2*time.Minute, "run "+id+" "+state, func() bool {
		var runs struct {
			Items []struct{ ID, Type, State, Error string }
		}
		p.call(t, "GET", "/api/v1/stacks/"+stackID+"/runs", key, nil, &runs, http.StatusOK)
		for _, r := range runs.Items {
			if r.Type != "TRACKED" || (id != "" && r.ID != id) {
				continue
			}
			if r.State == "FAILED" {
				t.Fatalf("run %s failed: %s\n%s", r.ID, r.Error, p.stderr.String())
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
func confirmAndCheck(t *testing.T, p *hoistProcess, key, stackID, runID string) {
	t.Helper()
	p.call(t, "POST", "/api/v1/runs/"+runID+"/confirm", key, nil, nil, http.StatusOK)
	waitRunState(t, p, key, stackID, runID, "FINISHED")
	var versions struct {
		Items []struct {
			Run string `json:"run"`
		}
	}
	p.call(t, "GET", "/api/v1/stacks/"+stackID+"/state-versions", key, nil, &versions, http.StatusOK)
	if len(versions.Items) != 1 || versions.Items[0].Run != runID {
		t.Errorf("state versions after the apply: %+v, want one, by run %s", versions.Items, runID)
	}
}

// tofuBinary is the OpenTofu scripts/install-tofu.sh builds; the test
// skips without it.
func tofuBinary(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	tofu := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", "tofu")
	if _, err := os.Stat(tofu); err != nil {
		t.Skip("no OpenTofu (run scripts/install-tofu.sh)")
	}
	return tofu
}

// freePort is a loopback address nothing listens on at the time of the call.
func freePort(t *testing.T) string {
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
	bin := buildHoist(t)
	tofuEnv := []string{"PATH=" + filepath.Dir(tofuBinary(t)) + string(os.PathListSeparator) + os.Getenv("PATH")}

	t.Run("restart on the same data dir and another port", func(t *testing.T) {
		t.Parallel()
		gl := newConfirmSide(t)
		dataDir := t.TempDir()
		first := startHoistEnv(t, bin, dataDir, tofuEnv, "--worker-slots", "1", "--listen", freePort(t))
		key, runID, stackID := gl.planTracked(t, first, dataDir)
		first.stop(t)
		second := startHoistEnv(t, bin, dataDir, tofuEnv, "--worker-slots", "1", "--listen", freePort(t))
		if second.url == first.url {
			t.Fatalf("the restarted server listens where the first did (%s)", second.url)
		}
		confirmAndCheck(t, second, key, stackID, runID)
	})

	t.Run("another server on the same PostgreSQL database", func(t *testing.T) {
		t.Parallel()
		db := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
		gl := newConfirmSide(t)
		dirA, dirB := t.TempDir(), t.TempDir()
		first := startHoistEnv(t, bin, dirA, tofuEnv, "--worker-slots", "1", "--database-url", db)
		key, runID, stackID := gl.planTracked(t, first, dirA)
		// Replicas share the encryption key (the state token is sealed with it).
		k, err := os.ReadFile(filepath.Join(dirA, secret.KeyFileName))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, secret.KeyFileName), k, 0o600); err != nil {
			t.Fatal(err)
		}
		second := startHoistEnv(t, bin, dirB, tofuEnv, "--worker-slots", "1", "--database-url", db)
		// The first replica is gone: only the second can apply.
		first.stop(t)
		confirmAndCheck(t, second, key, stackID, runID)
	})
}
