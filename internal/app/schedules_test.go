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
	"github.com/hoistdev/hoist/internal/gitlabsim"
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

	// A signed webhook hears of the drift mark changing (and of nothing
	// else it did not ask for).
	hook := newHookReceiver(t)
	const secret = "drift-webhook-secret-0123456789"
	h.Must(http.StatusCreated, "POST", "/api/v1/notification-targets", h.AdminKey, map[string]any{"name": "Drift hook",
		"space": "platform", "kind": "webhook", "url": hook.URL, "secret": secret, "events": []string{"drift_detected", "drift_cleared"}})

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

	apptest.Eventually(t, 30*time.Second, "the drift_detected notification", func() bool { return len(hook.received(t, secret)) == 1 })
	if b := hook.received(t, secret)[0]; b["event"] != "drift_detected" || !strings.Contains(fmt.Sprint(b), "terraform_data.hello") {
		t.Fatalf("drift notification = %v", b)
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
	apptest.Eventually(t, 30*time.Second, "the drift_cleared notification", func() bool { return len(hook.received(t, secret)) == 2 })
	if b := hook.received(t, secret)[1]; b["event"] != "drift_cleared" {
		t.Fatalf("second drift notification = %v", b)
	}
}

// scheduledRuns are the runs a schedule made, oldest first.
func (h *harness) scheduledRuns(stack, id string) []api.Run {
	h.t.Helper()
	var out []api.Run
	for _, r := range h.runsOf(stack) {
		if r.Schedule == id {
			out = append(out, r)
		}
	}
	slices.Reverse(out)
	return out
}

// TestMissedFiringsRunOnceAfterRestart is issue 21's acceptance 2, first
// half: a server down across three firings fires the schedule once at
// start, then waits for the next time after now.
func TestMissedFiringsRunOnceAfterRestart(t *testing.T) {
	t.Parallel()
	clock := newManualClock(time.Date(2026, 12, 7, 3, 1, 0, 0, time.UTC))
	h := runsSetup(t, func(c *app.Config) {
		scheduleClock(clock)(c)
		c.WorkerSlots = -1 // the runs wait: only their creation counts
	})
	sc := h.createSchedule("web", map[string]any{"kind": "task", "cron": "*/10 * * * *",
		"command": []string{"tofu", "state", "list"}})
	if err := h.App.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 12, 7, 3, 35, 0, 0, time.UTC)) // 03:10, 03:20, 03:30 missed
	if err := h.Boot(); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 30*time.Second, "the missed firing", func() bool { return len(h.scheduledRuns("web", sc.ID)) > 0 })
	time.Sleep(300 * time.Millisecond) // six polls: any further firing would show
	runs := h.scheduledRuns("web", sc.ID)
	if len(runs) != 1 || runs[0].Type != "TASK" || runs[0].Trigger != "schedule" ||
		!slices.Equal(runs[0].Command, []string{"tofu", "state", "list"}) {
		t.Fatalf("runs after restart = %+v; want one task", runs)
	}
	got := h.getSchedule("web", sc.ID)
	if want := time.Date(2026, 12, 7, 3, 40, 0, 0, time.UTC); !got.NextRunAt.Equal(want) || got.LastRun != runs[0].ID {
		t.Fatalf("schedule after the missed firing = %+v; want next %s", got, want)
	}
}

// TestReplicasFireEachFiringOnce is issue 21's acceptance 2, second half:
// three servers on one PostgreSQL database, their schedulers on one clock,
// fire each firing of a schedule once.
func TestReplicasFireEachFiringOnce(t *testing.T) {
	t.Parallel()
	clock := newManualClock(time.Date(2026, 12, 7, 3, 1, 0, 0, time.UTC))
	tweak := func(c *app.Config) {
		scheduleClock(clock)(c)
		c.SchedulePoll, c.WorkerSlots = 5*time.Millisecond, -1
	}
	hs := replicas(t, tweak, tweak, tweak)
	h := hs[0]
	stackOnSim(t, h)
	sc := h.createSchedule("web", map[string]any{"kind": "drift", "cron": "*/10 * * * *"})
	for i, at := range []time.Time{sc.NextRunAt, sc.NextRunAt.Add(10 * time.Minute), sc.NextRunAt.Add(20 * time.Minute)} {
		clock.Set(at)
		apptest.Eventually(t, 30*time.Second, "firing "+at.String(), func() bool { return len(h.scheduledRuns("web", sc.ID)) > i })
		time.Sleep(100 * time.Millisecond) // twenty polls of each server
		if n := len(h.scheduledRuns("web", sc.ID)); n != i+1 {
			t.Fatalf("after firing %d: %d runs, want %d", i+1, n, i+1)
		}
	}
}

// stackOnSim creates the project acme/infra in h's simulator, a default
// integration, and the stack "web" on it in the root space.
func stackOnSim(t *testing.T, h *harness) {
	t.Helper()
	ctx := t.Context()
	if h.SimUser.ID == 0 {
		var err error
		if h.SimUser, err = h.Sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello")}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("GitLab", "", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})))
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "web", "space": "root",
		"repository": runsProject, "branch": "main", "project_root": "infra"})
}

// TestScheduleAccessAndValidation: readers of the stack's space read its
// schedules, only its admins write them (writers neither), and what is
// not built or not valid is refused naming the field.
func TestScheduleAccessAndValidation(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	stackOnSim(t, h)
	reader, writer := h.apiKey("reader", "root:read"), h.apiKey("writer", "root:write")
	sc := h.createSchedule("web", map[string]any{"kind": "drift", "cron": "@daily"})
	if sc.TimeZone != "UTC" || sc.Reconcile || len(sc.Command) != 0 || sc.CreatedBy == "" {
		t.Fatalf("created %+v", sc)
	}
	var list api.Schedules
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/schedules", reader, nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != sc.ID {
		t.Fatalf("reader's list = %+v", list)
	}
	drift := map[string]any{"kind": "drift", "cron": "0 * * * *"}
	for _, key := range []string{reader, writer} {
		h.Must(http.StatusForbidden, "POST", "/api/v1/stacks/web/schedules", key, drift)
		h.Must(http.StatusForbidden, "PATCH", "/api/v1/stacks/web/schedules/"+sc.ID, key, map[string]any{"cron": "0 1 * * *"})
		h.Must(http.StatusForbidden, "DELETE", "/api/v1/stacks/web/schedules/"+sc.ID, key, nil)
	}
	outsider := h.apiKey("outsider")
	h.Must(http.StatusNotFound, "GET", "/api/v1/stacks/web/schedules", outsider, nil)

	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"kind": "destroy", "cron": "@daily"}, "kind"},
		{map[string]any{"kind": "drift", "cron": "@every 1s"}, "cron"},
		{map[string]any{"kind": "drift", "cron": "TZ=UTC 0 * * * *"}, "cron"},
		{map[string]any{"kind": "drift", "cron": "61 * * * *"}, "cron"},
		{map[string]any{"kind": "drift", "cron": "0 0 30 2 *"}, "cron"}, // never
		{map[string]any{"kind": "drift", "cron": "@daily", "time_zone": "Mars/Olympus"}, "time_zone"},
		{map[string]any{"kind": "drift", "cron": "@daily", "time_zone": "Local"}, "time_zone"},
		{map[string]any{"kind": "drift", "cron": "@daily", "command": []string{"tofu", "plan"}}, "command"},
		{map[string]any{"kind": "task", "cron": "@daily"}, "command"},
		{map[string]any{"kind": "task", "cron": "@daily", "command": []string{"sh", "-c", "id"}}, "command"},
		{map[string]any{"kind": "task", "cron": "@daily", "command": []string{"tofu", "output"}, "reconcile": true}, "reconcile"},
	} {
		var e struct{ Error struct{ Field string } }
		h.Must(http.StatusBadRequest, "POST", "/api/v1/stacks/web/schedules", h.AdminKey, tc.body).Decode(t, &e)
		if e.Error.Field != tc.field {
			t.Errorf("%v refused on %q, want %q", tc.body, e.Error.Field, tc.field)
		}
	}

	var patched api.Schedule
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web/schedules/"+sc.ID, h.AdminKey,
		map[string]any{"cron": "30 6 * * 1-5", "time_zone": "America/New_York", "reconcile": true}).Decode(t, &patched)
	if patched.Cron != "30 6 * * 1-5" || patched.TimeZone != "America/New_York" || !patched.Reconcile ||
		patched.NextRunAt.Equal(sc.NextRunAt) {
		t.Fatalf("patched = %+v", patched)
	}
	if ny, _ := time.LoadLocation("America/New_York"); patched.NextRunAt.In(ny).Hour() != 6 || patched.NextRunAt.In(ny).Minute() != 30 {
		t.Fatalf("next firing %s is not 06:30 in New York", patched.NextRunAt)
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/stacks/web/schedules/"+sc.ID, h.AdminKey, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/stacks/web/schedules/"+sc.ID, h.AdminKey, nil)

	// Tasks by hand: writers yes, readers no; the command is checked.
	task := map[string]any{"type": "TASK", "command": []string{"tofu", "state", "list"}}
	h.Must(http.StatusForbidden, "POST", "/api/v1/stacks/web/runs", reader, task)
	var r api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", writer, task).Decode(t, &r)
	if r.Type != "TASK" || !slices.Equal(r.Command, []string{"tofu", "state", "list"}) || r.Trigger != "api" {
		t.Fatalf("task run = %+v", r)
	}
	h.Must(http.StatusBadRequest, "POST", "/api/v1/stacks/web/runs", writer, map[string]any{"type": "TASK",
		"command": []string{"/bin/sh", "-c", "cat /etc/passwd"}})
	h.Must(http.StatusBadRequest, "POST", "/api/v1/stacks/web/runs", writer, map[string]any{"type": "TRACKED",
		"command": []string{"tofu", "state", "list"}})
}
