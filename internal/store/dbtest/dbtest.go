// Package dbtest opens real, fresh stores for tests of packages that sit on
// the database (the job queue, webhook intake, delivery processing): a
// SQLite file in t.TempDir(), and a PostgreSQL schema of its own when
// HOIST_TEST_POSTGRES is set. Never imported by production code.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for schema setup

	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// EnvPostgres names the variable holding the test PostgreSQL URL.
const EnvPostgres = "HOIST_TEST_POSTGRES"

// Dialects are the databases a test can run on.
var Dialects = []string{"sqlite", "postgres"}

// Open returns a store on a fresh database of dialect, closed when the
// test ends; PostgreSQL tests are skipped without HOIST_TEST_POSTGRES.
func Open(t testing.TB, dialect string) *sqlstore.Store {
	t.Helper()
	var (
		s   *sqlstore.Store
		err error
	)
	switch dialect {
	case "sqlite":
		s, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName), nil)
	case "postgres":
		s, err = postgres.Open(context.Background(), PostgresURL(t), nil)
	default:
		t.Fatalf("dbtest: unknown dialect %q", dialect)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL creates an empty schema, dropped when the test ends, and
// returns a URL whose search_path selects it. It skips the test when
// HOIST_TEST_POSTGRES is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	// Registered first, so it runs after the store (registered later) is closed.
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
