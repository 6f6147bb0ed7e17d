// Package sqlite opens Hoist's store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): WAL journal, a busy timeout, foreign keys
// on, immediate write transactions, and the embedded migrations applied at
// open. The SQL itself is shared in package sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "hoist.db"

// maxReaders bounds the read pool; WAL lets readers run beside the writer.
const maxReaders = 8

// Open opens (creating if needed) the SQLite database at path, applies
// pending migrations and returns the store. Writes go through a single
// connection: SQLite allows one writer at a time, and queuing in Go is
// cheaper and fairer than spinning on SQLITE_BUSY; reads use a small pool.
func Open(ctx context.Context, path string, log *slog.Logger) (*sqlstore.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := openDB(dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := openDB(dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(maxReaders)
	r.SetMaxIdleConns(maxReaders)
	r.SetConnMaxIdleTime(5 * time.Minute)
	migs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	wal, err := walPath(path)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %w", err), r.Close(), w.Close())
	}
	c, err := openDB(dsn(path, false))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s: %w", path, err), r.Close(), w.Close())
	}
	c.SetMaxOpenConns(1)
	c.SetConnMaxIdleTime(0)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var ckpt *checkpointer
	s, err := migrate(ctx, sqlstore.Config{Write: w, Read: r, Dialect: dialect{}, Migrations: migs, Logger: log,
		Sync: func() error { return syncFile(wal) },
		Stop: func() error { return ckpt.close() }})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), c.Close(), r.Close(), w.Close())
	}
	// Started once the schema is there; the store's Close stops it.
	ckpt = startCheckpointer(c, log, checkpointEvery)
	// The WAL exists while a connection has the database open; a Durable
	// that cannot find it fails every acknowledgement, so find out now.
	if err := s.Durable(); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), s.Close())
	}
	return s, nil
}

// walPath is where SQLite keeps the WAL of the database at path: the
// database's full path, symbolic links resolved as SQLite resolves them,
// with "-wal" appended. The database file exists (ownerOnly created it).
func walPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	return real + "-wal", nil
}

// syncFile fsyncs the file at path. On the WAL this makes every commit
// SQLite returned from so far survive power loss: with synchronous=NORMAL
// a commit is complete once its frames are written to the WAL, unsynced,
// and fsync flushes the file whichever descriptor wrote it. A commit no
// longer in the WAL was copied into the database by a checkpoint, which
// syncs the WAL before and the database after, and the WAL is reused only
// after such a checkpoint. Opened each time: SQLite may delete and
// recreate the WAL, and a descriptor kept open would sync a stale file.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// ownerOnly makes the database file and its companions readable by the
// owner only, whatever the umask and the directory's mode: they hold
// password hashes and sealed secrets. SQLite creates a new database 0644,
// and creates the -wal and -shm files later, each time it needs them, with
// the database file's mode. So the (empty) database file is created 0600
// before SQLite opens it, and files an older Hoist left open to others are
// narrowed (only then: a chmod may not be ours to make).
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// busyTimeout is how long a connection waits for another's lock.
const busyTimeout = 5 * time.Second

// migrate applies the migrations through sqlstore.New, retrying while the
// database is busy. Two processes opening a new database at once race to
// switch it to WAL, and SQLite then answers the loser's BEGIN with
// SQLITE_BUSY at once, without calling the busy handler (it does so where
// waiting could deadlock, and while another connection recovers the WAL
// index). The loser succeeds when it tries again, so retry for as long as
// the busy timeout would have waited.
func migrate(ctx context.Context, c sqlstore.Config) (*sqlstore.Store, error) {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		s, err := sqlstore.New(ctx, c)
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return s, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Durable in WAL mode except on power loss of the last commits; those
	// that must survive it too call Store.Durable, which syncs the WAL.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Sub-journals (of the group commit's savepoints, of statements in a
	// transaction) in memory: in a temporary file each page a savepoint
	// first changes cost a write(2), a fifth of the server's CPU under
	// sustained webhook load. They hold a group's changed pages at most.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate") // take the write lock at BEGIN: no deadlocking upgrades
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// The writer checkpoints when the WAL reaches 10,000 pages (about
		// 40 MiB) instead of SQLite's 1,000: a checkpoint copies each page
		// the WAL holds back into the database, once however often it was
		// rewritten, so under sustained writes (the same job, outbox and
		// index pages, commit after commit) fewer checkpoints copy far
		// fewer pages. Inline checkpoints were a third of the commits' CPU
		// under sustained webhook load; with this, +10 % deliveries
		// processed a second (docs/benchmarks.md). The WAL file grows to
		// that size on disk, and a crash replays at most that much.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

type dialect struct{}

func (dialect) Name() string               { return "sqlite" }
func (dialect) Rebind(query string) string { return query }

func (dialect) TimeArg(t time.Time) any { return t.UTC().Format(sqlstore.TimeText) }

func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (dialect) IsForeignKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// LockMigrations does nothing: the immediate transaction already holds
// SQLite's write lock.
func (dialect) LockMigrations(context.Context, *sql.Tx) error { return nil }

// Lock does nothing: writes go through one connection in immediate
// transactions, so a write transaction already excludes every other.
func (dialect) Lock(context.Context, *sql.Tx, string) error { return nil }
