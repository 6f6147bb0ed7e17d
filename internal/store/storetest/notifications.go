package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/space"
)

func testTarget(id, spaceID string, events ...notify.Event) notify.Target {
	return notify.Target{ID: id, Name: id, SpaceID: spaceID, Kind: notify.Webhook, Events: events,
		URLSealed: []byte("sealed-url-" + id), URLHost: "hooks.example.com", SecretSealed: []byte("sealed-secret"),
		CreatedAt: base, UpdatedAt: base, CreatedBy: "user:admin"}
}

func targetEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "notification_target", ResourceID: id, SpaceID: space.RootID}
}

func testDelivery(targetID, nid string, at time.Time) notify.Delivery {
	return notify.Delivery{TargetID: targetID, Event: notify.RunFailed, NotificationID: nid, Payload: []byte(`{"id":"` + nid + `"}`),
		State: notify.StatePending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
}

// testNotificationTargets covers targets' CRUD, listing and event lookup
// (issue 21).
func testNotificationTargets(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	mustSpace(t, s, space.Space{ID: "b"})
	hook := testTarget("hook", "a", notify.RunFailed, notify.DriftDetected)
	if err := s.CreateNotificationTarget(ctx(), hook, targetEntry("notification_target.create", "hook")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetNotificationTarget(ctx(), "hook")
	if err != nil || !reflect.DeepEqual(got, hook) {
		t.Errorf("GetNotificationTarget = %+v, %v\nwant %+v", got, err, hook)
	}
	_, err = s.GetNotificationTarget(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.CreateNotificationTarget(ctx(), testTarget("hook", "b", notify.RunFailed), targetEntry("x", "hook")), apperr.Conflict)
	wantField(t, s.CreateNotificationTarget(ctx(), testTarget("lost", "nope", notify.RunFailed), targetEntry("x", "lost")), "space")
	slack := testTarget("slack", "b", notify.RunFinished)
	slack.Kind, slack.SecretSealed = notify.Slack, nil
	for _, tg := range []notify.Target{slack, testTarget("zeta", space.RootID, notify.RunFailed)} {
		if err := s.CreateNotificationTarget(ctx(), tg, targetEntry("notification_target.create", tg.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetNotificationTarget(ctx(), "slack"); err != nil || got.SecretSealed != nil || got.Kind != notify.Slack {
		t.Errorf("slack target = %+v, %v; want no secret", got, err)
	}

	ts, next, err := s.ListNotificationTargets(ctx(), notify.Filter{All: true}, "", 2)
	if err != nil || len(ts) != 2 || ts[0].ID != "hook" || ts[1].ID != "slack" || next == "" {
		t.Fatalf("first page = %+v, %q, %v", ts, next, err)
	}
	ts, next, err = s.ListNotificationTargets(ctx(), notify.Filter{All: true}, next, 2)
	if err != nil || len(ts) != 1 || ts[0].ID != "zeta" || next != "" {
		t.Errorf("second page = %+v, %q, %v", ts, next, err)
	}
	ts, _, err = s.ListNotificationTargets(ctx(), notify.Filter{Spaces: []string{"b", space.RootID}}, "", 0)
	if err != nil || len(ts) != 2 || ts[0].ID != "slack" || ts[1].ID != "zeta" {
		t.Errorf("targets of b and root = %+v, %v", ts, err)
	}
	if ts, _, err = s.ListNotificationTargets(ctx(), notify.Filter{}, "", 0); err != nil || len(ts) != 0 {
		t.Errorf("targets of no space = %+v, %v", ts, err)
	}
	ts, err = s.TargetsForEvent(ctx(), notify.RunFailed)
	if err != nil || len(ts) != 2 || ts[0].ID != "hook" || ts[1].ID != "zeta" {
		t.Errorf("TargetsForEvent(run_failed) = %+v, %v", ts, err)
	}

	hook.Name, hook.Events, hook.URLSealed, hook.UpdatedAt = "Hook 2", []notify.Event{notify.RunFinished}, []byte("new"), base.Add(time.Minute)
	if err := s.UpdateNotificationTarget(ctx(), hook, targetEntry("notification_target.update", "hook")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetNotificationTarget(ctx(), "hook"); err != nil || !reflect.DeepEqual(got, hook) {
		t.Errorf("after update = %+v, %v\nwant %+v", got, err, hook)
	}
	wantCode(t, s.UpdateNotificationTarget(ctx(), testTarget("nope", "a"), targetEntry("x", "nope")), apperr.NotFound)
	if _, err := s.EnqueueNotifications(ctx(), []notify.Delivery{testDelivery("hook", "n1", base)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNotificationTarget(ctx(), "hook", targetEntry("notification_target.delete", "hook")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetNotificationTarget(ctx(), "hook")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.DeleteNotificationTarget(ctx(), "hook", targetEntry("x", "hook")), apperr.NotFound)
	if ds, _, err := s.ListNotifications(ctx(), "hook", "", 0); err != nil || len(ds) != 0 {
		t.Errorf("deliveries of a deleted target = %+v, %v", ds, err)
	}
	_, err = s.EnqueueNotifications(ctx(), []notify.Delivery{testDelivery("hook", "n2", base)})
	wantCode(t, err, apperr.NotFound)
	entries, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "notification_target"}, "", 0)
	if err != nil || len(entries) != 5 {
		t.Errorf("audit entries = %d, %v; want 5 (3 creates, update, delete)", len(entries), err)
	}
}

// testNotificationOutbox covers the delivery outbox: per-target order,
// claims, resolution, the log, and token notices.
func testNotificationOutbox(t *testing.T, h Harness) {
	s := fresh(t, h)
	for _, id := range []string{"one", "two"} {
		if err := s.CreateNotificationTarget(ctx(), testTarget(id, space.RootID, notify.RunFailed), targetEntry("x", id)); err != nil {
			t.Fatal(err)
		}
	}
	later := base.Add(time.Hour)
	ids, err := s.EnqueueNotifications(ctx(), []notify.Delivery{testDelivery("one", "n1", base), testDelivery("one", "n2", base),
		testDelivery("two", "n3", later)})
	if err != nil || len(ids) != 3 || !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("EnqueueNotifications = %v, %v", ids, err)
	}
	// Only "one" is due; a second claimer gets nothing while it is leased.
	got, err := s.ClaimNotificationTargets(ctx(), "a", base, time.Minute, 10)
	if err != nil || !reflect.DeepEqual(got, []string{"one"}) {
		t.Fatalf("claim = %v, %v", got, err)
	}
	if got, err := s.ClaimNotificationTargets(ctx(), "b", base.Add(time.Second), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("second claim = %v, %v; want none", got, err)
	}
	d, ok, err := s.NextNotification(ctx(), "one")
	if err != nil || !ok || d.ID != ids[0] || d.NotificationID != "n1" || string(d.Payload) != `{"id":"n1"}` || d.State != notify.StatePending {
		t.Fatalf("NextNotification = %+v, %v, %v", d, ok, err)
	}
	// The first fails and retries in a minute: the target is due then,
	// and its second delivery waits behind it.
	d.State, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt = notify.StateRetrying, 1, 500, "boom", base.Add(time.Minute)
	a := notify.Attempt{DeliveryID: d.ID, Number: 1, At: base, StatusCode: 500, Error: "boom", Duration: 12 * time.Millisecond}
	if err := s.ResolveNotification(ctx(), "one", "a", &d, &a, base); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimNotificationTargets(ctx(), "b", base.Add(30*time.Second), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("claim before the retry = %v, %v; want none", got, err)
	}
	if got, err := s.ClaimNotificationTargets(ctx(), "b", base.Add(time.Minute), time.Minute, 10); err != nil || !reflect.DeepEqual(got, []string{"one"}) {
		t.Fatalf("claim at the retry = %v, %v", got, err)
	}
	if d2, _, _ := s.NextNotification(ctx(), "one"); d2.ID != ids[0] {
		t.Errorf("next after a failure = %d, want the same delivery %d", d2.ID, ids[0])
	}
	d.State, d.Attempts, d.LastStatus, d.LastError = notify.StateDelivered, 2, 200, ""
	a2 := notify.Attempt{DeliveryID: d.ID, Number: 2, At: base.Add(time.Minute), StatusCode: 200}
	if err := s.ResolveNotification(ctx(), "one", "b", &d, &a2, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d3, ok, _ := s.NextNotification(ctx(), "one"); !ok || d3.ID != ids[1] {
		t.Errorf("next after delivery = %+v, %v; want %d", d3, ok, ids[1])
	}
	stored, err := s.GetNotification(ctx(), ids[0])
	if err != nil || stored.State != notify.StateDelivered || stored.Attempts != 2 || stored.LastStatus != 200 {
		t.Errorf("GetNotification = %+v, %v", stored, err)
	}
	_, err = s.GetNotification(ctx(), 999999)
	wantCode(t, err, apperr.NotFound)
	as, err := s.NotificationAttempts(ctx(), ids[0])
	want := []notify.Attempt{a, a2}
	if err != nil || !reflect.DeepEqual(as, want) {
		t.Errorf("attempts = %+v, %v\nwant %+v", as, err, want)
	}
	// The log pages newest first; a redelivery names the first.
	re := testDelivery("one", "n1", base.Add(2*time.Minute))
	re.RedeliveryOf = ids[0]
	rids, err := s.EnqueueNotifications(ctx(), []notify.Delivery{re})
	if err != nil {
		t.Fatal(err)
	}
	ds, next, err := s.ListNotifications(ctx(), "one", "", 2)
	if err != nil || len(ds) != 2 || ds[0].ID != rids[0] || ds[0].RedeliveryOf != ids[0] || ds[1].ID != ids[1] || next == "" {
		t.Fatalf("first page = %+v, %q, %v", ds, next, err)
	}
	ds, next, err = s.ListNotifications(ctx(), "one", next, 2)
	if err != nil || len(ds) != 1 || ds[0].ID != ids[0] || next != "" {
		t.Errorf("second page = %+v, %q, %v", ds, next, err)
	}
	_, _, err = s.ListNotifications(ctx(), "one", "garbage!", 2)
	wantField(t, err, "cursor")
	// A target deleted while its delivery was sent: the result has nowhere
	// to go, and that is no error.
	if err := s.CreateNotificationTarget(ctx(), testTarget("gone", space.RootID, notify.RunFailed), targetEntry("x", "gone")); err != nil {
		t.Fatal(err)
	}
	gids, err := s.EnqueueNotifications(ctx(), []notify.Delivery{testDelivery("gone", "g1", base)})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, _ := s.NextNotification(ctx(), "gone")
	if err := s.DeleteNotificationTarget(ctx(), "gone", targetEntry("x", "gone")); err != nil {
		t.Fatal(err)
	}
	gone.State, gone.Attempts = notify.StateDelivered, 1
	if err := s.ResolveNotification(ctx(), "gone", "a", &gone, &notify.Attempt{DeliveryID: gids[0], Number: 1, At: base}, base); err != nil {
		t.Errorf("resolving a deleted target's delivery: %v", err)
	}
	// Nothing open: resolving with nothing clears the target's due time.
	if err := s.ResolveNotification(ctx(), "two", "nobody", nil, nil, base); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimNotificationTargets(ctx(), "c", later, time.Minute, 10); !reflect.DeepEqual(got, []string{"one", "two"}) &&
		!reflect.DeepEqual(got, []string{"two", "one"}) {
		t.Errorf("claim at %v = %v; want both targets", later, got)
	}

	// Token notices: once per integration, expiry and threshold.
	it := testIntegration("gl", space.RootID, true)
	if err := s.CreateIntegration(ctx(), it, audit.Entry{At: base, Actor: "user:admin", Action: "integration.create", ResourceType: "integration", ResourceID: "gl"}); err != nil {
		t.Fatal(err)
	}
	exp := base.Add(10 * 24 * time.Hour)
	for i, want := range []bool{true, false} {
		if fresh, err := s.RecordTokenNotice(ctx(), "gl", exp, 30, base); err != nil || fresh != want {
			t.Errorf("RecordTokenNotice #%d = %v, %v; want %v", i, fresh, err, want)
		}
	}
	if fresh, err := s.RecordTokenNotice(ctx(), "gl", exp, 7, base); err != nil || !fresh {
		t.Errorf("7-day notice = %v, %v; want fresh", fresh, err)
	}
	if fresh, err := s.RecordTokenNotice(ctx(), "gl", exp.Add(time.Hour), 30, base); err != nil || !fresh {
		t.Errorf("renewed token's notice = %v, %v; want fresh", fresh, err)
	}
}
