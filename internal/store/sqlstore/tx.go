package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Transactions that span store methods (docs/design/transactions.md): a
// domain service calls InTx, and every method of this Store it calls with
// InTx's context runs in that one transaction, so a run's transition and
// the GitLab writes it causes commit together or not at all.

// txKey is the context key of a Store's InTx. The Store in it keeps one
// store's transaction out of another's methods.
type txKey struct{ s *Store }

// ambientTx is the transaction of one InTx call. It begins at the first
// statement, so a call whose methods only look on the read pool (a lease
// request or a scheduling pass that finds nothing to do) never takes
// SQLite's one write connection.
type ambientTx struct {
	begin func() (*sql.Tx, error) // with InTx's context: the transaction lives as long as the call
	tx    *sql.Tx
	err   error // a failed BEGIN: every later statement fails with it
}

// get returns the transaction, beginning it on first use.
func (a *ambientTx) get() (*sql.Tx, error) {
	if a.tx == nil && a.err == nil {
		if a.tx, a.err = a.begin(); a.err != nil {
			a.tx, a.err = nil, fmt.Errorf("begin: %w", a.err)
		}
	}
	return a.tx, a.err
}

// InTx runs fn so that the store methods it calls with its ctx share one
// transaction, committed when fn returns nil and rolled back otherwise. An
// InTx inside another joins it. A store method that fails inside fn may
// have left the transaction unusable (PostgreSQL aborts it on an error):
// fn returns that error rather than carrying on.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.ambient(ctx) != nil {
		return fn(ctx)
	}
	a := &ambientTx{begin: func() (*sql.Tx, error) { return s.w.BeginTx(ctx, nil) }}
	done := false
	defer func() {
		if a.tx != nil && !done {
			_ = a.tx.Rollback() // fn panicked: never leave SQLite's writer connection held
		}
	}()
	err := fn(context.WithValue(ctx, txKey{s}, a))
	done = true
	if a.tx == nil {
		if err == nil {
			err = a.err // nothing began, so nothing was written
		}
		return err
	}
	return endTx(a.tx, err)
}

// ambient returns the transaction of the InTx that ctx is in, or nil.
func (s *Store) ambient(ctx context.Context) *ambientTx {
	a, _ := ctx.Value(txKey{s}).(*ambientTx)
	return a
}

// outsideTx returns ctx without its InTx transaction, for a look on the
// read pool before the method's own transaction checks again: finding
// nothing then costs no write transaction.
func (s *Store) outsideTx(ctx context.Context) context.Context {
	if s.ambient(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, txKey{s}, (*ambientTx)(nil))
}

// on returns where a statement runs: in the InTx transaction of ctx when
// there is one, else on q.
func (s *Store) on(ctx context.Context, q querier) (querier, error) {
	if a := s.ambient(ctx); a != nil {
		return a.get()
	}
	return q, nil
}

// inTx runs fn in the InTx transaction of ctx, or in a transaction of its
// own, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if a := s.ambient(ctx); a != nil {
		tx, err := a.get()
		if err != nil {
			return err
		}
		return fn(tx) // InTx commits or rolls back
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return endTx(tx, fn(tx))
}

// endTx commits tx when err is nil, and rolls it back otherwise.
func endTx(tx *sql.Tx, err error) error {
	if err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// errRow is a row whose query could not run.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
