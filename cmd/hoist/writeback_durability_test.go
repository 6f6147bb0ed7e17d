package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/worker"
)

// statusLog records every commit status GitLab (the simulator) accepted,
// in the order it accepted them, by status name.
type statusLog struct {
	mu     sync.Mutex
	states map[string][]string
}

var statusPost = regexp.MustCompile(`^/api/v4/projects/[^/]+/statuses/[0-9a-f]+$`)

func (l *statusLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !statusPost.MatchString(r.URL.EscapedPath()) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		if rec.Code != http.StatusCreated {
			return
		}
		var st struct{ Name, Status string }
		if json.Unmarshal(rec.Body.Bytes(), &st) == nil {
			l.mu.Lock()
			l.states[st.Name] = append(l.states[st.Name], st.Status)
			l.mu.Unlock()
		}
	})
}

func (l *statusLog) get(name string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states[name])
}

// TestSIGKILLWithPendingWritesLosesNone is issue 9's acceptance 3, second
// half, through the real program: pending statuses land; GitLab's status
// endpoint then answers 503 while three runs go running → failed; the
// server is SIGKILLed with those writes retrying; after GitLab recovers and
// the server restarts on the same data dir, every stack's status ends
// failed, each accepted state exactly once and in order (pending, failed:
// running was superseded before it could be sent), and no extra requests.
func TestSIGKILLWithPendingWritesLosesNone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary")
	}
	t.Parallel()
	ctx := t.Context()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	log := &statusLog{states: map[string][]string{}}
	ts := httptest.NewServer(log.wrap(sim.Handler()))
	t.Cleanup(ts.Close)
	sim.SetURL(ts.URL)
	stacks := []string{"a", "b", "c"}
	files := map[string]string{}
	for _, s := range stacks {
		files[s+"/main.tf"] = "\n"
	}
	token := infraProject(t, sim, gitlabsim.UserOptions{Username: "hoist-bot"}, files)

	// A short write lease, so that a write the kill interrupts mid-request
	// is taken over within seconds after the restart.
	dataDir := t.TempDir()
	flags := []string{"--gitlab-write-lease", "2s"}
	first := startBinary(t, dataDir, nil, flags...)
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	var it api.Integration
	first.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": ts.URL, "token": token}).Decode(t, &it)
	if _, err := sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	var pool struct{ ID, Token string }
	first.Must(http.StatusCreated, "POST", "/api/v1/worker-pools", key, map[string]any{"name": "remote"}).Decode(t, &pool)
	for _, s := range stacks {
		first.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": s, "space": "root", "repository": "acme/infra",
			"branch": "main", "project_root": s, "worker_pool": pool.ID})
	}

	var actions []gitlabsim.FileAction
	for _, s := range stacks {
		actions = append(actions, gitlabsim.FileAction{Action: "update", Path: s + "/main.tf", Content: "# v2\n"})
	}
	push, err := sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change all", Actions: actions}}})
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 30*time.Second, "the pending statuses", func() bool {
		for _, s := range stacks {
			if len(log.get("hoist/"+s)) == 0 {
				return false
			}
		}
		return true
	})

	// GitLab's status endpoint fails; the runs move on through a remote
	// worker (this test) and fail, so running and failed are enqueued.
	if _, err := sim.AddFault(gitlabsim.Fault{Method: "POST", Path: "/api/v4/projects/*/statuses/*", Status: 503}); err != nil {
		t.Fatal(err)
	}
	w := &worker.Client{BaseURL: first.URL, PoolToken: pool.Token, HTTP: apitest.Client(t)}
	var runIDs []string
	for range stacks {
		job, ok, err := w.Lease(ctx, "test-worker", 10*time.Second)
		if err != nil || !ok {
			t.Fatalf("lease: ok %v, err %v", ok, err)
		}
		if err := w.Finish(ctx, job.RunID, job.LeaseID, "plan failed: boom", ""); err != nil {
			t.Fatal(err)
		}
		runIDs = append(runIDs, job.RunID)
	}
	apptest.Eventually(t, 30*time.Second, "the failed statuses retrying", func() bool {
		for _, id := range runIDs {
			var r api.Run
			first.Must(http.StatusOK, "GET", "/api/v1/runs/"+id, key, nil).Decode(t, &r)
			if !slices.ContainsFunc(r.GitLabWrites, func(x api.GitLabWrite) bool {
				return strings.Contains(x.Target, "→ failed") && x.State == "retrying" && strings.Contains(x.LastError, "503")
			}) {
				return false
			}
		}
		return true
	})
	first.Kill()
	refused := sim.Faults()[0].Hits
	sim.ClearFaults()
	before := sim.CallCount("POST /api/v4/projects/*/statuses/*")

	second := startBinary(t, dataDir, nil, flags...)
	apptest.Eventually(t, 60*time.Second, "every write settled after the restart", func() bool {
		for _, id := range runIDs {
			var r api.Run
			second.Must(http.StatusOK, "GET", "/api/v1/runs/"+id, key, nil).Decode(t, &r)
			for _, x := range r.GitLabWrites {
				if x.State != "done" && x.State != "skipped" {
					return false
				}
			}
		}
		return true
	})
	for _, s := range stacks {
		if got := log.get("hoist/" + s); !slices.Equal(got, []string{"pending", "failed"}) {
			t.Errorf("hoist/%s: GitLab accepted %q, want pending then failed, each once", s, got)
		}
	}
	if after := sim.CallCount("POST /api/v4/projects/*/statuses/*"); after-before != len(stacks) {
		t.Errorf("%d status requests after the restart, want %d (one per stack)", after-before, len(stacks))
	}
	if refused < len(stacks) {
		t.Errorf("the fault refused %d requests, want at least one per stack", refused)
	}
	sts, err := sim.CommitStatuses("acme/infra", push.After)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		n := 0
		for _, st := range sts {
			if st.Name == "hoist/"+s {
				n++
				if st.State != "failed" || !strings.Contains(st.Description, "boom") {
					t.Errorf("hoist/%s: %s %q, want failed with the reason", s, st.State, st.Description)
				}
			}
		}
		if n != 1 {
			t.Errorf("hoist/%s: %d statuses on the commit, want 1", s, n)
		}
	}
	// The run shows the retries the kill interrupted.
	var r api.Run
	second.Must(http.StatusOK, "GET", "/api/v1/runs/"+runIDs[0], key, nil).Decode(t, &r)
	var b bytes.Buffer
	for _, x := range r.GitLabWrites {
		fmt.Fprintf(&b, "%s %s attempts=%d err=%q; ", x.Target, x.State, x.Attempts, x.LastError)
		if strings.Contains(x.Target, "→ failed") && (x.State != "done" || x.Attempts < 2 || !strings.Contains(x.LastError, "503")) {
			t.Errorf("the failed status write does not show its retries: %s", b.String())
		}
	}
}

// TestTwentyStacksThroughWebhooks is issue 9's acceptance 4 end to end: one
// push through the simulator's webhook and the real intake to a repository
// with twenty stacks (17 tracking main: TRACKED runs; 3 tracking prod:
// PROPOSED runs) gives twenty hoist/<stack-id> statuses, or with
// aggregate_statuses only hoist/tracked and hoist/proposed (hoist/modules,
// the third aggregate, needs a module version on the commit). No worker
// runs the runs: every status is pending, which is deterministic.
func TestTwentyStacksThroughWebhooks(t *testing.T) {
	t.Parallel()
	for _, aggregate := range []bool{false, true} {
		t.Run(fmt.Sprintf("aggregate=%v", aggregate), func(t *testing.T) {
			t.Parallel()
			names := twentyStacksPush(t, aggregate)
			var want []string
			if aggregate {
				want = []string{"hoist/proposed", "hoist/tracked"}
			} else {
				for i := range 20 {
					want = append(want, fmt.Sprintf("hoist/s%02d", i))
				}
			}
			if !slices.Equal(names, want) {
				t.Errorf("status names %q, want %q", names, want)
			}
		})
	}
}

// twentyStacksPush pushes once and returns the sorted names of the statuses
// on the commit once every run's writes have settled.
func twentyStacksPush(t *testing.T, aggregate bool) []string {
	t.Helper()
	ctx := t.Context()
	h := setupE2E(t)
	h.printed.WriteString("-") // no CLI command runs here
	srv := apptest.NewClient(t, h.url)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("s%02d/main.tf", i)] = "\n"
	}
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/mono", Files: files}); err != nil {
		t.Fatal(err)
	}
	tok, _ := h.gitlabToken("hoist-bot", nil, "api")
	u, err := h.sim.UserByUsername("hoist-bot")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/mono", UserID: u.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var it api.Integration
	srv.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.adminKey, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": h.simURL, "token": tok, "aggregate_statuses": aggregate}).Decode(t, &it)
	if _, err := h.sim.AddHook(ctx, "acme/mono", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.CreateBranch(ctx, "acme/mono", "prod", "main", 0); err != nil {
		t.Fatal(err)
	}
	var actions []gitlabsim.FileAction
	for i := range 20 {
		id, branch := fmt.Sprintf("s%02d", i), "main"
		if i >= 17 {
			branch = "prod"
		}
		srv.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.adminKey, map[string]any{"name": id, "space": "root", "repository": "acme/mono",
			"branch": branch, "project_root": id, "worker_pool": "nobody"}) // no worker serves it: runs stay queued
		actions = append(actions, gitlabsim.FileAction{Action: "update", Path: id + "/main.tf", Content: "# v2\n"})
	}
	push, err := h.sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/mono", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change all", Actions: actions}}})
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 60*time.Second, "twenty runs with settled writes", func() bool {
		for i := range 20 {
			var page struct {
				Items []struct{ ID string }
			}
			srv.Must(http.StatusOK, "GET", fmt.Sprintf("/api/v1/stacks/s%02d/runs", i), h.adminKey, nil).Decode(t, &page)
			if len(page.Items) != 1 {
				return false
			}
			var r api.Run
			srv.Must(http.StatusOK, "GET", "/api/v1/runs/"+page.Items[0].ID, h.adminKey, nil).Decode(t, &r)
			if len(r.GitLabWrites) == 0 {
				return false
			}
			for _, x := range r.GitLabWrites {
				if x.State != "done" && x.State != "skipped" {
					return false
				}
			}
		}
		return true
	})
	sts, err := h.sim.CommitStatuses("acme/mono", push.After)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range sts {
		if st.State != "pending" {
			t.Errorf("%s is %s, want pending (no worker runs the runs)", st.Name, st.State)
		}
		names = append(names, st.Name)
	}
	slices.Sort(names)
	return names
}
