package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{
		NewDB: func(t *testing.T) storetest.Opener {
			path := filepath.Join(t.TempDir(), sqlite.FileName)
			return func(ctx context.Context) (*sqlstore.Store, error) { return sqlite.Open(ctx, path, nil) }
		},
		Raw: rawFiles,
	})
}

// rawFiles returns the bytes of the database file and its WAL: what an
// attacker holding a copy of the data directory would see.
func rawFiles(t *testing.T, s *sqlstore.Store) []byte {
	t.Helper()
	var path string
	if err := s.DB().QueryRowContext(context.Background(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.Bytes()
}

func TestOpenSetsPragmas(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", sqlite.FileName)
	s, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var mode string
	var fk, busy int
	db := s.DB()
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if err := db.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("busy_timeout = %d, %v", busy, err)
	}
	if s.Dialect() != "sqlite" {
		t.Errorf("dialect %q", s.Dialect())
	}
}

// TestAgentPoolUpgrade: pools from before issue 13 move to root.
func TestAgentPoolUpgrade(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	storetest.AgentPoolUpgrade(t, db, os.DirFS("migrations"), func(ctx context.Context) (*sqlstore.Store, error) {
		return sqlite.Open(ctx, path, nil)
	})
}
