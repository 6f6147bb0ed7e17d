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

	"github.com/hoistdev/hoist/internal/space"
)

// at0 is the time of rows written before an upgrade, as SQL.
const at0 = "'2026-03-01T12:00:00.000000Z'"

// Upgrades runs the upgrade test of every migration that changes existing
// rows, each on a fresh database from newDB (a raw handle and the opener
// of a store on it); migrations holds the adapter's NNNN_name.sql files.
// Pools from before issue 13 move to root; runs from before issue 14 that
// planned are marked so.
func Upgrades(t *testing.T, migrations fs.FS, newDB func(t *testing.T) (*sql.DB, Opener)) {
	t.Helper()
	for name, upgrade := range map[string]func(*testing.T, *sql.DB, fs.FS, Opener){
		"agent pools": AgentPoolUpgrade, "runs planned": RunPlannedUpgrade} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, open := newDB(t)
			upgrade(t, db, migrations, open)
		})
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
	migrateBefore(t, db, migrations, poolSpacesMigration,
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

// migrateBefore brings db to the schema just before the migration whose
// name ends in suffix, recorded as sqlstore.migrate records migrations so
// that it applies only the rest, then runs rows (the old data) and closes
// db.
func migrateBefore(t *testing.T, db *sql.DB, migrations fs.FS, suffix string, rows ...string) {
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
	migrateBefore(t, db, migrations, runErrorDetailMigration, rows...)
	s := openStore(t, open)
	for id := range histories {
		want := !slices.Contains([]string{"plan-failed", "stopped", "task"}, id)
		r, err := s.GetRun(ctx(), id)
		if err != nil || r.Planned != want || r.Delta.Add != 1 || r.ErrorDetail != "" {
			t.Errorf("run %s after the upgrade = %+v, %v; want planned %v", id, r, err, want)
		}
	}
}
