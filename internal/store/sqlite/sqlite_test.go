package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/space"
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
	var temp int
	if err := db.QueryRow("PRAGMA temp_store").Scan(&temp); err != nil || temp != 2 {
		t.Errorf("temp_store = %d, %v; want 2 (memory)", temp, err)
	}
	if s.Dialect() != "sqlite" {
		t.Errorf("dialect %q", s.Dialect())
	}
}

// TestFilesOwnerOnly: the database and its -wal and -shm files are 0600
// under a 022 umask in a 0755 directory, also those SQLite creates after
// the open, and an older database left 0644 is narrowed. Not parallel: the
// umask belongs to the whole process.
func TestFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, sqlite.FileName)
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: %s has mode %o, want 600", when, filepath.Base(p), perm)
			}
		}
	}
	write := func(s *sqlstore.Store, id string) {
		t.Helper()
		sp := space.Space{ID: id, Name: id, Inherit: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if id != space.RootID {
			sp.ParentID = space.RootID
		}
		if err := s.CreateSpace(context.Background(), sp); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(s, space.RootID)
	check("after writes")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The last close checkpoints and removes -wal and -shm; the next open
	// and write create them again.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s, err = sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	write(s, "a")
	check("after reopening a 0644 database and writing")
}

// TestUpgrades runs storetest's upgrade tests: what was written before a
// migration (pools before issue 13, deliveries before issue 14) survives it.
func TestUpgrades(t *testing.T) {
	t.Parallel()
	for name, upgrade := range storetest.Upgrades() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), sqlite.FileName)
			db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
			if err != nil {
				t.Fatal(err)
			}
			upgrade(t, db, os.DirFS("migrations"), func(ctx context.Context) (*sqlstore.Store, error) {
				return sqlite.Open(ctx, path, nil)
			})
		})
	}
}

// TestDurableSyncsTheWAL: Store.Durable fsyncs the WAL SQLite writes, also
// when the database is reached through a symbolic link (SQLite keeps the
// WAL beside the link's target); when it cannot (the WAL gone from under
// the server), Durable fails for good and the store is no longer ready.
func TestDurableSyncsTheWAL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	real := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), sqlite.FileName)
	if err := os.Symlink(filepath.Join(real, sqlite.FileName), link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, sqlite.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sp := space.Space{ID: space.RootID, Name: "root", Inherit: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateSpace(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if err := s.Durable(); err != nil {
		t.Fatalf("Durable through a symbolic link: %v", err)
	}
	if _, err := os.Stat(link + "-wal"); !os.IsNotExist(err) {
		t.Fatalf("a WAL beside the link (%v): the test assumes SQLite resolves the link", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(real, sqlite.FileName+"-wal")); err != nil {
		t.Fatal(err)
	}
	if err := s.Durable(); err == nil {
		t.Fatal("Durable succeeded without the WAL")
	}
	if err := s.Ready(ctx); err == nil || !strings.Contains(err.Error(), "restart the server") {
		t.Errorf("Ready after a failed sync = %v; want it to say the server must restart", err)
	}
}

// TestCheckpointsBesideTheWriter: WAL pages are copied into the database
// by the store's own checkpointer, without a write and before the
// writer's threshold (10,000 pages): the WAL index's backfill count
// (bytes 96–99 of the -shm file, SQLite's documented wal-index format)
// catches up with its last frame (bytes 16–19), in the machine's byte
// order.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 50 {
		id := space.RootID
		sp := space.Space{ID: id, Name: "root", Inherit: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if i > 0 {
			sp.ID, sp.Name, sp.ParentID = fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", i), space.RootID
		}
		if err := s.CreateSpace(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	index := func() (last, backfilled uint32) {
		b, err := os.ReadFile(path + "-shm")
		if err != nil || len(b) < 100 {
			t.Fatalf("read the WAL index: %d bytes, %v", len(b), err)
		}
		return binary.NativeEndian.Uint32(b[16:20]), binary.NativeEndian.Uint32(b[96:100])
	}
	if last, _ := index(); last == 0 {
		t.Fatal("no frame in the WAL after 50 commits")
	}
	apptest.Eventually(t, 10*time.Second, "the WAL copied into the database", func() error {
		if last, done := index(); done < last {
			return fmt.Errorf("%d of %d frames copied", done, last)
		}
		return nil
	})
}

// TestOpenWritesIndex: the outbox's index by key holds the open writes
// alone (0037: each write made the full index a page of its own in the WAL
// at every commit), and the dispatcher's lookups by key still use it. The
// queries are outbox.go's shapes: the open writes of the claimed keys, and
// a key's next due time.
func TestOpenWritesIndex(t *testing.T) {
	t.Parallel()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db := s.DB()
	var def string
	if err := db.QueryRow("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'gitlab_writes_key'").Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WHERE state IN ('pending', 'retrying')") {
		t.Errorf("gitlab_writes_key = %s; want it partial, on the open writes", def)
	}
	for _, c := range []struct {
		name, query string
		args        []any
	}{
		{"open writes of keys", `SELECT w.id FROM gitlab_writes w LEFT JOIN gitlab_write_keys k ON k.key = w.key
			WHERE w.key IN (?, ?) AND w.state IN ('pending', 'retrying') ORDER BY w.id`, []any{"a", "b"}},
		{"next due time", `SELECT MIN(next_attempt_at) FROM gitlab_writes WHERE key = ? AND state IN ('pending', 'retrying')`,
			[]any{"a"}},
	} {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(plan, "; "), "USING INDEX gitlab_writes_key (key=?)") {
			t.Errorf("%s: plan %q; want a search of gitlab_writes_key by key", c.name, plan)
		}
	}
}
