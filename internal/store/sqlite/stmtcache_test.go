package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// openCaching opens a database whose one connection keeps its statements.
func openCaching(t *testing.T) *sql.DB {
	t.Helper()
	db, err := openDB(dsn(filepath.Join(t.TempDir(), "c.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return db
}

// kept returns how many statements the pool's connection keeps.
func kept(t *testing.T, db *sql.DB) int {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := -1
	if err := c.Raw(func(dc any) error { n = len(dc.(*cachingConn).stmts); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStatementsAreKeptPerConnection(t *testing.T) {
	ctx := context.Background()
	db := openCaching(t)
	base := kept(t, db)
	for i := range 3 {
		if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := kept(t, db); got != base+1 {
		t.Fatalf("one INSERT run 3 times keeps %d statements, want %d", got-base, 1)
	}

	// Inside a transaction on the pool's only connection: a statement new
	// to the connection is prepared on it (database/sql's own prepared
	// statements would wait for a second connection for ever).
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE v <> ?", "x").Scan(&n); err != nil || n != 3 {
		t.Fatalf("count in a transaction: %d, %v", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// The same query again while its rows are open (same transaction,
	// so same connection): the statement is busy, so the inner run is
	// prepared afresh and both cursors read right.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT v FROM t WHERE id >= ? ORDER BY id"
	rows, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []string
	for rows.Next() {
		var v, w string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, q, 3).Scan(&w); err != nil {
			t.Fatal(err)
		}
		outer, inner = append(outer, v), append(inner, w)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[0 1 2]" || fmt.Sprint(inner) != "[2 2 2]" {
		t.Fatalf("outer rows %v, inner rows %v", outer, inner)
	}
	// And after the rows closed, the kept statement runs again.
	var v string
	if err := tx.QueryRowContext(ctx, q, 2).Scan(&v); err != nil || v != "1" {
		t.Fatalf("kept statement after its rows closed: %q, %v", v, err)
	}
}

// Past the bound, the least recently used statement makes room: a hot
// statement stays kept however many batch lengths come by.
func TestStatementCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	db := openCaching(t)
	const hot = "SELECT COUNT(*) FROM t WHERE v <> ?"
	for i := range 3 * maxCachedStatements {
		var n int
		// Distinct texts, as IN lists of every length would be.
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + COUNT(*) FROM t", i)).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
		if err := db.QueryRowContext(ctx, hot, "x").Scan(&n); err != nil || n != 0 {
			t.Fatalf("hot query: %d, %v", n, err)
		}
	}
	if got := kept(t, db); got != maxCachedStatements {
		t.Fatalf("kept %d statements, want the bound %d", got, maxCachedStatements)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Raw(func(dc any) error {
		stmts := dc.(*cachingConn).stmts
		if _, ok := stmts[hot]; !ok {
			return fmt.Errorf("the hot statement was evicted")
		}
		if _, ok := stmts[fmt.Sprintf("SELECT %d + COUNT(*) FROM t", 3*maxCachedStatements-1)]; !ok {
			return fmt.Errorf("the newest statement is not kept")
		}
		if _, ok := stmts["SELECT 0 + COUNT(*) FROM t"]; ok {
			return fmt.Errorf("the oldest statement is still kept")
		}
		return nil
	})
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A statement that does not parse reports the driver's error.
	if _, err := db.ExecContext(ctx, "INSERT INTO nowhere VALUES (1)"); err == nil {
		t.Fatal("insert into a missing table succeeded")
	}
}
