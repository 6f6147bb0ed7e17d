package app_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/worker"
)

// TestShutdownHandsBackAPlan is issue 16's acceptance 6 in one process: a
// graceful shutdown during a plan turns /readyz 503 first, hands the run
// back (READY, with a note) within the timeout, and the restarted server
// runs it from the start to its plan; GitLab saw pending, running and the
// verdict once each, and refused nothing.
func TestShutdownHandsBackAPlan(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots = 1 })
	slow := apptest.NewSlowState(t)
	sha := h.push("main", map[string]string{"infra/main.tf": slowConfig(slow)})
	slow.WaitRequests(t, 1, planWait)
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "PLANNING")
	h.waitRun(r.ID, "its running status sent", func(r api.Run) bool { return strings.HasSuffix(statusWrites(r), "running") })

	const timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	began := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- h.App.Shutdown(ctx) }()
	// The plan holds the shutdown for seconds: /readyz turns 503 first,
	// while everything else still answers.
	ready := h.Call("GET", "/readyz", "", nil)
	for ready.Status == http.StatusOK && time.Since(began) < timeout {
		ready = h.Call("GET", "/readyz", "", nil)
	}
	if code, msg, _ := ready.APIError(t); ready.Status != http.StatusServiceUnavailable || code != "unavailable" {
		t.Errorf("/readyz during the shutdown = %d %s %s", ready.Status, code, msg)
	}
	if health := h.Call("GET", "/healthz", "", nil); health.Status != http.StatusOK {
		t.Errorf("/healthz during the shutdown = %d", health.Status)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > timeout+time.Second {
		t.Errorf("Shutdown took %v; the timeout is %v", took, timeout)
	}

	slow.Release() // the next plan goes through
	if err := h.Boot(); err != nil {
		t.Fatal(err)
	}
	r = h.waitState(r.ID, "UNCONFIRMED")
	states := strings.Join(runStates(r), " ")
	if want := "QUEUED READY PREPARING INITIALIZING PLANNING READY PREPARING INITIALIZING PLANNING UNCONFIRMED"; states != want {
		t.Errorf("history %s, want %s", states, want)
	}
	if back := r.History[5]; !strings.Contains(back.Note, "handed back") || !strings.HasPrefix(back.Actor, "worker:") {
		t.Errorf("the hand-back in the history: %+v", back)
	}
	r = h.waitRun(r.ID, "its writes sent", func(r api.Run) bool {
		return strings.HasSuffix(statusWrites(r), "success") && !slices.ContainsFunc(r.GitLabWrites, func(w api.GitLabWrite) bool {
			return w.State == "pending" || w.State == "retrying"
		})
	})
	// pending may have been superseded by running before it was sent.
	if got := statusWrites(r); got != "pending running success" && got != "running success" {
		t.Errorf("GitLab got the statuses %q", got)
	}
	for _, w := range r.GitLabWrites {
		if (w.State != "done" && w.State != "skipped") || strings.HasPrefix(w.Result, "already") {
			t.Errorf("GitLab write %s: %s %s %s", w.Target, w.State, w.Result, w.LastError)
		}
	}
	var logs api.RunLogs // the run waits for confirmation: no follow
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs", h.AdminKey, nil).Decode(t, &logs)
	var text strings.Builder
	for _, c := range logs.Items {
		text.WriteString(c.Body)
	}
	if !strings.Contains(text.String(), "handed back") || !strings.Contains(text.String(), "Plan: 1 to add") {
		t.Errorf("log:\n%s", text.String())
	}
}

// statusWrites lists the commit states a run's status writes sent (done),
// in order.
func statusWrites(r api.Run) string {
	var out []string
	for _, w := range r.GitLabWrites {
		if w.Kind == "status" && w.State == "done" {
			_, state, _ := strings.Cut(w.Target, "→ ")
			state, _, _ = strings.Cut(state, " ")
			out = append(out, state)
		}
	}
	return strings.Join(out, " ")
}

// TestWorkerProtocolHandBack: a remote worker gives a run back over HTTP,
// only before it reported its plan; a shutting-down server leases no more
// runs (503, code unavailable).
func TestWorkerProtocolHandBack(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	token := h.workerPool("Remote")
	w := &worker.Client{BaseURL: h.App.URL(), PoolToken: token, HTTP: h.HTTP}
	ctx := t.Context()
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("back")})
	r := h.waitRunAt("web", sha, "TRACKED")
	job, ok, err := w.Lease(ctx, "remote-1", 10*time.Second)
	if err != nil || !ok || job.RunID != r.ID {
		t.Fatalf("lease = %+v, %v, %v", job, ok, err)
	}
	for _, to := range []run.State{run.Initializing, run.Planning} {
		if err := w.Advance(ctx, job.RunID, job.LeaseID, run.Step{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.HandBack(ctx, job.RunID, "lease-of-someone-else"); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("hand-back under another lease = %v", err)
	}
	if err := w.HandBack(ctx, job.RunID, job.LeaseID); err != nil {
		t.Fatal(err)
	}
	if got := h.getRun(r.ID); got.State != "READY" {
		t.Fatalf("state after the hand-back = %s", got.State)
	}
	if _, err := w.Heartbeat(ctx, job.RunID, job.LeaseID); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("heartbeat of a handed-back lease = %v", err)
	}
	// Taken again from the start; once its plan is reported it is too late.
	job, ok, err = w.Lease(ctx, "remote-2", 10*time.Second)
	if err != nil || !ok || job.RunID != r.ID || job.Phase != run.PhasePlan {
		t.Fatalf("lease again = %+v, %v, %v", job, ok, err)
	}
	for _, to := range []run.State{run.Initializing, run.Planning} {
		if err := w.Advance(ctx, job.RunID, job.LeaseID, run.Step{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.ReportPlan(ctx, job.RunID, job.LeaseID, run.PlanReport{Delta: run.Delta{Add: 1}, HasChanges: true,
		Plan: []byte("plan")}); err != nil {
		t.Fatal(err)
	}
	if err := w.HandBack(ctx, job.RunID, job.LeaseID); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("hand-back of an UNCONFIRMED run = %v", err)
	}
	if got := runStates(h.getRun(r.ID)); !slices.Equal(got[4:7], []string{"PLANNING", "READY", "PREPARING"}) {
		t.Errorf("history %v", got)
	}

	// A server that shuts down tells waiting and new lease requests to go
	// elsewhere at once.
	waiting := make(chan error, 1)
	go func() {
		_, _, err := w.Lease(ctx, "remote-3", 30*time.Second)
		waiting <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the long poll begin; either way it must end with 503
	shutdownDone := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		shutdownDone <- h.App.Shutdown(sctx)
	}()
	select {
	case err := <-waiting:
		if !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("waiting lease request = %v, want unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting lease request held the shutdown")
	}
	if err := <-shutdownDone; err != nil {
		t.Fatal(err)
	}
}
