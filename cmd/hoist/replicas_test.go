package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// replicaStacks is how many stacks the replicas test drives.
const replicaStacks = 20

// stackTF is stack i's configuration at version v: one resource.
func stackTF(i int, v string) string {
	return fmt.Sprintf("resource \"terraform_data\" \"s%02d\" {\n  input = %q\n}\n", i, v)
}

// TestThreeReplicasBehindAProxyLoseNothing is issue 16's acceptance 1 on
// the real program: three `hoist server` replicas on one PostgreSQL
// database behind a round-robin proxy (which health-checks /readyz and
// resends refused connections, as haproxy does); the GitLab simulator
// sends its webhooks to the proxy; a private integration reaches GitLab
// only through a VCS agent connected to replica 0. Pushes and merge
// requests make runs for 20 stacks while one replica is SIGKILLed in the
// middle of runs and another restarted gracefully. At the end every
// acknowledged delivery made its runs exactly once, no tracked run was
// applied twice, every commit status went forward once per state in
// GitLab, and no request through the proxy got a 5xx except those in
// flight on the killed replica.
func TestThreeReplicasBehindAProxyLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three hoist servers with OpenTofu")
	}
	t.Parallel()
	db := dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
	tofuEnv := []string{"PATH=" + filepath.Dir(apptest.Tofu(t)) + string(os.PathListSeparator) + os.Getenv("PATH")}
	sim, simURL := apptest.StartGitLab(t)
	files := map[string]string{}
	for i := 1; i <= replicaStacks; i++ {
		files[fmt.Sprintf("s%02d/main.tf", i)] = stackTF(i, "v0")
	}
	token := infraProject(t, sim, gitlabsim.UserOptions{Username: "hoist-bot", Bot: true}, files)

	addrs := []string{freePort(t), freePort(t), freePort(t)}
	backends := make([]string, len(addrs))
	for i, a := range addrs {
		backends[i] = "http://" + a
	}
	proxy := newRRProxy(t, backends...)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	start := func(i int) *apptest.Process {
		return startBinary(t, dirs[i], tofuEnv, "--listen", addrs[i], "--advertise-url", backends[i], "--public-url", proxy.srv.URL,
			"--database-url", db, "--worker-slots", "2", "--lease-ttl", "3s", "--gitlab-write-lease", "5s", "--shutdown-timeout", "10s")
	}
	replicas := make([]*apptest.Process, len(addrs))
	replicas[0] = start(0) // migrates the database and makes the admin
	key := readTrimmed(t, filepath.Join(dirs[0], "admin-api-key"))
	password := readTrimmed(t, filepath.Join(dirs[0], "admin-password"))
	encKey, err := os.ReadFile(filepath.Join(dirs[0], secret.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(addrs); i++ {
		if err := os.WriteFile(filepath.Join(dirs[i], secret.KeyFileName), encKey, 0o600); err != nil {
			t.Fatal(err)
		}
		replicas[i] = start(i)
	}
	for i := range addrs {
		proxy.waitUp(t, i, true)
	}
	lb := apptest.NewClient(t, proxy.srv.URL)

	// The agent dials replica 0 only; the integration reaches GitLab only
	// through it.
	var pool struct{ ID, Token string }
	lb.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", key, map[string]any{"name": "Lab"}).Decode(t, &pool)
	startAgentProcess(t, backends[0], pool.Token, simURL)
	// Every replica sees it (through the presence table) before the
	// integration's token check goes through any of them.
	apptest.Eventually(t, 30*time.Second, "every replica to see the agent connected to replica 0", func() error {
		for i, r := range replicas {
			var p api.VCSAgentPool
			r.Must(http.StatusOK, "GET", "/api/v1/vcs-agent-pools/lab", key, nil).Decode(t, &p)
			if len(p.Agents) != 1 {
				return fmt.Errorf("replica %d lists %d agents", i, len(p.Agents))
			}
		}
		return nil
	})
	var it api.Integration
	lb.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": "private://lab", "user_facing_host": simURL, "token": token}).Decode(t, &it)
	if !strings.HasPrefix(it.WebhookEndpoint, proxy.srv.URL) {
		t.Fatalf("webhook endpoint %s is not behind the proxy %s", it.WebhookEndpoint, proxy.srv.URL)
	}
	hook, err := sim.AddHook(t.Context(), "acme/infra", gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		MergeRequestsEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= replicaStacks; i++ {
		lb.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": fmt.Sprintf("s%02d", i), "space": "root",
			"repository": "acme/infra", "branch": "main", "project_root": fmt.Sprintf("s%02d", i), "autodeploy": true})
	}

	// Readers through the proxy all along: the API, and a browser session
	// that must hold whichever replica answers.
	stopReaders := readThroughProxy(t, proxy.srv.URL, key, password)

	push := func(branch string, from, to int, v string) string {
		var actions []gitlabsim.FileAction
		for i := from; i <= to; i++ {
			actions = append(actions, gitlabsim.FileAction{Action: "update", Path: fmt.Sprintf("s%02d/main.tf", i), Content: stackTF(i, v)})
		}
		r, err := sim.Push(t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: branch,
			Commits: []gitlabsim.CommitSpec{{Message: "set " + v, Actions: actions}}})
		if err != nil {
			t.Fatal(err)
		}
		return r.After
	}
	want := map[runKey]bool{} // every run the events must make, once
	expect := func(sha, typ string, from, to int) {
		for i := from; i <= to; i++ {
			want[runKey{fmt.Sprintf("s%02d", i), sha, typ}] = true
		}
	}

	// 1. A push to main touches every stack: 20 tracked runs, applied.
	p1 := push("main", 1, replicaStacks, "v1")
	expect(p1, "TRACKED", 1, replicaStacks)
	// 2. Replica 1 dies (SIGKILL) while it runs some of them.
	victim := fmt.Sprintf("/%d/", replicas[1].Pid()) // worker ids: embedded@<host>/<pid>/<slot>
	held := waitWorkingOn(t, lb, key, victim)
	killedAt := time.Now()
	replicas[1].Kill()
	t.Logf("replica 1 killed while its workers held runs %v", held)
	// 3. A merge request touching half the stacks: proposed runs.
	m1 := push("feature-1", 1, replicaStacks/2, "mr1")
	if _, err := sim.CreateMergeRequest(t.Context(), gitlabsim.MROptions{Project: "acme/infra", SourceBranch: "feature-1", Title: "mr1"}); err != nil {
		t.Fatal(err)
	}
	expect(m1, "PROPOSED", 1, replicaStacks/2)
	// 4. Replica 2 restarts gracefully (SIGTERM, then the same address).
	if err := replicas[2].Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st, ok := replicas[2].Exited(20 * time.Second); !ok || !st.Success() {
		t.Fatalf("replica 2 after SIGTERM: exited %v (%v)", ok, st)
	}
	replicas[2] = start(2)
	// 5. Another push to main, to the other half.
	p2 := push("main", replicaStacks/2+1, replicaStacks, "v2")
	expect(p2, "TRACKED", replicaStacks/2+1, replicaStacks)
	// 6. The killed replica comes back.
	replicas[1] = start(1)

	if err := sim.WaitHooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs := waitAllSettled(t, lb, key, len(want))
	requests := stopReaders()

	// Every delivery was acknowledged (the proxy resends what a dead
	// replica refused) and processed.
	acked := 0
	for _, d := range sim.Deliveries(hook.ID) {
		if d.StatusCode != http.StatusAccepted {
			t.Errorf("delivery %d (%s) answered %d %s %s", d.ID, d.Event, d.StatusCode, d.Err, d.ResponseBody)
			continue
		}
		acked++
	}
	if acked < 4 {
		t.Errorf("%d deliveries acknowledged, want at least the 4 events'", acked)
	}

	// Each run exactly once; none applied twice; the state as applied.
	got := map[runKey]int{}
	applied := map[string]bool{}    // runs that entered APPLYING
	finished := map[string]string{} // tracked runs that finished applying → their stack
	for _, r := range runs {
		got[runKey{r.Stack, r.CommitSHA, r.Type}]++
		n := 0
		for _, h := range r.History {
			if h.State == "APPLYING" {
				n++
			}
		}
		if n > 1 {
			t.Errorf("run %s (%s) entered APPLYING %d times", r.ID, r.Stack, n)
		}
		applied[r.ID] = n > 0
		if r.Type == "TRACKED" && r.State == "FINISHED" && n > 0 {
			finished[r.ID] = r.Stack
		}
		if r.State != "FINISHED" && r.State != "SKIPPED" {
			t.Logf("run %s of %s on %.8s: %s %s", r.ID, r.Stack, r.CommitSHA, r.State, r.Error)
		}
	}
	// The killed replica's runs were taken over and finished elsewhere
	// (or, caught applying, failed and were not applied again).
	for _, id := range held {
		var r api.Run
		lb.Must(http.StatusOK, "GET", "/api/v1/runs/"+id, key, nil).Decode(t, &r)
		notes := ""
		for _, h := range r.History {
			notes += h.State + " (" + h.Note + ") "
		}
		if !strings.Contains(notes, "worker lost") || (r.State != "FINISHED" && !strings.Contains(notes, "APPLYING")) {
			t.Errorf("run %s held by the killed replica: %s, history %s", id, r.State, notes)
		}
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%s %s run of %s on %.8s: %d runs, want 1", k.typ, k.stack, k.stack, k.sha, got[k])
		}
	}
	for k, n := range got {
		if !want[k] {
			t.Errorf("unexpected %d %s run(s) of %s on %.8s", n, k.typ, k.stack, k.sha)
		}
	}
	for i := 1; i <= replicaStacks; i++ {
		name := fmt.Sprintf("s%02d", i)
		var versions struct{ Items []api.StateVersion }
		lb.Must(http.StatusOK, "GET", "/api/v1/stacks/"+name+"/state-versions", key, nil).Decode(t, &versions)
		// State is written only by runs that applied, each sending one
		// document per change of serial; a finished apply left one.
		serials := map[string]map[int64]bool{}
		for _, v := range versions.Items {
			if !applied[v.Run] {
				t.Errorf("stack %s: state version %d (serial %d) written by run %s, which never applied", name, v.ID, v.Serial, v.Run)
			}
			if serials[v.Run] == nil {
				serials[v.Run] = map[int64]bool{}
			}
			if serials[v.Run][v.Serial] {
				t.Errorf("stack %s: run %s wrote serial %d twice", name, v.Run, v.Serial)
			}
			serials[v.Run][v.Serial] = true
		}
		for id, st := range finished {
			if st == name && len(serials[id]) == 0 {
				t.Errorf("stack %s: run %s finished applying and wrote no state", name, id)
			}
		}
	}

	// GitLab: on every commit, each status name went forward only, each
	// state at most once, and rests in a final state.
	for _, sha := range []string{p1, m1, p2} {
		sts, err := sim.CommitStatuses("acme/infra", sha)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string][]string{}
		for _, s := range sts {
			byName[s.Name] = append(byName[s.Name], s.State)
		}
		for name, states := range byName {
			if !forwardOnce.MatchString(strings.Join(states, " ")) {
				t.Errorf("%s on %.8s went %v in GitLab", name, sha, states)
			}
		}
	}

	// The proxy answered 5xx only for requests in flight on the killed
	// replica when it died: sent to it before the proxy could know it was
	// dead (the kill takes effect, and the health check notices, a few
	// milliseconds after the signal), and not answered before the kill.
	seenDown := proxy.downAfter(1, killedAt)
	for _, f := range proxy.failures() {
		if f.backend != 1 || f.start.After(seenDown) || f.end.Before(killedAt) {
			t.Errorf("5xx not explained by the kill at %s (the proxy saw it down at %s): %s", killedAt.Format("15:04:05.000"),
				seenDown.Format("15:04:05.000"), f)
		}
	}
	t.Logf("%d runs, %d deliveries, %d reads through the proxy, %d 5xx in flight on the killed replica",
		len(runs), acked, requests, len(proxy.failures()))
}

// forwardOnce is a commit status's life in GitLab: pending, running and a
// final state, each at most once and in this order.
var forwardOnce = regexp.MustCompile(`^(pending )?(running )?(success|failed|canceled)$`)

type runKey struct{ stack, sha, typ string }

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// startAgentProcess runs `hoist vcs-agent` against server until the test
// ends.
func startAgentProcess(t *testing.T, server, token, target string) {
	t.Helper()
	var stderr apptest.Buffer
	cmd := exec.Command(apptest.Binary(t), "vcs-agent", "--server", server, "--target-base-endpoint", target,
		"--vendor", "gitlab", "--parallelism", "8", "--name", "agent-0")
	cmd.Env = append(os.Environ(), "HOIST_VCS_AGENT_POOL_TOKEN="+token)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("hoist vcs-agent: standard error:\n%s", stderr.String())
		}
	})
}

// waitWorkingOn waits until a worker whose id contains part (a replica's
// pid) holds a run, and returns the runs it holds.
func waitWorkingOn(t *testing.T, c *apptest.Client, key, part string) []string {
	t.Helper()
	var held []string
	apptest.Eventually(t, 2*time.Minute, "a run on the replica's workers", func() error {
		held = nil
		states := map[string]int{}
		for _, r := range listRuns(t, c, key) {
			states[r.State]++
			switch r.State {
			case "PREPARING", "INITIALIZING", "PLANNING", "PREPARING_APPLY", "APPLYING":
			default:
				continue
			}
			var full api.Run
			c.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID, key, nil).Decode(t, &full)
			if h := full.History; len(h) > 0 && strings.Contains(h[len(h)-1].Actor, part) {
				held = append(held, full.ID)
			}
		}
		if len(held) == 0 {
			return fmt.Errorf("runs by state: %v", states)
		}
		return nil
	})
	return held
}

// listRuns lists the runs of every stack.
func listRuns(t *testing.T, c *apptest.Client, key string) []api.Run {
	t.Helper()
	var out []api.Run
	for i := 1; i <= replicaStacks; i++ {
		var page struct{ Items []api.Run }
		c.Must(http.StatusOK, "GET", fmt.Sprintf("/api/v1/stacks/s%02d/runs?limit=100", i), key, nil).Decode(t, &page)
		out = append(out, page.Items...)
	}
	return out
}

// waitAllSettled waits until at least n runs exist, all rest in a final
// state, and none has a GitLab write still to send; it returns them in
// full.
func waitAllSettled(t *testing.T, c *apptest.Client, key string, n int) []api.Run {
	t.Helper()
	var full []api.Run
	apptest.Eventually(t, 5*time.Minute, "every run to end and its GitLab writes to land", func() error {
		full = nil
		runs := listRuns(t, c, key)
		if len(runs) < n {
			return fmt.Errorf("%d of %d runs", len(runs), n)
		}
		for _, r := range runs {
			var one api.Run
			c.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID, key, nil).Decode(t, &one)
			switch one.State {
			case "FINISHED", "FAILED", "DISCARDED", "STOPPED", "CANCELED", "SKIPPED":
			default:
				return fmt.Errorf("run %s of %s is %s", one.ID, one.Stack, one.State)
			}
			for _, w := range one.GitLabWrites {
				if w.State == "pending" || w.State == "retrying" {
					return fmt.Errorf("run %s has a GitLab write %s %s", one.ID, w.Target, w.State)
				}
			}
			full = append(full, one)
		}
		return nil
	})
	return full
}

// readThroughProxy reads the API and the UI through the proxy until
// stopped, failing the test for an answer other than 200 that the proxy
// did not record as a 5xx, and for a browser session that any replica
// did not recognise; stop returns how many reads were made.
func readThroughProxy(t *testing.T, base, key, password string) (stop func() int) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := apptest.NewClient(t, base)
	page := login.Call("GET", "/login", "", nil)
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(string(page.Body))
	if token == nil {
		t.Fatalf("no csrf token on the login page: %.300s", page.Body)
	}
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: "hoist_login_csrf", Value: token[1], Path: "/"}})
	resp, err := browser.PostForm(base+"/login", url.Values{"csrf_token": {token[1]}, "username": {"admin"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login through the proxy = %d", resp.StatusCode)
	}

	var reads atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	read := func(c *http.Client, path, bearer string) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond): // a steady trickle of readers
			}
			req, _ := http.NewRequest("GET", base+path, nil)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("GET %s through the proxy: %v", path, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			reads.Add(1)
			if resp.StatusCode != http.StatusOK && resp.StatusCode < 500 {
				t.Errorf("GET %s through the proxy = %d (location %q)", path, resp.StatusCode, resp.Header.Get("Location"))
				return
			}
		}
	}
	wg.Add(3)
	go read(http.DefaultClient, "/api/v1/stacks", key)
	go read(http.DefaultClient, "/api/v1/stacks/s01/runs", key)
	go read(browser, "/stacks", "")
	var once sync.Once
	stop = func() int {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
		return int(reads.Load())
	}
	t.Cleanup(func() { stop() }) // before the proxy closes, when the test ends early
	return stop
}
