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
	"github.com/hoistdev/hoist/internal/stack"
)

var _ run.Store = (*Store)(nil)

const runColumns = `id, stack_id, type, state, commit_sha, commit_title, branch, merge_request_iid, merge_request_url,
	trigger_kind, triggered_by, reason, delivery_id, delta_add, delta_change, delta_destroy, delta_import,
	planned, error_detail, task_command, schedule_id, created_at, updated_at`

func scanRun(row interface{ Scan(...any) error }) (run.Run, error) {
	var r run.Run
	var typ, state string
	err := row.Scan(runDest(&r, &typ, &state)...)
	finishRun(&r, typ, state)
	return r, err
}

// runDest are the scan destinations of runColumns.
func runDest(r *run.Run, typ, state *string) []any {
	return []any{&r.ID, &r.StackID, typ, state, &r.CommitSHA, &r.CommitTitle, &r.Branch, &r.MergeRequestIID, &r.MergeRequestURL,
		&r.Trigger, &r.TriggeredBy, &r.Reason, &r.DeliveryID, &r.Delta.Add, &r.Delta.Change, &r.Delta.Destroy, &r.Delta.Import,
		&r.Planned, &r.ErrorDetail, jsonScan{&r.TaskCommand}, &r.ScheduleID, timeScan{&r.CreatedAt}, timeScan{&r.UpdatedAt}}
}

// finishRun sets what scanning runColumns left as text.
func finishRun(r *run.Run, typ, state string) {
	r.Type, r.State = run.Type(typ), run.State(state)
	if len(r.TaskCommand) == 0 {
		r.TaskCommand = nil // only tasks have one
	}
}

// ApplyRunChanges implements run.Store.
func (s *Store) ApplyRunChanges(ctx context.Context, c run.Changes) (run.Applied, error) {
	var applied run.Applied
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		applied, err = s.applyRunChanges(ctx, tx, c)
		return err
	})
	return applied, err
}

// applyRunChanges writes c inside the caller's transaction. A new run that
// duplicates an event-created run (same stack, SHA and type) is a Conflict.
func (s *Store) applyRunChanges(ctx context.Context, tx *sql.Tx, c run.Changes) (run.Applied, error) {
	var applied run.Applied
	// The history rows of the runs created and canceled, written together
	// after them (a push creates a run and cancels its branch's older one).
	var hist []run.Transition
	for _, r := range c.Create {
		ev, err := s.insertRun(ctx, tx, r)
		if err != nil {
			return run.Applied{}, err
		}
		hist = append(hist, run.Transition{RunID: r.ID, State: run.Queued, At: r.CreatedAt, Actor: c.Actor, Note: r.Reason})
		applied.Created = append(applied.Created, r.ID)
		applied.Events = append(applied.Events, ev)
	}
	for _, cn := range c.Cancel {
		ev, ok, err := s.cancelRun(ctx, tx, cn, c.At)
		if err != nil {
			return run.Applied{}, err
		}
		if ok {
			hist = append(hist, run.Transition{RunID: cn.RunID, State: run.Canceled, At: c.At, Actor: c.Actor, Note: cn.Note})
			applied.Canceled = append(applied.Canceled, cn.RunID)
			applied.Events = append(applied.Events, ev)
		}
	}
	if err := s.insertTransitions(ctx, tx, hist...); err != nil {
		return run.Applied{}, fmt.Errorf("record run history: %w", err)
	}
	for _, a := range c.Attach {
		res, err := s.exec(ctx, tx, `UPDATE runs SET merge_request_iid = ?, merge_request_url = ?, updated_at = ?
			WHERE id = ? AND merge_request_iid = 0`, a.IID, a.URL, s.t(c.At), a.RunID)
		if err != nil {
			return run.Applied{}, fmt.Errorf("link run %s to !%d: %w", a.RunID, a.IID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			r, err := s.runInTx(ctx, tx, a.RunID)
			if err != nil {
				return run.Applied{}, err
			}
			applied.Events = append(applied.Events, run.Event{Run: r, Attached: true})
		}
	}
	for _, m := range c.Move {
		_, err := s.moveTrackedCommit(ctx, tx, m.StackID, stack.TrackedCommit{SHA: m.SHA, Branch: m.Branch, MovedAt: c.At})
		if err != nil && !apperr.Is(err, apperr.NotFound) { // a stack deleted meanwhile has nothing to move
			return run.Applied{}, fmt.Errorf("move tracked commit of %s: %w", m.StackID, err)
		}
	}
	return applied, nil
}

// insertRun writes a new run; its history row is the caller's to write.
func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, r run.Run) (run.Event, error) {
	if r.State != run.Queued || !r.Type.Valid() || r.ID == "" {
		return run.Event{}, fmt.Errorf("create run %q: want a new QUEUED run with a type, got %s %s", r.ID, r.Type, r.State)
	}
	command, err := jsonArg(nonNil(r.TaskCommand))
	if err != nil {
		return run.Event{}, err
	}
	_, err = s.exec(ctx, tx, `INSERT INTO runs (`+runColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.StackID, string(r.Type), string(r.State), r.CommitSHA, r.CommitTitle, r.Branch, r.MergeRequestIID, r.MergeRequestURL,
		r.Trigger, r.TriggeredBy, r.Reason, r.DeliveryID, r.Delta.Add, r.Delta.Change, r.Delta.Destroy, r.Delta.Import,
		r.Planned, r.ErrorDetail, command, r.ScheduleID, s.t(r.CreatedAt), s.t(r.UpdatedAt))
	if s.d.IsUniqueViolation(err) {
		return run.Event{}, apperr.Wrap(apperr.Conflict, err, "stack %s already has a %s run at %s", r.StackID, r.Type, r.CommitSHA)
	}
	if err != nil {
		return run.Event{}, fmt.Errorf("create run of %s: %w", r.StackID, err)
	}
	// The event of a new run needs no reads: the run is what was just
	// written (as the database gives it back: UTC, microseconds), and it
	// has no history before QUEUED. Every webhook creates runs.
	r.CreatedAt, r.UpdatedAt = dbTime(r.CreatedAt), dbTime(r.UpdatedAt)
	if len(r.TaskCommand) == 0 {
		r.TaskCommand = nil // as scanRun reads it
	}
	return run.Event{Run: r, To: run.Queued, Note: r.Reason}, nil
}

// cancelRun cancels a run still in one of cn.States and reports whether it
// did; its history row is the caller's to write.
func (s *Store) cancelRun(ctx context.Context, tx *sql.Tx, cn run.Cancel, at time.Time) (run.Event, bool, error) {
	if len(cn.States) == 0 {
		return run.Event{}, false, nil
	}
	// The event without re-reads (every newer push cancels its branch's
	// older runs): the state the run leaves and since when are its last
	// history row, read before; the run as it is now comes from the
	// update. CANCELED is final, so the run was never in it before.
	var from string
	var since time.Time
	err := s.queryRow(ctx, tx, "SELECT state, at FROM run_transitions WHERE run_id = ? ORDER BY id DESC LIMIT 1", cn.RunID).
		Scan(&from, timeScan{&since})
	if errors.Is(err, sql.ErrNoRows) {
		return run.Event{}, false, nil // no such run
	}
	if err != nil {
		return run.Event{}, false, fmt.Errorf("load run %s history: %w", cn.RunID, err)
	}
	args := []any{s.t(at), cn.RunID}
	for _, st := range cn.States {
		args = append(args, string(st))
	}
	r, err := scanRun(s.queryRow(ctx, tx, `UPDATE runs SET state = 'CANCELED', updated_at = ?
		WHERE id = ? AND state IN (`+placeholders(len(cn.States))+`) RETURNING `+runColumns, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return run.Event{}, false, nil // in none of those states
	}
	if err != nil {
		return run.Event{}, false, fmt.Errorf("cancel run %s: %w", cn.RunID, err)
	}
	return run.Event{Run: r, From: run.State(from), Since: since, To: run.Canceled, Note: cn.Note}, true, nil
}

// insertTransitions appends ts to their runs' histories, in order, in one
// statement per batchRows.
func (s *Store) insertTransitions(ctx context.Context, tx *sql.Tx, ts ...run.Transition) error {
	for chunk := range slices.Chunk(ts, batchRows) {
		args := make([]any, 0, 5*len(chunk))
		for _, t := range chunk {
			args = append(args, t.RunID, string(t.State), s.t(t.At), t.Actor, t.Note)
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO run_transitions (run_id, state, at, actor, note) VALUES "+
			valueRows("(?, ?, ?, ?, ?)", len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// recordRunTransition appends one row to a run's history and returns the
// transition's event: the run as it is now in tx, and the state it left.
func (s *Store) recordRunTransition(ctx context.Context, tx *sql.Tx, t run.Transition) (run.Event, error) {
	if err := s.insertTransitions(ctx, tx, t); err != nil {
		return run.Event{}, err
	}
	r, err := s.runInTx(ctx, tx, t.RunID)
	if err != nil {
		return run.Event{}, err
	}
	// The whole history (a dozen rows): the state before, when the run
	// entered it, and whether the run was in t.State already (handed back,
	// and leased again).
	type step struct {
		state string
		at    time.Time
	}
	past, err := queryAll(ctx, s, tx, func(r rowScanner) (step, error) {
		var st step
		err := r.Scan(&st.state, timeScan{&st.at})
		return st, err
	}, "SELECT state, at FROM run_transitions WHERE run_id = ? ORDER BY id DESC", t.RunID)
	if err != nil {
		return run.Event{}, fmt.Errorf("load run %s history: %w", t.RunID, err)
	}
	ev := run.Event{Run: r, To: t.State, Note: t.Note}
	if len(past) > 1 {
		ev.From, ev.Since = run.State(past[1].state), past[1].at
		ev.Reentered = slices.ContainsFunc(past[1:], func(p step) bool { return p.state == string(t.State) })
	}
	return ev, nil
}

func (s *Store) runInTx(ctx context.Context, tx *sql.Tx, id string) (run.Run, error) {
	r, err := scanRun(s.queryRow(ctx, tx, "SELECT "+runColumns+" FROM runs WHERE id = ?", id))
	if err != nil {
		return run.Run{}, fmt.Errorf("load run %s: %w", id, err)
	}
	return r, nil
}

// GetRun implements run.Store.
func (s *Store) GetRun(ctx context.Context, id string) (run.Run, error) {
	r, err := scanRun(s.queryRow(ctx, s.r, "SELECT "+runColumns+" FROM runs WHERE id = ?", id))
	if err != nil {
		return run.Run{}, wrapInternal(notFound(err, "run %q not found", id), "get run %s", id)
	}
	return r, nil
}

// ListRuns implements run.Store: newest first (ids are ulids).
func (s *Store) ListRuns(ctx context.Context, f run.Filter, cursor string, limit int) ([]run.Run, string, error) {
	limit = clampLimit(limit)
	var where []string
	var args []any
	if f.StackID != "" {
		where, args = append(where, "stack_id = ?"), append(args, f.StackID)
	}
	if f.DeliveryID != "" {
		where, args = append(where, "delivery_id = ?"), append(args, f.DeliveryID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if cursor != "" {
		after, err := parseIDCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "id < ?"), append(args, after)
	}
	q := "SELECT " + runColumns + " FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	runs, err := queryAll(ctx, s, s.r, scanRun, q+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	runs, next := page(runs, limit, func(r run.Run) string { return idCursor(r.ID) })
	return runs, next, nil
}

// RunHistory implements run.Store.
func (s *Store) RunHistory(ctx context.Context, id string) ([]run.Transition, error) {
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (run.Transition, error) {
		var t run.Transition
		var state string
		err := row.Scan(&t.RunID, &state, timeScan{&t.At}, &t.Actor, &t.Note)
		t.State = run.State(state)
		return t, err
	}, "SELECT run_id, state, at, actor, note FROM run_transitions WHERE run_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("history of run %s: %w", id, err)
	}
	return out, nil
}

// maxStackFilter is the most stacks RunsForEvent names in its statement.
const maxStackFilter = 32

// RunsForEvent implements run.Store, in one statement: each part uses an
// index (commit_sha; branch, state; merge_request_iid). The stack filter
// is in the statement when the event concerns a few stacks (a branch's
// runs of every other stack are then not read out), and applied here
// otherwise, so a repository with thousands of stacks needs no huge IN
// list.
func (s *Store) RunsForEvent(ctx context.Context, stackIDs []string, sha, branch string, mrIID int64, active []run.State) ([]run.EventRun, error) {
	want := make(map[string]bool, len(stackIDs))
	for _, id := range stackIDs {
		want[id] = true
	}
	states := make([]any, 0, len(active))
	for _, st := range active {
		states = append(states, string(st))
	}
	const cols = "SELECT id, stack_id, type, state, commit_sha, branch, merge_request_iid, delivery_id, created_at FROM runs WHERE "
	inActive := " AND type = 'PROPOSED' AND state IN (" + placeholders(len(states)) + ")"
	inStacks, stackArgs := "", []any(nil)
	if len(want) <= maxStackFilter {
		inStacks = " AND stack_id IN (" + placeholders(len(want)) + ")"
		for id := range want {
			stackArgs = append(stackArgs, id)
		}
	}
	var parts []string
	var args []any
	if sha != "" {
		parts, args = append(parts, cols+"commit_sha = ?"+inStacks), append(append(args, sha), stackArgs...)
	}
	if branch != "" && len(states) > 0 {
		parts = append(parts, cols+"branch = ?"+inActive+inStacks)
		args = append(append(append(args, branch), states...), stackArgs...)
	}
	if mrIID != 0 && len(states) > 0 {
		parts = append(parts, cols+"merge_request_iid = ?"+inActive+inStacks)
		args = append(append(append(args, mrIID), states...), stackArgs...)
	}
	if len(parts) == 0 || len(want) == 0 {
		return []run.EventRun{}, nil
	}
	runs, err := queryAll(ctx, s, s.r, func(row rowScanner) (run.EventRun, error) {
		var r run.EventRun
		var typ, state string
		err := row.Scan(&r.ID, &r.StackID, &typ, &state, &r.CommitSHA, &r.Branch, &r.MergeRequestIID, &r.DeliveryID, timeScan{&r.CreatedAt})
		r.Type, r.State = run.Type(typ), run.State(state)
		return r, err
	}, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("runs for event: %w", err)
	}
	seen := map[string]bool{}
	out := []run.EventRun{}
	for _, r := range runs {
		if want[r.StackID] && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out, nil
}
