package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	if os.Getenv("HOIST_TEST_POSTGRES") == "" {
		t.Skip("HOIST_TEST_POSTGRES not set")
	}
	storetest.Run(t, storetest.Harness{
		NewDB: func(t *testing.T) storetest.Opener {
			dsn := dbtest.PostgresURL(t)
			return func(ctx context.Context) (*sqlstore.Store, error) { return postgres.Open(ctx, dsn, nil) }
		},
		Raw: rawRows,
	})
}

// rawRows returns every integration and audit row as PostgreSQL renders it
// (bytea in hex, which is how a dump would show it).
func rawRows(t *testing.T, s *sqlstore.Store) []byte {
	t.Helper()
	var out string
	err := s.DB().QueryRowContext(context.Background(), `SELECT
		coalesce((SELECT string_agg(i::text, E'\n') FROM integrations i), '') || E'\n' ||
		coalesce((SELECT string_agg(a::text, E'\n') FROM audit_log a), '') || E'\n' ||
		coalesce((SELECT string_agg(encode(token_sealed, 'escape') || encode(webhook_secret_sealed, 'escape'), E'\n') FROM integrations), '')`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

func TestOpenRefusesUnreachable(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", nil)
	if err == nil {
		t.Fatal("open of an unreachable database succeeded")
	}
}

// TestUpgrades runs storetest's upgrade tests: what was written before a
// migration (pools before issue 13, deliveries before issue 14) survives it.
func TestUpgrades(t *testing.T) {
	t.Parallel()
	for name, upgrade := range storetest.Upgrades() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := dbtest.PostgresURL(t)
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			upgrade(t, db, os.DirFS("migrations"), func(ctx context.Context) (*sqlstore.Store, error) {
				return postgres.Open(ctx, dsn, nil)
			})
		})
	}
}
