package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/worker"
)

// Remote workers run as separate processes: this test binary re-executed
// with HOIST_TEST_WORKER_SERVER set, running the same worker code as
// `hoist worker`, so that a test can SIGKILL it.
func TestMain(m *testing.M) {
	sandbox.Dispatch() // runs' OpenTofu starts through this binary
	if server := os.Getenv("HOIST_TEST_WORKER_SERVER"); server != "" {
		// The worker's answers are checked against the API's document too;
		// mismatches go to a file the test reads when the worker is gone.
		checked := &http.Client{Transport: apitest.NewTransport(nil, contractReport(os.Getenv("HOIST_TEST_WORKER_CONTRACT")))}
		pool, err := worker.Start(context.Background(), worker.Config{
			Server: &worker.Client{BaseURL: server, PoolToken: os.Getenv("HOIST_TEST_WORKER_TOKEN"), HTTP: checked},
			ID:     "remote-" + fmt.Sprint(os.Getpid()), Slots: 1, TofuPath: os.Getenv("HOIST_TEST_WORKER_TOFU"),
			ToolsDir: os.Getenv("HOIST_TEST_WORKER_TOOLS"),
			StateURL: server + "/api/v1/state", LeaseWait: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pool.Stop()
		select {} // until killed
	}
	os.Exit(m.Run())
}

// contractReport appends each mismatch to the file path.
func contractReport(path string) func(string) {
	var mu sync.Mutex
	return func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, msg)
			return
		}
		defer f.Close()
		fmt.Fprintln(f, msg)
	}
}

// startRemoteWorker starts a worker process in its own process group and
// returns a function that SIGKILLs the group (the worker and its tofu), as
// when the worker's machine dies.
func (h *harness) startRemoteWorker(poolToken string) (kill func()) {
	h.t.Helper()
	return h.startRemoteWorkerWith(poolToken, "")
}

// startRemoteWorkerWith is startRemoteWorker with a tools folder ("" for
// none).
func (h *harness) startRemoteWorkerWith(poolToken, toolsDir string) (kill func()) {
	h.t.Helper()
	contract := filepath.Join(h.t.TempDir(), "contract-mismatches")
	h.t.Cleanup(func() { // after kill (cleanups run last first)
		if b, err := os.ReadFile(contract); err == nil {
			h.t.Errorf("remote worker: %s", b)
		}
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HOIST_TEST_WORKER_SERVER="+h.URL, "HOIST_TEST_WORKER_TOKEN="+poolToken,
		"HOIST_TEST_WORKER_TOFU="+apptest.Tofu(h.t), "HOIST_TEST_WORKER_TOOLS="+toolsDir, "HOIST_TEST_WORKER_CONTRACT="+contract)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
	h.t.Cleanup(kill)
	return kill
}

func (h *harness) workerPool(name string) string {
	h.t.Helper()
	var p struct{ ID, Token string }
	h.Must(http.StatusCreated, "POST", "/api/v1/worker-pools", h.AdminKey, map[string]any{"name": name}).Decode(h.t, &p)
	if !strings.HasPrefix(p.Token, "hoistpool_") {
		h.t.Fatalf("pool = %+v", p)
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"worker_pool": p.ID})
	return p.Token
}

// slowConfig is a configuration whose plan waits on slow (PLANNING until
// it is released) and adds one resource.
func slowConfig(slow *apptest.SlowState) string {
	return slow.DataSource() + `resource "terraform_data" "hello" { input = "slow" }
`
}

// planWait bounds how long a test waits for a plan to reach a SlowState.
const planWait = 60 * time.Second

// TestRemoteWorkerKilledMidPlanIsTakenOver: a worker killed in the middle
// of a plan loses its lease; the run goes back to READY and the next
// worker plans it from the start (issue 16: a dead replica loses nothing).
// A run that kills its worker every time fails after maxTakeovers (2).
func TestRemoteWorkerKilledMidPlanIsTakenOver(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots, c.LeaseTTL = -1, ttl })
	token := h.workerPool("Remote")
	slow := apptest.NewSlowState(t)
	sha := h.push("main", map[string]string{"infra/main.tf": slowConfig(slow)})
	r := h.waitRunAt("web", sha, "TRACKED")
	for loss := 1; loss <= 3; loss++ {
		kill := h.startRemoteWorker(token)
		slow.WaitRequests(t, loss, planWait)
		if got := h.getRun(r.ID); got.State != "PLANNING" {
			t.Fatalf("loss %d: state = %s, want PLANNING", loss, got.State)
		}
		killed := time.Now()
		kill()
		want := "READY"
		if loss == 3 {
			want = "FAILED"
		}
		r = h.waitState(r.ID, want)
		if took := time.Since(killed); took > ttl+2*time.Second {
			t.Errorf("loss %d: the run left its worker %v after the kill; the lease is %v", loss, took, ttl)
		}
		last := r.History[len(r.History)-1].Note
		if loss < 3 && !strings.HasPrefix(last, "worker lost: ") {
			t.Fatalf("loss %d: the takeover's note is %q", loss, last)
		}
		if loss == 3 && (!strings.Contains(r.Error, "worker lost") || last != "worker lost") {
			t.Fatalf("after the third loss: run = %+v", r)
		}
	}
	if got := strings.Count(strings.Join(runStates(r), " "), "PLANNING"); got != 3 {
		t.Errorf("the run planned %d times, want 3: %v", got, runStates(r))
	}

	// Taken over once, a run finishes on the next worker as if nothing
	// happened.
	slow.Release()
	sha2 := h.push("main", map[string]string{"infra/main.tf": slowConfig(slow) + "# again\n"})
	r2 := h.waitRunAt("web", sha2, "TRACKED")
	kill := h.startRemoteWorker(token)
	h.waitState(r2.ID, "PLANNING")
	kill()
	h.waitState(r2.ID, "READY")
	h.startRemoteWorker(token)
	if r2 = h.waitState(r2.ID, "UNCONFIRMED"); r2.Error != "" {
		t.Errorf("the run taken over has an error: %q", r2.Error)
	}
}

func TestRemoteWorkerKilledAfterConfirmNeverAppliesTwice(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots, c.LeaseTTL = -1, ttl })
	token := h.workerPool("Remote")
	kill := h.startRemoteWorker(token)
	// The run's code cannot write outside its workspace: it reports each
	// apply over the network, which stays open to runs.
	applied := newLineCounter(t)
	cfg := `resource "terraform_data" "once" {
  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = "echo applied > /dev/tcp/` + applied.addr + `; exec sleep 600"
  }
}
`
	sha := h.push("main", map[string]string{"infra/main.tf": cfg})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	applied.wait(t, 1)
	if got := h.getRun(r.ID); got.State != "APPLYING" {
		t.Fatalf("state = %s, want APPLYING", got.State)
	}
	code, msg, _ := h.Call("POST", "/api/v1/runs/"+r.ID+"/stop", h.AdminKey, nil).APIError(t)
	if code != "conflict" || !strings.Contains(msg, "applies to the end") {
		t.Fatalf("stop in APPLYING = %s %s", code, msg)
	}
	kill()
	r = h.waitState(r.ID, "FAILED")
	if !strings.Contains(r.Error, "worker lost") {
		t.Fatalf("run = %+v", r)
	}
	// A fresh worker takes the next run, and never the lost one.
	h.startRemoteWorker(token)
	sha2 := h.push("main", map[string]string{"infra/main.tf": infraTF("after")})
	r2 := h.waitState(h.waitRunAt("web", sha2, "TRACKED").ID, "UNCONFIRMED")
	if n := applied.count(); n != 1 {
		t.Fatalf("the confirmed plan was applied %d times", n)
	}
	if got := h.getRun(r.ID); got.State != "FAILED" || strings.Count(strings.Join(runStates(got), " "), "APPLYING") != 1 {
		t.Fatalf("lost run = %+v", got)
	}
	_ = r2
}

// lineCounter counts the lines "applied" sent to it over TCP.
type lineCounter struct {
	addr string // host/port, as bash's /dev/tcp wants it
	mu   sync.Mutex
	n    int
	more chan struct{}
}

func newLineCounter(t *testing.T) *lineCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &lineCounter{addr: strings.Replace(ln.Addr().String(), ":", "/", 1), more: make(chan struct{}, 16)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					if sc.Text() == "applied" {
						c.mu.Lock()
						c.n++
						c.mu.Unlock()
						c.more <- struct{}{}
					}
				}
			}()
		}
	}()
	return c
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *lineCounter) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for c.count() < n {
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("%d lines arrived, want %d", c.count(), n)
		}
	}
}
