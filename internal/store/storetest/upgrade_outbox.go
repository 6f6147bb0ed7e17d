package storetest

import (
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// commandWritesMigration names the migration that let the outbox hold the
// answers to merge request commands (issue 18); on SQLite it rebuilds
// gitlab_writes.
const commandWritesMigration = "_gitlab_write_commands.sql"

// CommandWritesUpgrade is the upgrade test of that migration: the writes
// from before it come through whole (pending ones still to be sent, with
// their key's mark), ids keep growing past every id handed out before (the
// marks compare them), the table keeps its indexes and its kind check, and
// the new kinds are accepted. Arguments as for AgentPoolUpgrade.
func CommandWritesUpgrade(t *testing.T, db *sql.DB, migrations fs.FS, open Opener) {
	t.Helper()
	const key = "note|gl|acme/infra|4|web"
	write := func(state string) string {
		return "INSERT INTO gitlab_writes (integration_id, run_id, kind, key, ord, rank, payload, state, attempts, " +
			"next_attempt_at, last_error, result, created_at, updated_at) VALUES ('gl', 'r1', 'note', '" + key + "', 'r1', 2, " +
			`'{"project":"acme/infra","merge_request_iid":4,"stack_id":"web","body":"planned"}', '` + state + "', 1, " +
			at0 + ", 'GitLab answered 502', '', " + at0 + ", " + at0 + ")"
	}
	oldSchema(t, db, migrations, commandWritesMigration,
		write("done"), write("retrying"), write("pending"),
		// The newest write is gone (no version deletes writes, but an
		// operator may): its id is not handed out again.
		"DELETE FROM gitlab_writes WHERE id = (SELECT MAX(id) FROM gitlab_writes)",
		"INSERT INTO gitlab_write_keys (key, integration_id, due_at, mark_ord, mark_rank, mark_id) VALUES ('"+key+"', 'gl', "+
			at0+", 'r1', 2, 1)")
	s := openStore(t, open)
	ws, err := s.ListWrites(ctx(), "r1")
	if err != nil || len(ws) != 2 {
		t.Fatalf("writes after the upgrade = %+v, %v; want the two left", ws, err)
	}
	if w := ws[1]; w.ID != 2 || w.Kind != feedback.KindNote || w.Key != key || w.Ord != "r1" || w.Rank != 2 ||
		w.State != feedback.StateRetrying || w.Attempts != 1 || w.LastError != "GitLab answered 502" ||
		w.Payload.Body != "planned" || w.Payload.MergeRequestIID != 4 || !w.CreatedAt.Equal(base.Truncate(time.Second)) {
		t.Errorf("retrying write after the upgrade = %+v", w)
	}
	pending, mark := mustPending(t, s, key)
	if len(pending) != 1 || pending[0].ID != 2 || mark != (feedback.Mark{Ord: "r1", Rank: 2, ID: 1}) {
		t.Errorf("pending after the upgrade = %+v, mark %+v; want write 2, mark of write 1", pending, mark)
	}
	cmd := commandWrites(base)
	if err := s.EnqueueWrites(ctx(), cmd); err != nil {
		t.Fatalf("enqueue a command's writes after the upgrade: %v", err)
	}
	for _, w := range cmd {
		got, _ := mustPending(t, s, w.Key)
		if len(got) != 1 || got[0].ID <= 3 || got[0].Kind != w.Kind {
			t.Errorf("%s write after the upgrade = %+v; want one with an id past 3", w.Kind, got)
		}
	}
	bad := statusWrite("gl", "r1", "bogus|gl|x", 1, base)
	bad.Kind = "bogus"
	if err := s.EnqueueWrites(ctx(), []feedback.Write{bad}); err == nil {
		t.Error("the kind check is gone: a write of an unknown kind was stored")
	}
	wantIndexes(t, s, "gitlab_writes", "gitlab_writes_key", "gitlab_writes_open", "gitlab_writes_run")
}

// wantIndexes checks that table has the named indexes (besides its
// primary key's), and no others.
func wantIndexes(t *testing.T, s *sqlstore.Store, table string, want ...string) {
	t.Helper()
	q := fmt.Sprintf("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '%s' AND sql IS NOT NULL", table)
	if s.Dialect() == "postgres" {
		q = fmt.Sprintf("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '%s' "+
			"AND indexname <> '%s_pkey'", table, table)
	}
	rows, err := s.DB().QueryContext(ctx(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("indexes of %s = %s; want %s", table, strings.Join(got, ", "), strings.Join(want, ", "))
	}
}
