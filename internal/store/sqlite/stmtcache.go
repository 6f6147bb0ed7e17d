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

// maxCachedStatements bounds the statements one connection keeps. The
// queries are the code's constants, except IN lists whose placeholder
// count follows the input; past the bound a statement is parsed each time,
// as without the cache.
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
}

// take returns query's statement, marked busy, or nil when it is busy or
// cannot be kept (the caller then runs the query unprepared, which also
// reports any error preparing it).
func (c *cachingConn) take(ctx context.Context, query string) *cachedStmt {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil
		}
		cs.busy = true
		return cs
	}
	if len(c.stmts) >= maxCachedStatements {
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
	cs := &cachedStmt{stmt: st, busy: true}
	c.stmts[query] = cs
	return cs
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
