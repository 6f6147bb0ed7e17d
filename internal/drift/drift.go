// Package drift turns the outcome of drift runs into a stack's drift mark
// (issue 21): a finished drift run whose plan is not empty marks its stack
// drifted with the resources it would change, one with an empty plan
// clears the mark, and a schedule with reconcile on turns a drifted result
// into a tracked run.
package drift

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/stack"
)

// Observer hears of a stack becoming drifted or no longer drifted. It is
// called inside the transaction that records the mark (ctx carries it), so
// what it records through the same store (an outbox row) commits with the
// mark or not at all; it must not call out to the network. d is the new
// mark: d.Drifted and, when drifted, d.Changes, the resources the drift
// run's plan would change.
type Observer interface {
	DriftChanged(ctx context.Context, st stack.Stack, d stack.Drift) error
}

// Store is what the tracker reads and writes (sqlstore.Store implements
// it).
type Store interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
	GetExec(ctx context.Context, runID string) (run.Exec, error)
	// SetStackDrift records the mark and returns the one it replaced (nil:
	// none); nothing is written for a stack deleted meanwhile.
	SetStackDrift(ctx context.Context, d stack.Drift) (*stack.Drift, error)
	GetSchedule(ctx context.Context, stackID, id string) (schedule.Schedule, error)
}

// Reconciler makes the tracked run of a reconcile (run.Service implements
// it): the normal run creation, so the stack's approval policies,
// autodeploy and confirmation apply to it as to any tracked run.
type Reconciler interface {
	CreateScheduled(ctx context.Context, in run.Scheduled) (run.Run, error)
}

// Config wires a Tracker.
type Config struct {
	Store      Store
	Reconciler Reconciler
	// Observers hear of every change of a stack's mark; none is fine.
	Observers []Observer
	// Checked hear, the same way, the outcome of every drift run that
	// found the stack drifted or cleared its mark: a stack still drifted
	// too (a GitLab issue kept up to date). A clean stack found clean
	// again is not news.
	Checked []Observer
	Logger  *slog.Logger
}

// Tracker is a run.Outbox: it sees every run event in the event's
// transaction, and acts on drift runs that finished.
type Tracker struct {
	cfg Config
}

// NewTracker returns a Tracker.
func NewTracker(cfg Config) *Tracker {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker{cfg: cfg}
}

// OnRunEvents implements run.Outbox.
func (t *Tracker) OnRunEvents(ctx context.Context, evs []run.Event) error {
	for _, ev := range evs {
		if !ev.Run.IsDrift() || ev.To != run.Finished || ev.From == run.Finished {
			continue
		}
		if err := t.finished(ctx, ev.Run); err != nil {
			return fmt.Errorf("drift outcome of run %s: %w", ev.Run.ID, err)
		}
	}
	return nil
}

// finished records what drift run r found.
func (t *Tracker) finished(ctx context.Context, r run.Run) error {
	e, err := t.cfg.Store.GetExec(ctx, r.ID)
	if err != nil {
		return err
	}
	d := stack.Drift{StackID: r.StackID, Drifted: e.HasChanges, RunID: r.ID, CheckedAt: r.UpdatedAt, ChangedAt: r.UpdatedAt}
	if d.Drifted {
		for _, res := range e.Resources {
			d.Changes = append(d.Changes, stack.DriftChange{Address: res.Address, Action: res.Action})
		}
	}
	prev, err := t.cfg.Store.SetStackDrift(ctx, d)
	if err != nil {
		return err
	}
	st, err := t.cfg.Store.GetStack(ctx, r.StackID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted meanwhile: nothing to mark or reconcile
	}
	if err != nil {
		return err
	}
	t.cfg.Logger.InfoContext(ctx, "drift checked", "stack_id", r.StackID, "run_id", r.ID, "drifted", d.Drifted,
		"resources", len(d.Changes))
	wasDrifted := prev != nil && prev.Drifted
	var hear []Observer
	if d.Drifted != wasDrifted {
		hear = t.cfg.Observers
	}
	if d.Drifted || wasDrifted {
		hear = append(hear[:len(hear):len(hear)], t.cfg.Checked...)
	}
	for _, o := range hear {
		if err := o.DriftChanged(ctx, st, d); err != nil {
			return err
		}
	}
	if d.Drifted {
		return t.reconcile(ctx, r)
	}
	return nil
}

// reconcile starts the tracked run of a drifted result when the drift
// run's schedule asks for it. A stack that cannot run now (another
// reason than the drift) leaves the mark for a person to act on.
func (t *Tracker) reconcile(ctx context.Context, r run.Run) error {
	if r.ScheduleID == "" || t.cfg.Reconciler == nil {
		return nil
	}
	sc, err := t.cfg.Store.GetSchedule(ctx, r.StackID, r.ScheduleID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted since it fired
	}
	if err != nil || !sc.Reconcile {
		return err
	}
	rr, err := t.cfg.Reconciler.CreateScheduled(ctx, run.Scheduled{StackID: r.StackID, Type: run.Tracked,
		Trigger: run.TriggerReconcile, ScheduleID: sc.ID,
		Reason: fmt.Sprintf("reconcile: drift run %s found changes (%s)", r.ID, r.UpdatedAt.Format(time.RFC3339))})
	if apperr.Is(err, apperr.Conflict) {
		t.cfg.Logger.WarnContext(ctx, "reconcile not started", "stack_id", r.StackID, "run_id", r.ID, "error", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	t.cfg.Logger.InfoContext(ctx, "reconcile started", "stack_id", r.StackID, "drift_run_id", r.ID, "run_id", rr.ID)
	return nil
}
