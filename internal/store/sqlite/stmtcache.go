package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// Statements are kept prepared on each connection. The driver parses a
// statement every time it runs unless it was prepared, and on the short
// statements Hoist runs, parsing is most of the cost: a profile of the
// server under sustained webhook load spent a fifth of its CPU in
// sqlite3Prepare, most of it on the one write connection that every write
// waits for. database/sql's own prepared statements cannot do this here:
// preparing one inside a transaction asks the pool for a connection, and
// the write pool's only connection is the transaction's.

// maxCachedStatements bounds the statements one connection keeps. Most
// queries are the code's constants, but batches (multi-row VALUES, IN
// lists) come in as many texts as lengths: when the bound is reached the
// least recently used statement is finalized to make room, so a long-lived
// server keeps its hot statements whatever lengths it has met.
const maxCachedStatements = 256

// openDB opens dsn with the registered "sqlite" driver, its connections
// keeping their statements prepared.
func openDB(dsn string) (*sql.DB, error) {
	probe, err := sql.Open("sqlite", dsn) // opens nothing: only to reach the registered driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	if err := probe.Close(); err != nil {
		return nil, err
	}
	return sql.OpenDB(connector{dsn: dsn, drv: drv}), nil
}

type connector struct {
	dsn string
	drv driver.Driver
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(innerConn)
	if !ok {
		return nil, errors.Join(fmt.Errorf("sqlite driver connection %T lacks the context methods", dc), dc.Close())
	}
	return &cachingConn{innerConn: inner, stmts: map[string]*cachedStmt{}}, nil
}

func (c connector) Driver() driver.Driver { return c.drv }

// innerConn is what the driver's connection offers and database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one connection and its prepared statements. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	innerConn
	stmts map[string]*cachedStmt
	tick  uint64 // counts takes, for cachedStmt.used
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	// busy: its rows are still open (a statement is one cursor; the same
	// query run again meanwhile is prepared afresh).
	busy bool
	used uint64 // the connection's tick when it was last taken
}

// take returns query's statement, marked busy, or nil when it is busy or
// cannot be kept (the caller then runs the query unprepared, which also
// reports any error preparing it).
func (c *cachingConn) take(ctx context.Context, query string) *cachedStmt {
	c.tick++
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil
		}
		cs.busy, cs.used = true, c.tick
		return cs
	}
	if len(c.stmts) >= maxCachedStatements && !c.evict() {
		return nil
	}
	ds, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		_ = ds.Close()
		return nil
	}
	cs := &cachedStmt{stmt: st, busy: true, used: c.tick}
	c.stmts[query] = cs
	return cs
}

// evict finalizes the least recently used statement that is not busy; false
// when every one is (the new one then runs unprepared).
func (c *cachingConn) evict() bool {
	var oldest string
	var lru *cachedStmt
	for q, cs := range c.stmts {
		if !cs.busy && (lru == nil || cs.used < lru.used) {
			oldest, lru = q, cs
		}
	}
	if lru == nil {
		return false
	}
	delete(c.stmts, oldest)
	_ = lru.stmt.Close() // finalizing a statement that is not running only frees it
	return true
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs := c.take(ctx, query)
	if cs == nil {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	defer func() { cs.busy = false }()
	return cs.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs := c.take(ctx, query)
	if cs == nil {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	r, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		cs.busy = false
		return nil, err
	}
	return &cachedRows{Rows: r, cs: cs}, nil
}

// Close finalizes the kept statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.innerConn.Close())...)
}

// cachedRows frees its statement for the next run when closed (the driver
// resets it then).
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}
