package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func scheduleEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "schedule", ResourceID: id,
		SpaceID: space.RootID, Detail: map[string]any{"stack": "web"}}
}

func testSchedule(id, stackID string, kind schedule.Kind, next time.Time) schedule.Schedule {
	sc := schedule.Schedule{ID: id, StackID: stackID, Kind: kind, Cron: "0 6 * * *", TimeZone: "Europe/Paris",
		Command: []string{}, NextRunAt: next, CreatedBy: "user:admin", CreatedAt: base, UpdatedAt: base}
	if kind == schedule.Task {
		sc.Command = []string{"tofu", "state", "list"}
	}
	return sc
}

func testSchedules(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	mustStack(t, s, testStack("api", space.RootID, "gl"))
	drift := testSchedule("sc1", "web", schedule.Drift, base.Add(time.Hour))
	drift.Reconcile = true
	task := testSchedule("sc2", "web", schedule.Task, base.Add(2*time.Hour))
	other := testSchedule("sc3", "api", schedule.Drift, base.Add(3*time.Hour))
	for _, sc := range []schedule.Schedule{drift, task, other} {
		if err := s.CreateSchedule(ctx(), sc, scheduleEntry("schedule.create", sc.ID)); err != nil {
			t.Fatalf("CreateSchedule(%s) = %v", sc.ID, err)
		}
	}
	wantCode(t, s.CreateSchedule(ctx(), testSchedule("sc9", "gone", schedule.Drift, base), scheduleEntry("schedule.create", "sc9")), apperr.NotFound)

	got, err := s.GetSchedule(ctx(), "web", "sc2")
	if err != nil || !reflect.DeepEqual(got, task) {
		t.Fatalf("GetSchedule = %+v, %v; want %+v", got, err, task)
	}
	_, err = s.GetSchedule(ctx(), "api", "sc2") // another stack's
	wantCode(t, err, apperr.NotFound)
	list, err := s.ListSchedules(ctx(), "web")
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], drift) {
		t.Fatalf("ListSchedules(web) = %+v, %v", list, err)
	}

	// Due: at or before the time, most overdue first.
	due, err := s.DueSchedules(ctx(), base.Add(2*time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].ID != "sc1" || due[1].ID != "sc2" {
		t.Fatalf("DueSchedules = %+v, %v; want sc1, sc2", due, err)
	}
	// A claim moves the firing on only from the value read.
	next := base.Add(25 * time.Hour)
	at := base.Add(2 * time.Hour)
	if ok, err := s.ClaimFiring(ctx(), "sc1", drift.NextRunAt, next, at); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	if ok, err := s.ClaimFiring(ctx(), "sc1", drift.NextRunAt, next, at); err != nil || ok {
		t.Fatalf("second claim of the same firing = %v, %v; want lost", ok, err)
	}
	if err := s.RecordFiring(ctx(), "sc1", "run1", ""); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSchedule(ctx(), "web", "sc1")
	if !got.NextRunAt.Equal(next) || got.LastRunAt == nil || !got.LastRunAt.Equal(at) || got.LastRunID != "run1" {
		t.Fatalf("after firing: %+v", got)
	}
	if err := s.RecordFiring(ctx(), "sc1", "", "stack has no tracked commit"); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetSchedule(ctx(), "web", "sc1"); got.LastError == "" || got.LastRunID != "" {
		t.Fatalf("after a failed firing: %+v", got)
	}

	// Update keeps the claim fields and changes what it is given.
	task.Cron, task.TimeZone, task.Command, task.NextRunAt = "*/5 * * * *", "UTC", []string{"tofu", "output"}, base.Add(5*time.Minute)
	task.UpdatedAt = base.Add(time.Minute)
	if err := s.UpdateSchedule(ctx(), task, scheduleEntry("schedule.update", task.ID)); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetSchedule(ctx(), "web", "sc2"); !reflect.DeepEqual(got, task) {
		t.Fatalf("after update %+v, want %+v", got, task)
	}
	wantCode(t, s.UpdateSchedule(ctx(), testSchedule("nope", "web", schedule.Drift, base), scheduleEntry("schedule.update", "nope")), apperr.NotFound)
	wantCode(t, s.DeleteSchedule(ctx(), "api", "sc2", scheduleEntry("schedule.delete", "sc2")), apperr.NotFound)
	if err := s.DeleteSchedule(ctx(), "web", "sc2", scheduleEntry("schedule.delete", "sc2")); err != nil {
		t.Fatal(err)
	}
	// Every write is in the audit log; a refused one is not.
	for id, want := range map[string]int{"sc2": 3, "nope": 0, "sc9": 0} { // create, update, delete; refusals none
		es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "schedule", ResourceID: id}, "", 10)
		if err != nil || len(es) != want {
			t.Errorf("audit entries of %s = %d, %v; want %d", id, len(es), err, want)
		}
	}
	// A stack's schedules go with it.
	if err := s.DeleteStack(ctx(), "api", stackEntry("stack.delete", "api")); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListSchedules(ctx(), "api"); err != nil || len(list) != 0 {
		t.Fatalf("schedules of a deleted stack = %+v, %v", list, err)
	}

	// Runs keep the task command and the schedule that made them.
	r := newRun("r1", "web", run.Task, "")
	r.TaskCommand, r.ScheduleID, r.Trigger = []string{"tofu", "state", "list"}, "sc1", run.TriggerSchedule
	mustRuns(t, s, r)
	if got, err := s.GetRun(ctx(), "r1"); err != nil || !reflect.DeepEqual(got.TaskCommand, r.TaskCommand) || got.ScheduleID != "sc1" {
		t.Fatalf("GetRun = %+v, %v", got, err)
	}
}

// testScheduleClaimRace: servers that read the same due firing at once
// fire it once.
func testScheduleClaimRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	it := testIntegration("gl", space.RootID, true)
	if err := s1.CreateIntegration(ctx(), it, entry("integration.create", it.ID)); err != nil {
		t.Fatal(err)
	}
	mustStack(t, s1, testStack("infra", space.RootID, "gl"))
	sc := testSchedule("sc1", "infra", schedule.Drift, base)
	if err := s1.CreateSchedule(ctx(), sc, scheduleEntry("schedule.create", sc.ID)); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wins sync.WaitGroup
	won := make(chan int, n)
	for i := range n {
		wins.Go(func() {
			ok, err := []*sqlstore.Store{s1, s2}[i%2].ClaimFiring(ctx(), "sc1", base, base.Add(time.Hour), base)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			if ok {
				won <- i
			}
		})
	}
	wins.Wait()
	close(won)
	if len(won) != 1 {
		t.Fatalf("%d claims won one firing; want 1", len(won))
	}
}

func testStackDrift(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("web", space.RootID, "gl"))
	mustStack(t, s, testStack("api", space.RootID, "gl"))
	if d, err := s.StackDrift(ctx(), "web"); err != nil || d != nil {
		t.Fatalf("a new stack's drift = %+v, %v; want none", d, err)
	}
	drifted := stack.Drift{StackID: "web", Drifted: true, RunID: "r1",
		Changes: []stack.DriftChange{{Address: "terraform_data.x", Action: "replace"}}, CheckedAt: base, ChangedAt: base}
	if prev, err := s.SetStackDrift(ctx(), drifted); err != nil || prev != nil {
		t.Fatalf("first SetStackDrift = %+v, %v", prev, err)
	}
	// Still drifted later: changed_at stays when the mark does.
	again := drifted
	again.RunID, again.CheckedAt, again.ChangedAt = "r2", base.Add(time.Hour), base.Add(time.Hour)
	prev, err := s.SetStackDrift(ctx(), again)
	if err != nil || prev == nil || !reflect.DeepEqual(*prev, drifted) {
		t.Fatalf("second SetStackDrift prev = %+v, %v", prev, err)
	}
	got, err := s.StackDrift(ctx(), "web")
	if err != nil || got.RunID != "r2" || !got.ChangedAt.Equal(base) || !got.CheckedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("StackDrift = %+v, %v", got, err)
	}
	if n, err := s.CountDriftedStacks(ctx()); err != nil || n != 1 {
		t.Fatalf("CountDriftedStacks = %d, %v; want 1", n, err)
	}
	clean := stack.Drift{StackID: "api", RunID: "r3", CheckedAt: base, ChangedAt: base}
	if _, err := s.SetStackDrift(ctx(), clean); err != nil {
		t.Fatal(err)
	}
	all, err := s.StackDrifts(ctx(), amongMany("web", "api", "none"))
	if err != nil || len(all) != 2 || !all["web"].Drifted || all["api"].Drifted || all["api"].Changes == nil {
		t.Fatalf("StackDrifts = %+v, %v", all, err)
	}
	// A stack deleted meanwhile is not marked.
	if prev, err := s.SetStackDrift(ctx(), stack.Drift{StackID: "gone", Drifted: true, CheckedAt: base, ChangedAt: base}); err != nil || prev != nil {
		t.Fatalf("SetStackDrift(gone) = %+v, %v", prev, err)
	}
	if d, err := s.StackDrift(ctx(), "gone"); err != nil || d != nil {
		t.Fatalf("a missing stack has a mark: %+v, %v", d, err)
	}
}
