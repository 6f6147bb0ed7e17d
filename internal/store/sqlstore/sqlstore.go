// Package sqlstore is the database/sql implementation of every Hoist store
// interface (the Store interfaces of space, identity, integration, audit,
// stack, module, run, state, webhook, feedback, jobqueue, session, …),
// written once in portable SQL. The sqlite and postgres packages open a
// database, supply a Dialect for the few places where the two differ, and
// embed their migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
)

// Dialect is what differs between the supported databases.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Rebind turns the ?-placeholders of a portable query into the
	// database's own.
	Rebind(query string) string
	// TimeArg encodes a UTC time for a query argument so that comparisons in
	// SQL order it correctly.
	TimeArg(t time.Time) any
	// IsUniqueViolation and IsForeignKeyViolation classify driver errors.
	IsUniqueViolation(err error) bool
	IsForeignKeyViolation(err error) bool
	// LockMigrations runs first in the migration transaction and keeps
	// other processes from migrating the same database at the same time.
	LockMigrations(ctx context.Context, tx *sql.Tx) error
	// Lock holds a lock named name until tx ends, for check-then-write
	// transactions that row locks cannot guard (the rows to check may not
	// exist yet).
	Lock(ctx context.Context, tx *sql.Tx, name string) error
}

// Store implements the store interfaces on one database.
type Store struct {
	w    *sql.DB // writes and transactions
	r    *sql.DB // reads; the same as w except on SQLite
	d    Dialect
	migs []migration
	log  *slog.Logger
	// wakes reaches the other servers on the database (wakes.go).
	wakes Wakes
	// hot holds prepared statements of per-request queries (hot.go).
	hot hotStatements
	// group queues transactions for SQLite's group commit (group.go).
	group groupCommit
	// cache keeps stacks and integrations between reads (readcache.go).
	cache readCache
	// keepMapped: keepAdmins also keeps a mapped root admin
	// (KeepMappedRootAdmin).
	keepMapped atomic.Bool
	// sync makes commits survive power loss (Durable; durable.go); nil
	// when every commit does already.
	sync *syncGroup
	// stop is Config.Stop.
	stop func() error
}

var (
	_ space.Store       = (*Store)(nil)
	_ identity.Store    = (*Store)(nil)
	_ integration.Store = (*Store)(nil)
	_ audit.Store       = (*Store)(nil)
)

// Config is what an adapter hands to New.
type Config struct {
	Write      *sql.DB // used for every write and transaction
	Read       *sql.DB // used for plain reads; nil means Write
	Dialect    Dialect
	Migrations fs.FS // NNNN_name.sql files at its root
	Logger     *slog.Logger
	// Wakes carries wake-ups between servers on the database; nil when
	// one process owns it. The Store closes it.
	Wakes Wakes
	// Sync makes every commit that returned before it survive power loss
	// (Durable); nil when each commit does already (PostgreSQL). On SQLite
	// it syncs the WAL.
	Sync func() error
	// Stop stops what the adapter runs beside the store (SQLite's
	// checkpointer); Close calls it before closing the databases. Nil
	// when there is nothing.
	Stop func() error
}

// New applies any pending migrations and returns the Store. The Store owns
// the databases: Close closes them.
func New(ctx context.Context, c Config) (*Store, error) {
	migs, err := loadMigrations(c.Migrations)
	if err != nil {
		return nil, err
	}
	s := &Store{w: c.Write, r: c.Read, d: c.Dialect, migs: migs, log: c.Logger, wakes: c.Wakes, stop: c.Stop}
	if s.wakes == nil {
		s.wakes = noWakes{}
	}
	if c.Sync != nil {
		s.sync = &syncGroup{sync: c.Sync}
	}
	if s.r == nil {
		s.r = s.w
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the wake-ups and what the adapter runs beside the store,
// and closes the database handles.
func (s *Store) Close() error {
	err := s.wakes.Close()
	if s.stop != nil {
		err = errors.Join(err, s.stop())
	}
	if s.r != s.w {
		return errors.Join(err, s.r.Close(), s.w.Close())
	}
	return errors.Join(err, s.w.Close())
}

// Wakes returns the wake-ups between servers on this database (a no-op
// when one process owns it).
func (s *Store) Wakes() Wakes { return s.wakes }

// Ready returns nil when the database answers and every embedded migration
// is applied (for /readyz).
func (s *Store) Ready(ctx context.Context) error {
	if s.sync != nil {
		if err := s.sync.err(); err != nil {
			return fmt.Errorf("database not ready: %w", err)
		}
	}
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n)
	if err != nil {
		return fmt.Errorf("database not ready: %w", err)
	}
	if n < len(s.migs) {
		return fmt.Errorf("database not ready: %d of %d migrations applied", n, len(s.migs))
	}
	return nil
}

// Dialect returns the name of the database ("sqlite" or "postgres").
func (s *Store) Dialect() string { return s.d.Name() }

// DB returns the write handle, for adapters' own tests (reading rows raw).
func (s *Store) DB() *sql.DB { return s.w }

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec, query and queryRow run a statement on q, or in the InTx
// transaction of ctx when there is one (tx.go).
func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	q, err := s.on(ctx, q)
	if err != nil {
		return nil, err
	}
	return q.ExecContext(ctx, s.d.Rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	q, err := s.on(ctx, q)
	if err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, s.d.Rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) rowScanner {
	q, err := s.on(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return q.QueryRowContext(ctx, s.d.Rebind(query), args...)
}

// exists reports whether query (a SELECT 1 …) returns a row.
func (s *Store) exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := s.queryRow(ctx, q, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// notFound maps sql.ErrNoRows to apperr NotFound.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Errorf(apperr.NotFound, format, args...)
	}
	return err
}

// affected returns NotFound when res changed no row.
func affected(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.Errorf(apperr.NotFound, format, args...)
	}
	return nil
}
