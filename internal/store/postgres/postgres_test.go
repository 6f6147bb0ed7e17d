package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/store/storetest"
)

// freshSchema creates an empty schema, dropped when the test ends, and
// returns a URL whose search_path selects it.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("HOIST_TEST_POSTGRES")
	if base == "" {
		t.Skip("HOIST_TEST_POSTGRES not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
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

func TestStore(t *testing.T) {
	t.Parallel()
	if os.Getenv("HOIST_TEST_POSTGRES") == "" {
		t.Skip("HOIST_TEST_POSTGRES not set")
	}
	storetest.Run(t, storetest.Harness{
		NewDB: func(t *testing.T) storetest.Opener {
			dsn := freshSchema(t)
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
