package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit on SQLite (docs/design/transactions.md): SQLite has one
// write connection, and every commit writes each page its transaction
// touched to the WAL. Processing a delivery is one short write
// transaction; under load the writer spent its time committing them one by
// one, the pages they share (the jobs table, the runs' indexes, the
// outbox's keys) written again each time. InGroupTx lets transactions that
// arrive while another group commits wait, and runs them together in one
// transaction, each in a savepoint of its own: one that fails rolls back
// to its savepoint and leaves the others alone; one that succeeds returns
// only after the group committed. PostgreSQL has concurrent writers and
// groups WAL flushes itself: there InGroupTx is InTx.

// maxGroup bounds the transactions committed together, so a group's
// transaction stays short and its members' wait bounded.
const maxGroup = 64

// groupUnit is one caller's transaction in a group.
type groupUnit struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan groupResult // one result, or the call to lead
}

// groupResult is a unit's outcome, or, with lead, its turn to commit the
// pending units (itself first).
type groupResult struct {
	err  error
	lead bool
}

// groupCommit queues the units waiting for the next group. The caller
// that finds nobody committing leads: it commits what is pending, then
// hands the lead to the first unit that arrived meanwhile, so no goroutine
// of its own is needed and every member waits for one group at most
// besides its own.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupUnit
	running bool
}

// InGroupTx is InTx whose transaction may be shared with other callers'
// (group commit, on SQLite): fn's writes commit with theirs, or roll back
// alone when fn returns an error; InGroupTx returns once they committed.
// A panic in fn is returned as its error. fn runs in the shared
// transaction, possibly on another caller's goroutine, with ctx's values
// but not its cancellation (an interrupted statement would roll back the
// whole group): fn must do database work only, and what follows the
// commit (wake-ups, metrics) belongs after InGroupTx returns. fn may run
// twice (again after another member's failure rolled the group back): what
// it returns through its closure it must set, not add to. Inside an InTx
// it joins that one.
func (s *Store) InGroupTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.ambient(ctx) != nil || s.d.Name() != "sqlite" {
		// A panic is fn's error here too, as in a group.
		return s.InTx(ctx, func(ctx context.Context) error { return callUnit(ctx, fn) })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &groupUnit{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, u)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		// Waiting is not canceled with ctx: u is queued, and may be
		// called to lead.
		if r := <-u.done; !r.lead {
			return r.err
		}
	}
	// u is first in line (the queue was empty, or the lead was handed to
	// its first unit).
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	errs := s.commitGroup(batch)
	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].done <- groupResult{lead: true}
	} else {
		g.running, g.pending = false, nil
	}
	g.mu.Unlock()
	for i, m := range batch[1:] {
		m.done <- groupResult{err: errs[i+1]}
	}
	return errs[0]
}

// commitGroup runs the units in one transaction and commits it; it
// returns each unit's error. A unit alone needs no savepoint: when it
// fails, the whole transaction is rolled back, which is all a savepoint
// would undo. Several run first one after the other without savepoints
// (commitAll): a savepoint costs two statements and a copy of every page
// its unit first changes, and units rarely fail. When one does, that
// transaction is rolled back and the group runs again with a savepoint
// per unit (commitEach), so each unit's fn may run twice. When the
// transaction itself fails (begin, a savepoint, the commit), every unit
// fails: nothing of the group was written.
func (s *Store) commitGroup(units []*groupUnit) []error {
	if len(units) > 1 {
		if errs, again := s.commitAll(units); !again {
			return errs
		}
	}
	return s.commitEach(units)
}

// commitAll runs the units without savepoints; again is true when one of
// them failed: nothing was written, and the group must run unit by unit.
func (s *Store) commitAll(units []*groupUnit) (errs []error, again bool) {
	errs = make([]error, len(units))
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return failAll(errs, fmt.Errorf("begin: %w", err)), false
	}
	a := &ambientTx{tx: tx}
	for i, u := range units {
		if errs[i] = u.ctx.Err(); errs[i] != nil {
			continue // gave up before its turn: nothing of it runs
		}
		if err := callUnit(context.WithValue(context.WithoutCancel(u.ctx), txKey{s}, a), u.fn); err != nil {
			if err := ignoreDone(tx.Rollback()); err != nil {
				return failAll(errs, fmt.Errorf("roll back: %w", err)), false
			}
			return nil, true
		}
	}
	if err := tx.Commit(); err != nil {
		return failAll(errs, fmt.Errorf("commit: %w", err)), false
	}
	return errs, false
}

// failAll sets every unit's error to err.
func failAll(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// commitEach runs the units in one transaction, each in a savepoint (but
// a lone one), and commits it. A unit that fails is rolled back to its
// savepoint.
func (s *Store) commitEach(units []*groupUnit) []error {
	errs := make([]error, len(units))
	fail := func(err error) []error { return failAll(errs, err) }
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	a := &ambientTx{tx: tx}
	if len(units) == 1 {
		u := units[0]
		if errs[0] = u.ctx.Err(); errs[0] == nil {
			errs[0] = callUnit(context.WithValue(context.WithoutCancel(u.ctx), txKey{s}, a), u.fn)
		}
		if errs[0] != nil {
			if err := ignoreDone(tx.Rollback()); err != nil {
				errs[0] = errors.Join(errs[0], err)
			}
			return errs
		}
		if err := tx.Commit(); err != nil {
			return fail(fmt.Errorf("commit: %w", err))
		}
		return errs
	}
	for i, u := range units {
		if err := u.ctx.Err(); err != nil {
			errs[i] = err // gave up before its turn: nothing of it ran
			continue
		}
		ctx := context.WithValue(context.WithoutCancel(u.ctx), txKey{s}, a)
		if _, err := tx.ExecContext(ctx, "SAVEPOINT hoist_group_unit"); err != nil {
			return fail(errors.Join(fmt.Errorf("savepoint: %w", err), ignoreDone(tx.Rollback())))
		}
		errs[i] = callUnit(ctx, u.fn)
		end := []string{"RELEASE hoist_group_unit"}
		if errs[i] != nil {
			end = []string{"ROLLBACK TO hoist_group_unit", "RELEASE hoist_group_unit"}
		}
		for _, q := range end {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				// The transaction is in doubt (SQLite rolls back the whole
				// of it on some errors): write nothing of the group.
				return fail(errors.Join(fmt.Errorf("end savepoint: %w", err), ignoreDone(tx.Rollback())))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	return errs
}

// callUnit runs a unit, turning a panic into its error: it runs on the
// leader's goroutine, and the other members must still get their answers.
func callUnit(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("group transaction panicked: %v", p)
		}
	}()
	return fn(ctx)
}

// inGroupTx is inTx through InGroupTx: fn's writes may commit with other
// callers'.
func (s *Store) inGroupTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.InGroupTx(ctx, func(ctx context.Context) error { return s.inTx(ctx, fn) })
}
