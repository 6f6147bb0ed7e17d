package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
)

// manualClock is the schedules' clock in these tests: it moves only when
// the test moves it.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock(t time.Time) *manualClock { return &manualClock{t: t} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// scheduleClock makes clock the servers' schedule clock, with a quick
// poll so a moved clock fires within a blink.
func scheduleClock(clock *manualClock) func(*app.Config) {
	return func(c *app.Config) { c.ScheduleClock, c.SchedulePoll = clock.Now, 50*time.Millisecond }
}

func (h *harness) createSchedule(stack string, body map[string]any) api.Schedule {
	h.t.Helper()
	var sc api.Schedule
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/"+stack+"/schedules", h.AdminKey, body).Decode(h.t, &sc)
	return sc
}

func (h *harness) getStack(id string) api.Stack {
	h.t.Helper()
	var st api.Stack
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/"+id, h.AdminKey, nil).Decode(h.t, &st)
	return st
}

func (h *harness) getSchedule(stack, id string) api.Schedule {
	h.t.Helper()
	var sc api.Schedule
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/schedules/"+id, h.AdminKey, nil).Decode(h.t, &sc)
	return sc
}

// fire moves the clock to the schedule's next firing and returns the run
// that firing made.
func (h *harness) fire(clock *manualClock, stack, id string) api.Run {
	h.t.Helper()
	before := h.getSchedule(stack, id)
	clock.Set(before.NextRunAt)
	var sc api.Schedule
	apptest.Eventually(h.t, 30*time.Second, "schedule "+id+" to fire", func() error {
		if sc = h.getSchedule(stack, id); sc.LastRunAt == nil || !sc.LastRunAt.Equal(before.NextRunAt) {
			return fmt.Errorf("schedule %+v", sc)
		}
		return nil
	})
	if sc.LastRun == "" {
		h.t.Fatalf("firing made no run: %s", sc.LastError)
	}
	return h.getRun(sc.LastRun)
}

// TestDriftScheduleMarksReconcilesAndClears is issue 21's acceptance 1
// without the notification half, with real OpenTofu: a drift schedule
// fires on the test's clock; a task removes the resource from the managed
// state behind Hoist's back; the next drift run marks the stack drifted
// with the resource, starts a reconcile run that applies, and the drift
// run after that clears the mark.
func TestDriftScheduleMarksReconcilesAndClears(t *testing.T) {
	t.Parallel()
	clock := newManualClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	h := runsSetup(t, scheduleClock(clock))
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	applied := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+applied.ID+"/confirm", h.AdminKey, nil)
	h.waitState(applied.ID, "FINISHED")

	sc := h.createSchedule("web", map[string]any{"kind": "drift", "cron": "0 6 * * *", "time_zone": "Europe/Paris",
		"reconcile": true})
	if want := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC); !sc.NextRunAt.Equal(want) { // 06:00 in Paris, UTC+1
		t.Fatalf("next_run_at = %s, want %s", sc.NextRunAt, want)
	}

	// In step with the code: a clean plan, no mark.
	d1 := h.fire(clock, "web", sc.ID)
	if d1.Type != "PROPOSED" || d1.Trigger != "drift" || d1.CommitSHA != sha || d1.Schedule != sc.ID {
		t.Fatalf("drift run = %+v", d1)
	}
	h.waitState(d1.ID, "FINISHED")
	st := h.getStack("web")
	if st.Drifted || st.Drift == nil || st.Drift.Run != d1.ID || len(st.Drift.Resources) != 0 {
		t.Fatalf("after a clean drift run the stack says %+v / %+v", st.Drifted, st.Drift)
	}

	// Behind Hoist's back: the resource leaves the managed state.
	var task api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", h.AdminKey, map[string]any{"type": "TASK",
		"command": []string{"tofu", "state", "rm", "terraform_data.hello"}}).Decode(t, &task)
	task = h.waitState(task.ID, "FINISHED")
	if logs := h.logText(task.ID); !strings.Contains(logs, "Removed terraform_data.hello") {
		t.Fatalf("task log lacks the removal:\n%s", logs)
	}

	d2 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	if d2.Delta == nil || d2.Delta.Add != 1 {
		t.Fatalf("drift plan = %+v", d2.Delta)
	}
	st = h.getStack("web")
	if !st.Drifted || st.Drift.Run != d2.ID || len(st.Drift.Resources) != 1 ||
		st.Drift.Resources[0] != (api.DriftResource{Address: "terraform_data.hello", Action: "create"}) {
		t.Fatalf("drifted stack says %+v / %+v", st.Drifted, st.Drift)
	}
	// A drift run writes nothing to GitLab: it is no verdict on a commit.
	if r := h.getRun(d2.ID); len(r.GitLabWrites) != 0 {
		t.Fatalf("drift run wrote to GitLab: %+v", r.GitLabWrites)
	}

	// Reconcile: a tracked run, confirmed like any.
	var rec api.Run
	apptest.Eventually(t, 30*time.Second, "a reconcile run", func() bool {
		for _, r := range h.runsOf("web") {
			if r.Trigger == "reconcile" {
				rec = r
				return true
			}
		}
		return false
	})
	if rec.Type != "TRACKED" || rec.CommitSHA != sha || rec.Schedule != sc.ID {
		t.Fatalf("reconcile run = %+v", rec)
	}
	rec = h.waitState(rec.ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+rec.ID+"/confirm", h.AdminKey, nil)
	h.waitState(rec.ID, "FINISHED")

	d3 := h.waitState(h.fire(clock, "web", sc.ID).ID, "FINISHED")
	st = h.getStack("web")
	if st.Drifted || st.Drift.Run != d3.ID || !st.Drift.ChangedAt.After(st.Drift.CheckedAt.Add(-time.Hour)) {
		t.Fatalf("after reconcile the stack says %+v / %+v", st.Drifted, st.Drift)
	}
	if got := len(slices.DeleteFunc(h.runsOf("web"), func(r api.Run) bool { return r.Trigger != "reconcile" })); got != 1 {
		t.Fatalf("%d reconcile runs, want 1", got)
	}
}
