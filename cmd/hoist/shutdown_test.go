package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// slowNetwork is a configuration whose plan waits on slow and adds one
// resource.
func slowNetwork(slow *apptest.SlowState, input string) string {
	return slow.DataSource() + `resource "terraform_data" "net" { input = "` + input + `" }
`
}

// TestSIGTERMDuringPlanHandsTheRunBack is issue 16's acceptance 6 through
// the real program: SIGTERM reaches a server whose embedded worker is in
// the middle of a plan. /readyz turns 503 (while /healthz stays 200), the
// process exits 0 within --shutdown-timeout, the run is handed back
// (READY, noted in its history) instead of failing as lost, and it
// finishes on the next server: the same data dir restarted, or another
// replica on the same PostgreSQL database, which takes it at once. GitLab
// accepted a valid sequence of commit statuses, refused none, and shows
// the final state once.
func TestSIGTERMDuringPlanHandsTheRunBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary with OpenTofu")
	}
	t.Parallel()
	tofuEnv := []string{"PATH=" + filepath.Dir(apptest.Tofu(t)) + string(os.PathListSeparator) + os.Getenv("PATH")}
	flags := []string{"--worker-slots", "1", "--shutdown-timeout", "10s"}

	t.Run("restart on the same data dir", func(t *testing.T) {
		t.Parallel()
		dataDir := t.TempDir()
		start := func() *apptest.Process { return startBinary(t, dataDir, tofuEnv, flags...) }
		handBackAcrossShutdown(t, dataDir, start, start, false)
	})

	t.Run("another replica on the same PostgreSQL database", func(t *testing.T) {
		t.Parallel()
		db := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
		dirA, dirB := t.TempDir(), t.TempDir()
		withDB := append(slices.Clone(flags), "--database-url", db)
		first := func() *apptest.Process { return startBinary(t, dirA, tofuEnv, withDB...) }
		replica := func() *apptest.Process {
			// Replicas share the encryption key (run secrets are sealed with it).
			k, err := os.ReadFile(filepath.Join(dirA, secret.KeyFileName))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dirB, secret.KeyFileName), k, 0o600); err != nil {
				t.Fatal(err)
			}
			return startBinary(t, dirB, tofuEnv, withDB...)
		}
		handBackAcrossShutdown(t, dirA, first, replica, true)
	})
}

// handBackAcrossShutdown runs the acceptance: first() is the server the
// plan starts on (its data dir holds the admin key), next() the one that
// finishes it: started before the SIGTERM when replica is set, else after,
// as a restart.
func handBackAcrossShutdown(t *testing.T, dataDir string, first, next func() *apptest.Process, replica bool) {
	t.Helper()
	gl := newConfirmSide(t)
	a := first()
	// A first plan connects everything; discarded, it frees the stack.
	key, warmup, stackID := gl.planTracked(t, a, dataDir)
	a.Must(http.StatusOK, "POST", "/api/v1/runs/"+warmup+"/discard", key, nil)
	waitSettled(t, a, key, warmup)
	postsBefore := gl.sim.CallCount("POST /api/v4/projects/*/statuses/*")

	slow := apptest.NewSlowState(t)
	push, err := gl.sim.Push(t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", Commits: []gitlabsim.CommitSpec{
		{Message: "read the shared state", Actions: []gitlabsim.FileAction{{Action: "update", Path: "network/main.tf", Content: slowNetwork(slow, "10.1.0.0/16")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	slow.WaitRequests(t, 1, 2*time.Minute)
	runID := waitRunState(t, a, key, stackID, "", "PLANNING")
	apptest.Eventually(t, 30*time.Second, "GitLab to show the run running", func() bool {
		return strings.HasSuffix(sentStatuses(t, a, key, runID), "running")
	})
	var n *apptest.Process
	if replica {
		n = next() // up before the first goes down
	}

	var unready atomic.Bool
	stopPolling := pollReadyz(t, a.URL, &unready)
	sent := time.Now()
	if err := a.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	switch st, ok := a.Exited(15 * time.Second); {
	case !ok:
		t.Fatalf("hoist server still running %s after SIGTERM (--shutdown-timeout 10s):\n%s", time.Since(sent), a.Stderr())
	case !st.Success():
		t.Fatalf("hoist server exited with %v after SIGTERM, want 0:\n%s", st, a.Stderr())
	}
	exited := time.Since(sent)
	stopPolling()
	t.Logf("the server exited %v after SIGTERM", exited.Round(time.Millisecond))
	if exited > 11*time.Second {
		t.Errorf("the server took %v to exit; --shutdown-timeout is 10s", exited)
	}
	if !unready.Load() {
		t.Errorf("/readyz never answered 503 while /healthz answered 200 during the shutdown")
	}
	if !strings.Contains(a.Stderr(), "run handed back") {
		t.Errorf("the server's log does not say it handed the run back:\n%s", a.Stderr())
	}

	slow.Release()
	if !replica {
		n = next()
	}
	waitRunState(t, n, key, stackID, runID, "UNCONFIRMED")
	if replica && time.Since(sent) > 30*time.Second {
		t.Errorf("the replica planned the run %v after the SIGTERM: it waited for the lease to run out", time.Since(sent))
	}
	var r api.Run
	n.Must(http.StatusOK, "GET", "/api/v1/runs/"+runID, key, nil).Decode(t, &r)
	var states []string
	for _, h := range r.History {
		states = append(states, h.State)
	}
	want := "QUEUED READY PREPARING INITIALIZING PLANNING READY PREPARING INITIALIZING PLANNING UNCONFIRMED"
	if got := strings.Join(states, " "); got != want || !strings.Contains(r.History[5].Note, "handed back") {
		t.Errorf("history %s (hand-back note %q), want %s", got, r.History[5].Note, want)
	}
	waitSettled(t, n, key, runID) // GitLab shows the plan before the confirmation
	n.Must(http.StatusOK, "POST", "/api/v1/runs/"+runID+"/confirm", key, nil)
	waitRunState(t, n, key, stackID, runID, "FINISHED")
	waitSettled(t, n, key, runID)

	// What GitLab accepted, in order: every status post was one of these.
	// A pending still unsent when running follows is superseded by it.
	got := sentStatuses(t, n, key, runID)
	if !validCycles.MatchString(got) {
		t.Errorf("GitLab accepted %q, want %s", got, validCycles)
	}
	if posts := gl.sim.CallCount("POST /api/v4/projects/*/statuses/*") - postsBefore; posts != len(strings.Fields(got)) {
		t.Errorf("%d status posts for the run, %d accepted: GitLab refused some", posts, len(strings.Fields(got)))
	}
	sts, err := gl.sim.CommitStatuses("acme/infra", push.After)
	if err != nil {
		t.Fatal(err)
	}
	final := 0
	for _, s := range sts {
		if !s.Retried {
			final++
			if s.State != "success" || !strings.Contains(s.Description, "applied") {
				t.Errorf("%s is %s %q, want success, applied", s.Name, s.State, s.Description)
			}
		}
	}
	if final != 1 {
		t.Errorf("%d current statuses on the commit, want 1: %+v", final, sts)
	}
}

// validCycles is the commit status of a tracked run planned, confirmed and
// applied: each state once, in order.
var validCycles = regexp.MustCompile(`^(pending )?running success (pending )?running success$`)

// sentStatuses is the commit states GitLab accepted for the run, in order:
// its status writes that are done, not refused as already there.
func sentStatuses(t *testing.T, p *apptest.Process, key, runID string) string {
	t.Helper()
	var r api.Run
	p.Must(http.StatusOK, "GET", "/api/v1/runs/"+runID, key, nil).Decode(t, &r)
	var out []string
	for _, w := range r.GitLabWrites {
		if w.Kind != "status" || w.State != "done" {
			continue
		}
		if !strings.HasPrefix(w.Result, "status ") {
			t.Errorf("GitLab refused %s: %s", w.Target, w.Result)
			continue
		}
		out = append(out, strings.TrimPrefix(w.Result, "status "))
	}
	return strings.Join(out, " ")
}

// waitSettled waits until none of the run's GitLab writes is still to be
// sent, and fails for any that failed.
func waitSettled(t *testing.T, p *apptest.Process, key, runID string) {
	t.Helper()
	apptest.Eventually(t, time.Minute, "the GitLab writes of run "+runID, func() bool {
		var r api.Run
		p.Must(http.StatusOK, "GET", "/api/v1/runs/"+runID, key, nil).Decode(t, &r)
		for _, w := range r.GitLabWrites {
			switch w.State {
			case "pending", "retrying":
				return false
			case "failed":
				t.Fatalf("GitLab write %s failed: %s", w.Target, w.LastError)
			}
		}
		return true
	})
}

// pollReadyz polls /readyz and /healthz until stopped, and sets unready
// once /readyz answered 503 "unavailable" while /healthz answered 200.
func pollReadyz(t *testing.T, base string, unready *atomic.Bool) (stop func()) {
	t.Helper()
	c := apitest.Client(t)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond): // polling, until stopped
			}
			ready, err := c.Get(base + "/readyz")
			if err != nil {
				continue // the server is gone
			}
			var body api.Error
			_ = json.NewDecoder(ready.Body).Decode(&body)
			ready.Body.Close()
			health, err := c.Get(base + "/healthz")
			if err != nil {
				continue
			}
			health.Body.Close()
			if ready.StatusCode == http.StatusServiceUnavailable && body.Error.Code == "unavailable" && health.StatusCode == http.StatusOK {
				unready.Store(true)
			}
		}
	}()
	return func() { close(done); <-stopped }
}
