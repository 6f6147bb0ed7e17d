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
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names) // NNNN_ prefixes: text order is version order
	at := slices.IndexFunc(names, func(n string) bool { return strings.HasSuffix(n, poolSpacesMigration) })
	if at < 0 {
		t.Fatalf("no migration *%s among %v", poolSpacesMigration, names)
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
	const at0 = "'2026-03-01T12:00:00.000000Z'"
	stmts = append(stmts,
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('root', 'root', NULL, "+at0+", "+at0+")",
		"INSERT INTO spaces (id, name, parent_id, created_at, updated_at) VALUES ('team', 'team', 'root', "+at0+", "+at0+")",
		"INSERT INTO vcs_agent_pools (id, name, description, token_hash, created_at, created_by, rotated_at) "+
			"VALUES ('lab', 'Lab', 'old', 'hash', "+at0+", 'apikey:admin', "+at0+")")
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("prepare the old schema: %v\n%.200s", err, q)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
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
