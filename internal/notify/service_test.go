package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/run"
)

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	ok := notify.CreateInput{Name: "Ops", Space: "a", Kind: "webhook", URL: "https://hooks.example.com/x", Secret: testSecret,
		Events: []string{"run_failed"}}
	cases := []struct {
		name   string
		change func(*notify.CreateInput)
		actor  string
		code   apperr.Code
		field  string
		msg    string
	}{
		{"no name", func(in *notify.CreateInput) { in.Name = " " }, admin, apperr.Invalid, "name", ""},
		{"bad kind", func(in *notify.CreateInput) { in.Kind = "email" }, admin, apperr.Invalid, "kind", ""},
		{"no events", func(in *notify.CreateInput) { in.Events = nil }, admin, apperr.Invalid, "events", ""},
		{"unknown event", func(in *notify.CreateInput) { in.Events = []string{"run_exploded"} }, admin, apperr.Invalid, "events", "unknown event"},
		{"twice", func(in *notify.CreateInput) { in.Events = []string{"run_failed", "run_failed"} }, admin, apperr.Invalid, "events", "twice"},
		{"ftp", func(in *notify.CreateInput) { in.URL = "ftp://example.com/x" }, admin, apperr.Invalid, "url", "http"},
		{"no host", func(in *notify.CreateInput) { in.URL = "https:///x" }, admin, apperr.Invalid, "url", "host"},
		{"user info", func(in *notify.CreateInput) { in.URL = "https://u:p@example.com/" }, admin, apperr.Invalid, "url", "password"},
		{"too long", func(in *notify.CreateInput) { in.URL = "https://example.com/" + strings.Repeat("a", 2048) }, admin, apperr.Invalid, "url", "2048"},
		{"no secret", func(in *notify.CreateInput) { in.Secret = "" }, admin, apperr.Invalid, "secret", "required"},
		{"short secret", func(in *notify.CreateInput) { in.Secret = "short" }, admin, apperr.Invalid, "secret", "16"},
		{"no space", func(in *notify.CreateInput) { in.Space = "nope" }, admin, apperr.Invalid, "space", ""},
		{"reader", func(*notify.CreateInput) {}, reader, apperr.Forbidden, "", "admin"},
		{"other space", func(in *notify.CreateInput) { in.Space = "b" }, aAdmin, apperr.Invalid, "space", ""},
	}
	for _, c := range cases {
		in := ok
		in.Events = append([]string(nil), ok.Events...)
		c.change(&in)
		_, err := e.svc.Create(context.Background(), c.actor, in)
		var ae *apperr.Error
		if !apperr.Is(err, c.code) || (c.field != "" && (!errors.As(err, &ae) || ae.Field != c.field)) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %s on %q containing %q", c.name, err, c.code, c.field, c.msg)
		}
	}
	// Slack targets need no secret; the space's admin creates them.
	in := ok
	in.Kind, in.Secret, in.Space = "slack", "", "a-child"
	tg, err := e.svc.Create(context.Background(), aAdmin, in)
	if err != nil || tg.SecretSealed != nil || tg.URLHost != "hooks.example.com" || string(tg.URLSealed) == in.URL {
		t.Fatalf("slack target = %+v, %v", tg, err)
	}
}

// TestAccess: readers of a space see its targets, not others'; only its
// admins change them.
func TestAccess(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	ctx := context.Background()
	e.target(t, "In A", "a", "https://a.example.com", "run_failed")
	e.target(t, "In B", "b", "https://b.example.com", "run_failed")
	ts, _, err := e.svc.List(ctx, reader, "", 0)
	if err != nil || len(ts) != 1 || ts[0].ID != "in-a" {
		t.Errorf("reader's list = %+v, %v", ts, err)
	}
	if _, err := e.svc.Get(ctx, reader, "in-b"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("reader reads b's target: %v", err)
	}
	name := "Renamed"
	if _, err := e.svc.Update(ctx, reader, "in-a", notify.Patch{Name: &name}); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("reader updates: %v", err)
	}
	if err := e.svc.Delete(ctx, reader, "in-a"); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("reader deletes: %v", err)
	}
	if _, _, err := e.svc.Deliveries(ctx, reader, "in-a", "", 0); err != nil {
		t.Errorf("reader reads the delivery log: %v", err)
	}
	bad := []string{"drift_detected", "nope"}
	if _, err := e.svc.Update(ctx, aAdmin, "in-a", notify.Patch{Events: &bad}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("unknown event on update: %v", err)
	}
	events, url := []string{"drift_detected"}, "http://new.example.com:8080/x"
	tg, err := e.svc.Update(ctx, aAdmin, "in-a", notify.Patch{Name: &name, Events: &events, URL: &url})
	if err != nil || tg.Name != "Renamed" || tg.URLHost != "new.example.com:8080" || len(tg.Events) != 1 {
		t.Errorf("update = %+v, %v", tg, err)
	}
	if err := e.svc.Delete(ctx, aAdmin, "in-b"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a's admin deletes b's target: %v", err)
	}
	if err := e.svc.Delete(ctx, aAdmin, "in-a"); err != nil {
		t.Error(err)
	}
}

// TestEventsStayInTheirSpace: a stack's events reach the targets of its
// space and the spaces above, that chose the event; nothing else.
func TestEventsStayInTheirSpace(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	for _, tg := range []struct{ name, space, event string }{
		{"root", "root", "drift_detected"}, {"a", "a", "drift_detected"}, {"child", "a-child", "drift_detected"},
		{"b", "b", "drift_detected"}, {"a-cleared-only", "a", "drift_cleared"},
	} {
		e.target(t, tg.name, tg.space, "https://x.example.com", tg.event)
	}
	if err := e.svc.DriftChanged(context.Background(), "net", true, []notify.ResourceChange{{Address: "null_resource.x", Action: "delete"}}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"root": 1, "a": 1, "child": 1, "b": 0, "a-cleared-only": 0} {
		ds := e.deliveries(t, id)
		if len(ds) != want {
			t.Errorf("target %s got %d deliveries, want %d", id, len(ds), want)
			continue
		}
		if want == 1 {
			var n notify.Notification
			if err := json.Unmarshal(ds[0].Payload, &n); err != nil || n.Event != notify.DriftDetected || !n.Drift.Drifted ||
				len(n.Drift.Changes) != 1 || n.URL != "https://hoist.example.com/stacks/net" {
				t.Errorf("payload of %s = %s (%v)", id, ds[0].Payload, err)
			}
		}
	}
	if err := e.svc.DriftChanged(context.Background(), "nope", true, nil); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("drift of a missing stack: %v", err)
	}
}

// TestTokenExpiring: with a clock the test controls, the token's expiry
// raises token_expiring at 30, 7 and 1 days, once each, whatever the
// number of checks; a renewed token starts again.
func TestTokenExpiring(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	ctx := context.Background()
	tg := e.target(t, "Tokens", "root", "https://x.example.com", "token_expiring")
	other := e.target(t, "Other space", "b", "https://x.example.com", "token_expiring")
	setExpiry := func(exp time.Time) {
		it, err := e.store.GetIntegration(ctx, "gl")
		if err != nil {
			t.Fatal(err)
		}
		it.TokenExpiresAt = &exp
		if err := e.store.UpdateIntegration(ctx, it, auditEntry()); err != nil {
			t.Fatal(err)
		}
	}
	exp := start.Add(40 * 24 * time.Hour)
	setExpiry(exp)
	days := func() []int {
		var out []int
		for _, d := range e.deliveries(t, tg.ID) {
			var n notify.Notification
			if err := json.Unmarshal(d.Payload, &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n.Integration.DaysLeft)
		}
		return out
	}
	check := func(times int) {
		for range times {
			if err := e.svc.CheckTokens(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		at   time.Duration // before expiry
		want string
	}{
		{31 * 24 * time.Hour, "[]"},
		{30 * 24 * time.Hour, "[30]"},
		{20 * 24 * time.Hour, "[30]"},
		{7*24*time.Hour - time.Minute, "[30 7]"},
		{2 * 24 * time.Hour, "[30 7]"},
		{23 * time.Hour, "[30 7 1]"},
		{-time.Hour, "[30 7 1]"}, // expired: nothing more
	}
	for _, s := range steps {
		e.clock.Set(exp.Add(-s.at))
		check(3)
		if got := fmt.Sprint(days()); got != s.want {
			t.Fatalf("%v before expiry: notices %s, want %s", s.at, got, s.want)
		}
	}
	if n := len(e.deliveries(t, other.ID)); n != 0 {
		t.Errorf("a target in space b got %d token notices of a root integration", n)
	}
	// Renewed, first seen with 5 days left: only the 7-day notice.
	exp = e.clock.Now().Add(5 * 24 * time.Hour)
	setExpiry(exp)
	check(2)
	if got := fmt.Sprint(days()); got != "[30 7 1 5]" {
		t.Errorf("after renewal: %s, want [30 7 1 5]", got)
	}
}

// TestTokenWatch runs the periodic loop: it checks at start and then on
// its interval, with the clock the test controls.
func TestTokenWatch(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	tg := e.target(t, "Tokens", "root", "https://x.example.com", "token_expiring")
	it, err := e.store.GetIntegration(context.Background(), "gl")
	if err != nil {
		t.Fatal(err)
	}
	exp := start.Add(10 * 24 * time.Hour)
	it.TokenExpiresAt = &exp
	if err := e.store.UpdateIntegration(context.Background(), it, auditEntry()); err != nil {
		t.Fatal(err)
	}
	w := e.svc.WatchTokens(5 * time.Millisecond)
	w.Start(context.Background())
	t.Cleanup(w.Stop)
	apptest.Eventually(t, 5*time.Second, "the 30-day notice", func() bool { return len(e.deliveries(t, tg.ID)) == 1 })
	e.clock.Add(4 * 24 * time.Hour) // 6 days left
	apptest.Eventually(t, 5*time.Second, "the 7-day notice", func() bool { return len(e.deliveries(t, tg.ID)) == 2 })
	w.Stop()
	w.Stop()
}

func auditEntry() audit.Entry {
	return audit.Entry{At: start, Actor: admin, Action: "integration.update", ResourceType: "integration", ResourceID: "gl"}
}

// TestRunEvents: which run transitions notify, with what; handed-back
// runs re-entering a state and merge request attachments do not.
func TestRunEvents(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	tg := e.target(t, "Runs", "a", "https://x.example.com", "run_finished", "run_failed", "run_needs_confirmation", "run_needs_review")
	r := run.Run{ID: "01run", StackID: "net", Type: run.Tracked, CommitSHA: strings.Repeat("c", 40), Branch: "main", TriggeredBy: "push:alice"}
	other := r
	other.StackID = "web" // in space b
	evs := []run.Event{
		{Run: r, From: run.Ready, To: run.Preparing},
		{Run: r, From: run.Planning, To: run.PendingReview},
		{Run: r, From: run.PendingReview, To: run.Unconfirmed},
		{Run: r, From: run.Planning, To: run.Unconfirmed, Reentered: true},
		{Run: r, Attached: true},
		{Run: r, From: run.Applying, To: run.Finished},
		{Run: r, From: run.Planning, To: run.Failed, Note: "plan failed"},
		{Run: other, From: run.Planning, To: run.Failed},
	}
	if err := e.store.InTx(context.Background(), func(ctx context.Context) error { return e.svc.OnRunEvents(ctx, evs) }); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range e.deliveries(t, tg.ID) {
		var n notify.Notification
		if err := json.Unmarshal(d.Payload, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s>%s %s", n.Event, n.Run.PreviousState, n.Run.State, n.Run.Note))
		if n.Run.ID != "01run" || n.Stack.ID != "net" || n.URL != "https://hoist.example.com/runs/01run" || n.Run.TriggeredBy != "push:alice" {
			t.Errorf("body = %s", d.Payload)
		}
	}
	want := []string{"run_needs_review PLANNING>PENDING_REVIEW ", "run_needs_confirmation PENDING_REVIEW>UNCONFIRMED ",
		"run_finished APPLYING>FINISHED ", "run_failed PLANNING>FAILED plan failed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notifications = %q\nwant %q", got, want)
	}
}

// TestDriftChangedJoinsTheTransaction: called inside the drift code's
// InTx, a notification commits or rolls back with the mark.
func TestDriftChangedJoinsTheTransaction(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	tg := e.target(t, "Drift", "a", "https://x.example.com", "drift_detected", "drift_cleared")
	ctx := context.Background()
	rollback := errors.New("the mark's write failed")
	err := e.store.InTx(ctx, func(ctx context.Context) error {
		if err := e.svc.DriftChanged(ctx, "net", true, nil); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) || len(e.deliveries(t, tg.ID)) != 0 {
		t.Fatalf("after a rollback: %v, %d deliveries", err, len(e.deliveries(t, tg.ID)))
	}
	if err := e.store.InTx(ctx, func(ctx context.Context) error { return e.svc.DriftChanged(ctx, "net", false, nil) }); err != nil {
		t.Fatal(err)
	}
	if ds := e.deliveries(t, tg.ID); len(ds) != 1 || ds[0].Event != notify.DriftCleared {
		t.Errorf("after a commit: %+v", ds)
	}
}

// TestSecretsSealedAtRest: the database holds neither a target's URL nor
// its secret in the clear, nor does the audit log.
func TestSecretsSealedAtRest(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite")
	const url = "https://hooks.example.com/services/T0/B0/plaintext-path"
	e.target(t, "Sealed", "a", url, "run_failed")
	newURL, newSecret := url+"-2", "another-secret-0123456789"
	if _, err := e.svc.Update(context.Background(), admin, "sealed", notify.Patch{URL: &newURL, Secret: &newSecret}); err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	rows, err := e.store.DB().QueryContext(context.Background(),
		`SELECT url_sealed, COALESCE(secret_sealed, x''), url_host FROM notification_targets
		 UNION ALL SELECT action, detail, '' FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b []byte
		var c string
		if err := rows.Scan(&a, &b, &c); err != nil {
			t.Fatal(err)
		}
		raw.Write(a)
		raw.Write(b)
		raw.WriteString(c)
	}
	for _, plain := range []string{"plaintext-path", testSecret, newSecret} {
		if strings.Contains(raw.String(), plain) {
			t.Errorf("the database holds %q in the clear", plain)
		}
	}
	if !strings.Contains(raw.String(), "hooks.example.com") {
		t.Error("the host, which is shown, is not stored")
	}
}
