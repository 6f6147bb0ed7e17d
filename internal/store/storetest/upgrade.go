package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Upgrade is an upgrade test: on db, a raw handle on a fresh database that
// open opens, it applies the migrations before one, writes rows as they
// were then, closes db, opens the store (which applies the rest) and checks
// the rows came through. migrations holds the adapter's NNNN_name.sql files.
type Upgrade func(t *testing.T, db *sql.DB, migrations fs.FS, open Opener)

// Upgrades are the upgrade tests every adapter runs, by name.
func Upgrades() map[string]Upgrade {
	return map[string]Upgrade{
		"AgentPoolSpaces":     AgentPoolUpgrade,
		"CommandWrites":       CommandWritesUpgrade,
		"DeliveryProcessings": DeliveryProcessingsUpgrade,
		"DeliveryBodies":      DeliveryBodiesUpgrade,
		"DeliveryResultFrom":  DeliveryResultFromUpgrade,
		"Policies":            PoliciesUpgrade,
		"RunPlanned":          RunPlannedUpgrade,
	}
}

// poolSpacesMigration names (after its number) the migration that put VCS
// agent pools in spaces; found by name so that renumbering it at a merge
// does not break the upgrade test.
const poolSpacesMigration = "_vcs_agent_pool_spaces.sql"

// AgentPoolUpgrade is the upgrade test of that migration (issue 13): on a
// database migrated up to just before it and holding a pool, opening the
// store applies it and the pool lands in root, where every integration that
// named it may still use it. db is a raw handle on a fresh database that
// open opens; migrations holds the adapter's NNNN_name.sql files. db is
// closed before open is called.
func AgentPoolUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	oldSchema(t, db, migrations, poolSpacesMigration,
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('root', 'root', NULL, "+at0+", "+at0+")",
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('team', 'team', 'root', "+at0+", "+at0+")",
		"INSERT INTO vcs_agent_pools (id, name, description, token_hash, created_at, created_by, rotated_at) "+
			"VALUES ('lab', 'Lab', 'old', 'hash', "+at0+", 'apikey:admin', "+at0+")")
	s := openStore(t, open)
	p, err := s.GetAgentPool(ctx(), "lab")
	if err != nil || p.SpaceID != space.RootID || p.Name != "Lab" || p.Description != "old" || p.TokenHash != "hash" || !p.CreatedAt.Equal(base.Truncate(time.Second)) {
		t.Errorf("pool after the upgrade = %+v, %v; want it kept, in root", p, err)
	}
	err = s.DeleteSpace(ctx(), "team") // the new column's reference is live: deleting spaces still works
	if err != nil {
		t.Errorf("delete an empty space after the upgrade: %v", err)
	}
}

// acmeRows are the root space and an integration acme in it, as the old
// schemas hold them, then rows.
func acmeRows(rows ...string) []string {
	return append([]string{
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('root', 'root', NULL, " + at0 + ", " + at0 + ")",
		"INSERT INTO integrations (id, provider, name, is_default, space_id, api_host, user_facing_host, token_sealed, " +
			"webhook_secret_sealed, created_at, updated_at) VALUES ('acme', 'gitlab', 'acme', false, 'root', " +
			"'https://gitlab.example.com', 'https://gitlab.example.com', 'x', 'x', " + at0 + ", " + at0 + ")",
	}, rows...)
}

// at0 is base as the old schemas' rows hold it (SQL text that both
// dialects read as a time).
const at0 = "'2026-03-01T12:00:00.000000Z'"

// oldSchema applies the migrations before the one named *suffix to db,
// recording them as sqlstore.migrate does so that it applies only the rest,
// then runs rows (SQL both dialects accept) and closes db.
func oldSchema(t *testing.T, db *sql.DB, migrations fs.FS, suffix string, rows ...string) {
	t.Helper()
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names) // NNNN_ prefixes: text order is version order
	at := slices.IndexFunc(names, func(n string) bool { return strings.HasSuffix(n, suffix) })
	if at < 0 {
		t.Fatalf("no migration *%s among %v", suffix, names)
	}
	// The same bookkeeping table sqlstore.migrate creates, so that it skips
	// what was applied here.
	stmts := []string{"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"}
	for i, name := range names[:at] {
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b),
			fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', '2026-03-01T12:00:00Z')", i+1, name))
	}
	for _, q := range append(stmts, rows...) {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("prepare the old schema: %v\n%.200s", err, q)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// deliveryProcessingsMigration names the migration that keeps each
// processing of a delivery (issue 14).
const deliveryProcessingsMigration = "_delivery_attempts.sql"

// DeliveryProcessingsUpgrade is the upgrade test of that migration: a
// delivery processed before it keeps its outcome as processing 0, one
// that was never processed has none, and both can be redelivered. The
// arguments are AgentPoolUpgrade's.
func DeliveryProcessingsUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	const result = `'{"summary":"push to main: 1 stack(s): 1 created","runs_created":[],"runs_canceled":[],` +
		`"stacks":[{"stack_id":"infra","result":"created","reason":"push"}]}'`
	delivery := func(id, status, result string, attempts int) string {
		return fmt.Sprintf("INSERT INTO webhook_deliveries (id, integration_id, dedupe_key, event, headers, body, status, result, "+
			"attempts, received_at, updated_at) VALUES ('%s', 'acme', 'k-%s', 'Push Hook', '{}', 'x', '%s', %s, %d, %s, %s)",
			id, id, status, result, attempts, at0, at0)
	}
	oldSchema(t, db, migrations, deliveryProcessingsMigration, acmeRows(
		delivery("d1", "processed", result, 2),
		delivery("d2", "received", "'{}'", 0))...)
	s := openStore(t, open)
	d1, err := s.GetDelivery(ctx(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d1.Processings) != 1 {
		t.Fatalf("processings of a delivery processed before the upgrade = %+v, want its outcome as the first", d1.Processings)
	}
	p := d1.Processings[0]
	if p.Number != 0 || p.Trigger != webhook.TriggerReceived || p.Status != webhook.Processed || p.Attempts != 2 ||
		p.Result == nil || p.Result.Counts()["created"] != 1 || !p.RequestedAt.Equal(base.Truncate(time.Second)) || p.FinishedAt == nil {
		t.Errorf("processing 0 after the upgrade = %+v", p)
	}
	d2, err := s.GetDelivery(ctx(), "d2")
	if err != nil || len(d2.Processings) != 0 {
		t.Errorf("a delivery never processed: %+v, %v; want no processing", d2.Processings, err)
	}
	job := func(n int) jobqueue.NewJob { return webhook.RedeliverJob("d1", n) }
	if err := s.RedeliverDelivery(ctx(), "d1", "user:admin", base.Add(time.Hour), job); err != nil {
		t.Fatal(err)
	}
	if d1, err = s.GetDelivery(ctx(), "d1"); err != nil || len(d1.Processings) != 2 || d1.Processings[1].Number != 1 {
		t.Errorf("redelivered after the upgrade: %+v, %v", d1.Processings, err)
	}
}

// deliveryBodiesMigration names the migration that moved delivery bodies
// into a table of their own.
const deliveryBodiesMigration = "_delivery_bodies.sql"

// DeliveryBodiesUpgrade is the upgrade test of that migration: a delivery
// stored before it keeps its body for processing (read and claimed), one
// stored after has its own, and deleting the integration still deletes
// them. Arguments as for AgentPoolUpgrade.
func DeliveryBodiesUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	oldSchema(t, db, migrations, deliveryBodiesMigration, acmeRows(
		"INSERT INTO webhook_deliveries (id, integration_id, dedupe_key, event, headers, body, status, "+
			"received_at, updated_at) VALUES ('d1', 'acme', 'k1', 'Push Hook', '{}', '{\"old\":1}', 'received', "+at0+", "+at0+")")...)
	s := openStore(t, open)
	d, err := s.GetDelivery(ctx(), "d1")
	if err != nil || string(d.Body) != `{"old":1}` {
		t.Fatalf("delivery stored before the upgrade: body %q, %v; want it kept", d.Body, err)
	}
	if d, err = s.ClaimDelivery(ctx(), "d1", 0, base); err != nil || string(d.Body) != `{"old":1}` {
		t.Fatalf("claimed after the upgrade: body %q, %v; want it kept", d.Body, err)
	}
	at := base.Add(time.Hour)
	in, err := s.InsertDeliveries(ctx(), []webhook.NewDelivery{{Delivery: webhook.Delivery{ID: "d2", IntegrationID: "acme",
		DedupeKey: "k2", Event: "Push Hook", Body: []byte(`{"new":2}`), Status: webhook.Received, ReceivedAt: at, UpdatedAt: at},
		CheckedSecret: []byte("x")}})
	if err != nil || len(in) != 1 || in[0].ID != "d2" {
		t.Fatalf("insert after the upgrade = %+v, %v", in, err)
	}
	if d, err = s.GetDelivery(ctx(), "d2"); err != nil || string(d.Body) != `{"new":2}` {
		t.Fatalf("delivery stored after the upgrade: body %q, %v", d.Body, err)
	}
	if err := s.DeleteIntegration(ctx(), "acme", audit.Entry{At: at, Actor: "user:admin", Action: "integration.delete",
		ResourceType: "integration", ResourceID: "acme"}); err != nil {
		t.Fatalf("delete the integration after the upgrade: %v", err)
	}
	if _, err := s.GetDelivery(ctx(), "d2"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("delivery of a deleted integration: %v; want NotFound", err)
	}
}

// deliveryResultFromMigration names (after its number) the migration
// after which a delivery's outcome is read from its processing's row.
const deliveryResultFromMigration = "_delivery_result_from.sql"

// DeliveryResultFromUpgrade is the upgrade test of that migration: a
// delivery processed before it shows the outcome its own row holds, and
// one processed after shows its processing's, also when the delivery is
// processed again (a redelivery). Arguments as for AgentPoolUpgrade.
func DeliveryResultFromUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	oldSchema(t, db, migrations, deliveryResultFromMigration, acmeRows(
		"INSERT INTO webhook_deliveries (id, integration_id, dedupe_key, event, headers, body, status, result, attempts, "+
			"received_at, updated_at) VALUES ('d1', 'acme', 'k1', 'Push Hook', '{}', '', 'processed', "+
			"'{\"summary\":\"before\"}', 1, "+at0+", "+at0+")",
		"INSERT INTO webhook_delivery_processings (delivery_id, number, kind, requested_at, started_at, finished_at, status, "+
			"attempts, result) VALUES ('d1', 0, 'received', "+at0+", "+at0+", "+at0+", 'processed', 1, '{\"summary\":\"before\"}')")...)
	s := openStore(t, open)
	summary := func(want string) {
		t.Helper()
		d, err := s.GetDelivery(ctx(), "d1")
		if err != nil || d.Result == nil || d.Result.Summary != want {
			t.Fatalf("delivery = %+v, %v; want the outcome %q", d.Result, err, want)
		}
		list, _, err := s.ListDeliveries(ctx(), webhook.Filter{All: true}, "", 10)
		if err != nil || len(list) != 1 || list[0].Result == nil || list[0].Result.Summary != want {
			t.Fatalf("listed = %+v, %v; want the outcome %q", list, err, want)
		}
	}
	summary("before")
	job := func(n int) jobqueue.NewJob { return webhook.RedeliverJob("d1", n) }
	if err := s.RedeliverDelivery(ctx(), "d1", "user:admin", base, job); err != nil {
		t.Fatal(err)
	}
	summary("before") // until the redelivery's outcome is in
	mustClaim(t, s, "d1", 1, base)
	mustFinish(t, s, webhook.Outcome{ID: "d1", Processing: 1, Status: webhook.Processed, Result: &webhook.Result{Summary: "after"},
		At: base.Add(time.Second)}, run.Changes{})
	summary("after")
}

// runErrorDetailMigration names (after its number) the migration that
// added runs' planned and error_detail.
const runErrorDetailMigration = "_run_error_detail.sql"

// RunPlannedUpgrade is the upgrade test of that migration (issue 14): runs
// from before it that reported a plan keep showing its counts, and those
// that never planned (a failed plan, a task) show none. Arguments as for
// AgentPoolUpgrade.
func RunPlannedUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	histories := map[string]string{
		"proposed-planned": "PROPOSED QUEUED READY PREPARING INITIALIZING PLANNING FINISHED",
		"tracked-no-op":    "TRACKED QUEUED READY PREPARING INITIALIZING PLANNING FINISHED",
		"apply-failed":     "TRACKED QUEUED READY PREPARING INITIALIZING PLANNING UNCONFIRMED CONFIRMED PREPARING_APPLY APPLYING FAILED",
		"discarded":        "TRACKED QUEUED READY PREPARING INITIALIZING PLANNING UNCONFIRMED DISCARDED",
		"plan-failed":      "PROPOSED QUEUED READY PREPARING INITIALIZING PLANNING FAILED",
		"stopped":          "TRACKED QUEUED READY PREPARING INITIALIZING STOPPED",
		"task":             "TASK QUEUED READY PREPARING INITIALIZING PERFORMING FINISHED",
	}
	var rows []string
	for id, h := range histories {
		f := strings.Fields(h)
		rows = append(rows, fmt.Sprintf("INSERT INTO runs (id, stack_id, type, state, delta_add, created_at, updated_at) "+
			"VALUES ('%s', 'web', '%s', '%s', 1, %s, %s)", id, f[0], f[len(f)-1], at0, at0))
		for _, st := range f[1:] {
			rows = append(rows, fmt.Sprintf("INSERT INTO run_transitions (run_id, state, at) VALUES ('%s', '%s', %s)", id, st, at0))
		}
	}
	oldSchema(t, db, migrations, runErrorDetailMigration, rows...)
	s := openStore(t, open)
	for id := range histories {
		want := !slices.Contains([]string{"plan-failed", "stopped", "task"}, id)
		r, err := s.GetRun(ctx(), id)
		if err != nil || r.Planned != want || r.Delta.Add != 1 || r.ErrorDetail != "" {
			t.Errorf("run %s after the upgrade = %+v, %v; want planned %v", id, r, err, want)
		}
	}
}

// policiesMigration names the migration that added policies (issue 17),
// found by name so that renumbering it at a merge does not break the test.
const policiesMigration = "_policies.sql"

// PoliciesUpgrade is the upgrade test of that migration: a stack written
// before it can have policies attached afterwards, and can still be
// deleted with one attached.
func PoliciesUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	oldSchema(t, db, migrations, policiesMigration,
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('root', 'root', NULL, "+at0+", "+at0+")",
		"INSERT INTO stacks (id, name, space_id, integration_ref, repository, repository_key, branch, created_at, updated_at) "+
			"VALUES ('old', 'old', 'root', 'gl', 'acme/infra', 'acme/infra', 'main', "+at0+", "+at0+")")
	s := openStore(t, open)
	p := policy.Policy{ID: "p", Name: "p", Type: policy.Push, SpaceID: space.RootID, Body: "package hoist\n", Version: 1,
		CreatedAt: base, UpdatedAt: base}
	if err := s.CreatePolicy(ctx(), p, policyEntry("policy.create", "p")); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachPolicy(ctx(), policy.Attachment{StackID: "old", PolicyID: "p", CreatedAt: base}, policyEntry("policy.attach", "p")); err != nil {
		t.Fatalf("attach to a stack from before the upgrade: %v", err)
	}
	if err := s.DeleteStack(ctx(), "old", stackEntry("stack.delete", "old")); err != nil {
		t.Errorf("delete a stack with a policy after the upgrade: %v", err)
	}
}
