package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

var _ run.ExecStore = (*Store)(nil)

// runHead is what a move needs to know about a run.
type runHead struct {
	id, stackID  string
	typ          run.Type
	state        run.State
	leaseID      string
	leaseExpires *time.Time
	applied      bool
}

func (s *Store) runHead(ctx context.Context, q querier, id string) (runHead, error) {
	h := runHead{id: id}
	var typ, state string
	var applied *time.Time
	err := s.queryRow(ctx, q, `SELECT r.stack_id, r.type, r.state, COALESCE(e.lease_id, ''), e.lease_expires_at, e.apply_started_at
		FROM runs r LEFT JOIN run_exec e ON e.run_id = r.id WHERE r.id = ?`, id).
		Scan(&h.stackID, &typ, &state, &h.leaseID, nullTimeScan{&h.leaseExpires}, nullTimeScan{&applied})
	h.typ, h.state, h.applied = run.Type(typ), run.State(state), applied != nil
	return h, notFound(err, "run %q not found", id)
}

// MoveRun implements run.ExecStore.
func (s *Store) MoveRun(ctx context.Context, m run.Move) (run.Event, error) {
	var ev run.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		h, err := s.runHead(ctx, tx, m.RunID)
		if err != nil {
			return err
		}
		if err := checkMove(h, m); err != nil {
			return err
		}
		ev, err = s.writeMove(ctx, tx, h, m)
		return err
	})
	if err != nil {
		return run.Event{}, wrapInternal(err, "move run %s to %s", m.RunID, m.To)
	}
	return ev, nil
}

func checkMove(h runHead, m run.Move) error {
	if len(m.From) > 0 && !slices.Contains(m.From, h.state) {
		return apperr.Errorf(apperr.Conflict, "run %s is %s, not %s", h.id, h.state, joinStates(m.From))
	}
	if err := run.CheckMove(h.typ, h.state, m.To); err != nil {
		return err
	}
	if m.LeaseID != "" && h.leaseID != m.LeaseID {
		return apperr.Errorf(apperr.Conflict, "the worker no longer holds run %s (it is %s)", h.id, h.state)
	}
	if m.LeaseExpired && (h.leaseExpires == nil || !h.leaseExpires.Before(m.At)) {
		return apperr.Errorf(apperr.Conflict, "the lease on run %s was renewed", h.id)
	}
	if m.StartApply && h.applied {
		return apperr.Errorf(apperr.Conflict, "run %s has already started applying once; it never applies twice", h.id)
	}
	return nil
}

func joinStates(ss []run.State) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, " or ")
}

func (s *Store) writeMove(ctx context.Context, tx *sql.Tx, h runHead, m run.Move) (run.Event, error) {
	set, args := "state = ?, updated_at = ?", []any{string(m.To), s.t(m.At)}
	if d := m.Delta; d != nil {
		set += ", delta_add = ?, delta_change = ?, delta_destroy = ?, delta_import = ?, planned = ?"
		args = append(args, d.Add, d.Change, d.Destroy, d.Import, true)
	}
	if m.ErrorDetail != "" {
		set += ", error_detail = ?"
		args = append(args, m.ErrorDetail)
	}
	res, err := s.exec(ctx, tx, "UPDATE runs SET "+set+" WHERE id = ? AND state = ?", append(args, h.id, string(h.state))...)
	if err != nil {
		return run.Event{}, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return run.Event{}, errors.Join(err, apperr.Errorf(apperr.Conflict, "run %s moved on while %s was being recorded", h.id, m.To))
	}
	if err := s.ensureExec(ctx, tx, h.id, h.stackID); err != nil {
		return run.Event{}, err
	}
	set, args = "", nil
	add := func(col string, v any) { set += ", " + col + " = ?"; args = append(args, v) }
	if m.Resources != nil {
		js, err := jsonArg(m.Resources)
		if err != nil {
			return run.Event{}, err
		}
		add("resources", js)
	}
	if m.HasChanges != nil {
		add("has_changes", *m.HasChanges)
	}
	if m.PlanSealed != nil {
		add("plan_sealed", m.PlanSealed)
	}
	if m.Error != "" {
		add("error", m.Error)
	}
	if m.StartApply {
		add("apply_started_at", s.t(m.At))
	}
	if b := m.Binary; b != nil {
		add("tool", b.Tool)
		add("tool_version", b.Version)
	}
	if m.ReleaseLease || m.To.IsTerminal() {
		set += ", lease_id = '', lease_owner = '', lease_expires_at = NULL, token_hash = ''"
		// A state lock lives no longer than the lease that took it: a run
		// handed back by a killed OpenTofu must not find its own old lock.
		if _, err := s.exec(ctx, tx, "DELETE FROM state_locks WHERE run_id = ?", h.id); err != nil {
			return run.Event{}, err
		}
	}
	if m.To.IsTerminal() {
		set += ", plan_sealed = NULL, blocked_by = ''"
	}
	if set != "" {
		if _, err := s.exec(ctx, tx, "UPDATE run_exec SET "+set[2:]+" WHERE run_id = ?", append(args, h.id)...); err != nil {
			return run.Event{}, err
		}
	}
	return s.recordRunTransition(ctx, tx, run.Transition{RunID: h.id, State: m.To, At: m.At, Actor: m.Actor, Note: m.Note})
}

// ensureExec creates the run's execution row, taking the stack's worker
// pool.
func (s *Store) ensureExec(ctx context.Context, tx *sql.Tx, runID, stackID string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO run_exec (run_id, worker_pool)
		VALUES (?, COALESCE((SELECT worker_pool FROM stacks WHERE id = ?), 'embedded'))
		ON CONFLICT (run_id) DO NOTHING`, runID, stackID)
	return err
}

// queuedRun is a QUEUED run as the scheduler sees it.
type queuedRun struct {
	id, stackID string
	typ         run.Type
	mrIID       int64 // the merge request the run belongs to, 0 for none
}

// PromoteQueued implements run.ExecStore.
func (s *Store) PromoteQueued(ctx context.Context, at time.Time) (run.Promotion, error) {
	p := run.Promotion{Blocked: map[string]string{}}
	// Most passes find nothing queued: look on the read pool first, even
	// inside InTx, so an idle pass never takes SQLite's one write
	// connection from a run that needs it.
	var one int
	err := s.queryRow(s.outsideTx(ctx), s.r, "SELECT 1 FROM runs WHERE state = ? LIMIT 1", string(run.Queued)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, wrapInternal(err, "look for queued runs")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		p = run.Promotion{Blocked: map[string]string{}}
		// One pass at a time across servers: two passes that both saw a
		// stack free would each promote one of its tracked runs (the
		// compare-and-set guards a run, not its stack).
		if err := s.d.Lock(ctx, tx, "runs.promote"); err != nil {
			return err
		}
		queued, err := s.queuedRuns(ctx, tx)
		if err != nil {
			return err
		}
		holder := map[string]string{} // stack → run holding its lock
		mrLocks := map[string]*mrLockRef{}
		// Decided one by one, in queue order; the chosen runs are then
		// promoted together (promote), a few statements a pass whatever
		// their number: every webhook's run passes here.
		var ready []queuedRun
		for _, q := range queued {
			if q.typ == run.Tracked {
				// A stack a merge request applied before its merge is
				// its alone until it is merged or closed: other tracked
				// runs wait (issue 18).
				l, seen := mrLocks[q.stackID]
				if !seen {
					if l, err = s.mrLockOf(ctx, tx, q.stackID); err != nil {
						return err
					}
					mrLocks[q.stackID] = l
				}
				if l != nil && l.iid != q.mrIID {
					p.Blocked[q.id] = l.runID
					if err := s.setBlockedBy(ctx, tx, q, l.runID); err != nil {
						return err
					}
					continue
				}
			}
			if q.typ == run.Proposed {
				ready = append(ready, q)
				continue
			}
			h, seen := holder[q.stackID]
			if !seen {
				if h, err = s.lockHolder(ctx, tx, q.stackID); err != nil {
					return err
				}
			}
			if h == "" {
				ready = append(ready, q)
				holder[q.stackID] = q.id
				continue
			}
			holder[q.stackID] = h
			p.Blocked[q.id] = h
			if err := s.setBlockedBy(ctx, tx, q, h); err != nil {
				return err
			}
		}
		for chunk := range slices.Chunk(ready, batchRows) {
			evs, err := s.promote(ctx, tx, chunk, at)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				p.Ready, p.Events = append(p.Ready, ev.Run.ID), append(p.Events, ev)
			}
		}
		return nil
	})
	return p, wrapInternal(err, "promote queued runs")
}

func (s *Store) queuedRuns(ctx context.Context, tx *sql.Tx) ([]queuedRun, error) {
	return queryAll(ctx, s, tx, func(row rowScanner) (queuedRun, error) {
		var q queuedRun
		var typ string
		err := row.Scan(&q.id, &q.stackID, &typ, &q.mrIID)
		q.typ = run.Type(typ)
		return q, err
	}, "SELECT id, stack_id, type, merge_request_iid FROM runs WHERE state = ? ORDER BY id", string(run.Queued))
}

// mrLockRef is a stack's merge request lock as the scheduler needs it.
type mrLockRef struct {
	iid   int64
	runID string
}

// mrLockOf returns the merge request lock of a stack, or nil.
func (s *Store) mrLockOf(ctx context.Context, tx *sql.Tx, stackID string) (*mrLockRef, error) {
	var l mrLockRef
	err := s.queryRow(ctx, tx, "SELECT merge_request_iid, run_id FROM stack_mr_locks WHERE stack_id = ?", stackID).Scan(&l.iid, &l.runID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// exclusiveActive are the states in which a tracked run or task holds its
// stack's lock: past QUEUED and not ended.
var exclusiveActive = []run.State{run.Ready, run.Preparing, run.Initializing, run.Planning, run.PendingReview, run.Unconfirmed,
	run.Confirmed, run.PreparingApply, run.Applying, run.Performing}

var terminalStates = []run.State{run.Finished, run.Failed, run.Discarded, run.Stopped, run.Canceled, run.Skipped}

// lockHolder returns the tracked run or task holding the stack, or "".
func (s *Store) lockHolder(ctx context.Context, tx *sql.Tx, stackID string) (string, error) {
	args := []any{stackID, string(run.Tracked), string(run.Task)}
	for _, st := range exclusiveActive {
		args = append(args, string(st))
	}
	var id string
	err := s.queryRow(ctx, tx, `SELECT id FROM runs WHERE stack_id = ? AND type IN (?, ?)
		AND state IN (`+placeholders(len(exclusiveActive))+`) ORDER BY id LIMIT 1`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// promote moves qs to READY, in one statement per table, and returns their
// events in queue order; a run another server promoted first has none.
func (s *Store) promote(ctx context.Context, tx *sql.Tx, qs []queuedRun, at time.Time) ([]run.Event, error) {
	// The runs as they are now, from the update itself: the events need no
	// reads. A run enters QUEUED only when it is created (the machine has
	// no way back), so it leaves QUEUED for READY the first time, and was
	// QUEUED since it was created.
	args := []any{string(run.Ready), s.t(at), string(run.Queued)}
	for _, q := range qs {
		args = append(args, q.id)
	}
	moved, err := queryAll(ctx, s, tx, scanRun, "UPDATE runs SET state = ?, updated_at = ? WHERE state = ? AND id IN ("+
		placeholders(len(qs))+") RETURNING "+runColumns, args...)
	if err != nil || len(moved) == 0 {
		return nil, err
	}
	slices.SortFunc(moved, func(a, b run.Run) int { return strings.Compare(a.ID, b.ID) })
	// Their execution rows, no longer blocked, and their history.
	execArgs := make([]any, 0, 2*len(moved))
	hist := make([]run.Transition, len(moved))
	for i, r := range moved {
		execArgs = append(execArgs, r.ID, r.StackID)
		hist[i] = run.Transition{RunID: r.ID, State: run.Ready, At: at, Actor: "scheduler"}
	}
	if _, err := s.exec(ctx, tx, "INSERT INTO run_exec (run_id, worker_pool) VALUES "+
		valueRows("(?, COALESCE((SELECT worker_pool FROM stacks WHERE id = ?), 'embedded'))", len(moved))+
		" ON CONFLICT (run_id) DO UPDATE SET blocked_by = ''", execArgs...); err != nil {
		return nil, err
	}
	if err := s.insertTransitions(ctx, tx, hist...); err != nil {
		return nil, err
	}
	evs := make([]run.Event, len(moved))
	for i, r := range moved {
		evs[i] = run.Event{Run: r, From: run.Queued, To: run.Ready, Since: r.CreatedAt}
	}
	return evs, nil
}

func (s *Store) setBlockedBy(ctx context.Context, tx *sql.Tx, q queuedRun, by string) error {
	if err := s.ensureExec(ctx, tx, q.id, q.stackID); err != nil {
		return err
	}
	_, err := s.exec(ctx, tx, "UPDATE run_exec SET blocked_by = ? WHERE run_id = ? AND blocked_by <> ?", by, q.id, by)
	return err
}

// LeaseRun implements run.ExecStore.
func (s *Store) LeaseRun(ctx context.Context, l run.Lease) (run.Leased, bool, error) {
	// A lease request usually finds nothing runnable: check on the read pool
	// before opening a write transaction, even inside InTx (the transaction
	// checks again).
	if id, _, _, err := s.nextRunnable(s.outsideTx(ctx), s.r, l); err != nil || id == "" {
		return run.Leased{}, false, wrapInternal(err, "lease a run of pool %s", l.Pool)
	}
	var out run.Leased
	var ok bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, typ, state, err := s.nextRunnable(ctx, tx, l)
		if err != nil || id == "" {
			return err
		}
		to, phase := run.Preparing, run.PhasePlan
		switch {
		case state == run.Confirmed:
			to, phase = run.PreparingApply, run.PhaseApply
		case typ == run.Task:
			phase = run.PhaseTask
		}
		res, err := s.exec(ctx, tx, "UPDATE runs SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
			string(to), s.t(l.At), id, string(state))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // taken by another server: the worker asks again
		}
		write := typ != run.Proposed
		_, err = s.exec(ctx, tx, `UPDATE run_exec SET lease_id = ?, lease_owner = ?, lease_expires_at = ?, token_hash = ?,
			token_write = ?, blocked_by = '' WHERE run_id = ?`,
			l.LeaseID, l.Owner, s.t(l.At.Add(l.TTL)), l.TokenHash, write, id)
		if err != nil {
			return err
		}
		ev, err := s.recordRunTransition(ctx, tx, run.Transition{RunID: id, State: to, At: l.At, Actor: "worker:" + l.Owner})
		out, ok = run.Leased{Phase: phase, TokenWrite: write, Event: ev}, true
		return err
	})
	if err != nil || !ok {
		return run.Leased{}, false, wrapInternal(err, "lease a run of pool %s", l.Pool)
	}
	r, err := s.leasedRun(ctx, l.LeaseID)
	out.Run = r
	return out, err == nil, err
}

func (s *Store) leasedRun(ctx context.Context, leaseID string) (run.Run, error) {
	var id string
	if err := s.queryRow(ctx, s.w, "SELECT run_id FROM run_exec WHERE lease_id = ?", leaseID).Scan(&id); err != nil {
		return run.Run{}, fmt.Errorf("read leased run: %w", err)
	}
	return s.GetRun(ctx, id)
}

// nextRunnable finds the oldest run the lease may take.
func (s *Store) nextRunnable(ctx context.Context, tx querier, l run.Lease) (string, run.Type, run.State, error) {
	q := `SELECT r.id, r.type, r.state FROM runs r JOIN run_exec e ON e.run_id = r.id
		WHERE e.worker_pool = ? AND e.lease_id = '' AND (r.state = ?`
	args := []any{l.Pool, string(run.Ready)}
	if l.AllowApply {
		q += " OR (r.state = ? AND e.apply_started_at IS NULL)"
		args = append(args, string(run.Confirmed))
	}
	q += ")"
	if len(l.StackIDs) > 0 {
		q += " AND r.stack_id IN (" + placeholders(len(l.StackIDs)) + ")"
		for _, id := range l.StackIDs {
			args = append(args, id)
		}
	}
	var id, typ, state string
	err := s.queryRow(ctx, tx, q+" ORDER BY r.id LIMIT 1", args...).Scan(&id, &typ, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", nil
	}
	return id, run.Type(typ), run.State(state), err
}

// RenewLease implements run.ExecStore.
func (s *Store) RenewLease(ctx context.Context, runID, leaseID string, expires time.Time) (run.Run, error) {
	res, err := s.exec(ctx, s.w, "UPDATE run_exec SET lease_expires_at = ? WHERE run_id = ? AND lease_id = ? AND lease_id <> ''",
		s.t(expires), runID, leaseID)
	if err != nil {
		return run.Run{}, fmt.Errorf("renew lease of run %s: %w", runID, err)
	}
	r, gerr := s.GetRun(ctx, runID)
	if gerr != nil {
		return run.Run{}, gerr
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 || r.State.IsTerminal() {
		return r, errors.Join(err, apperr.Errorf(apperr.Conflict, "the worker no longer holds run %s (it is %s)", runID, r.State))
	}
	return r, nil
}

// ExpiredLeases implements run.ExecStore.
func (s *Store) ExpiredLeases(ctx context.Context, at time.Time) ([]string, error) {
	args := []any{s.t(at)}
	for _, st := range terminalStates {
		args = append(args, string(st))
	}
	// Sorted here, not by ORDER BY run_id: SQLite would then walk every
	// run_exec row in key order instead of searching the lease index, on
	// every scheduler pass.
	ids, err := queryAll(ctx, s, s.r, scanString, `SELECT e.run_id FROM run_exec e JOIN runs r ON r.id = e.run_id
		WHERE e.lease_id <> '' AND e.lease_expires_at < ? AND r.state NOT IN (`+placeholders(len(terminalStates))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list expired leases: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// GetExec implements run.ExecStore. A run the scheduler has not seen yet
// has an empty Exec.
func (s *Store) GetExec(ctx context.Context, runID string) (run.Exec, error) {
	e := run.Exec{RunID: runID}
	var hasPlan bool
	err := s.queryRow(ctx, s.r, `SELECT worker_pool, blocked_by, lease_id, lease_owner, lease_expires_at, token_hash, token_write,
		resources, has_changes, plan_sealed IS NOT NULL, apply_started_at, error, tool, tool_version FROM run_exec WHERE run_id = ?`, runID).
		Scan(&e.WorkerPool, &e.BlockedBy, &e.LeaseID, &e.LeaseOwner, nullTimeScan{&e.LeaseExpiresAt}, &e.TokenHash, &e.TokenWrite,
			jsonScan{&e.Resources}, &e.HasChanges, &hasPlan, nullTimeScan{&e.ApplyStartedAt}, &e.Error, &e.Binary.Tool, &e.Binary.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return e, nil
	}
	e.HasPlan = hasPlan
	if e.Resources == nil {
		e.Resources = []run.Resource{}
	}
	return e, wrapInternal(err, "get execution of run %s", runID)
}

// RunPlan implements run.ExecStore.
func (s *Store) RunPlan(ctx context.Context, runID string) ([]byte, error) {
	var b []byte
	err := s.queryRow(ctx, s.r, "SELECT plan_sealed FROM run_exec WHERE run_id = ? AND plan_sealed IS NOT NULL", runID).Scan(&b)
	return b, wrapInternal(notFound(err, "run %s has no saved plan", runID), "read plan of run %s", runID)
}

// AppendRunLog implements run.ExecStore.
func (s *Store) AppendRunLog(ctx context.Context, c run.LogChunk) (int64, error) {
	var id int64
	err := s.queryRow(ctx, s.w, "INSERT INTO run_logs (run_id, phase, body, at) VALUES (?, ?, ?, ?) RETURNING id",
		c.RunID, c.Phase, c.Body, s.t(c.At)).Scan(&id)
	return id, wrapInternal(err, "append log of run %s", c.RunID)
}

// RunLogs implements run.ExecStore.
func (s *Store) RunLogs(ctx context.Context, runID string, afterID int64, limit int) ([]run.LogChunk, error) {
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (run.LogChunk, error) {
		c := run.LogChunk{RunID: runID}
		err := row.Scan(&c.ID, &c.Phase, &c.Body, timeScan{&c.At})
		return c, err
	}, "SELECT id, phase, body, at FROM run_logs WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?", runID, afterID, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("read log of run %s: %w", runID, err)
	}
	return out, nil
}
