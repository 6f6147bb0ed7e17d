package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
)

// RunCreator makes the runs schedules start (run.Service implements it).
type RunCreator interface {
	CreateScheduled(ctx context.Context, in run.Scheduled) (run.Run, error)
	// Notify wakes the run scheduler here and on the other servers.
	Notify()
}

// SchedulerConfig wires a Scheduler.
type SchedulerConfig struct {
	Store Store
	Runs  RunCreator
	// Clock is the scheduler's time: tests move it and call Wake.
	Clock  func() time.Time
	Logger *slog.Logger
	// Poll is how often the scheduler looks for due schedules without a
	// Wake (default 5s). Cron has minute steps, so a few seconds late is
	// on time; the poll also sees schedules other servers wrote.
	Poll time.Duration
	// Batch bounds the schedules one pass fires (default 100); the next
	// pass fires the rest at once.
	Batch int
}

// Scheduler fires due schedules. Several servers on one database each run
// one; ClaimFiring lets exactly one of them fire each firing. A schedule
// whose firings were missed (every server was down) fires once, then
// waits for its next time after now: the claim moves NextRunAt past now,
// not to the next missed firing.
type Scheduler struct {
	cfg SchedulerConfig

	startOnce, stopOnce sync.Once
	kick                chan struct{}
	stop, done          chan struct{}
}

// NewScheduler returns a Scheduler; Start runs it.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	return &Scheduler{cfg: cfg, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the scheduler until Stop or ctx ends; its first pass fires
// what came due while no server ran.
func (s *Scheduler) Start(ctx context.Context) {
	s.startOnce.Do(func() { go s.loop(context.WithoutCancel(ctx)) })
}

// Stop ends the scheduler and waits for its pass to end; it may be called
// more than once, and before Start.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	started := true
	s.startOnce.Do(func() { started = false })
	if started {
		<-s.done
	}
}

// Wake makes the scheduler look for due schedules now.
func (s *Scheduler) Wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "fire schedules", "error", err.Error())
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Tick fires every schedule due at the clock's now and returns how many
// firings this scheduler won.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.cfg.Clock().UTC()
	due, err := s.cfg.Store.DueSchedules(ctx, now, s.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("list due schedules: %w", err)
	}
	fired := 0
	var errs []error
	for _, sc := range due {
		ok, err := s.fire(ctx, sc, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("fire schedule %s of stack %s: %w", sc.ID, sc.StackID, err))
			continue
		}
		if ok {
			fired++
		}
	}
	if fired > 0 {
		s.cfg.Runs.Notify()
	}
	if len(errs) > 0 {
		return fired, errs[0]
	}
	return fired, nil
}

// fire claims one firing of sc and makes its run in the claim's
// transaction. A run the stack cannot have (detached, no tracked commit,
// a command no longer valid) is the firing's recorded error; the claim
// stands, so a broken schedule does not fire at every pass.
func (s *Scheduler) fire(ctx context.Context, sc Schedule, now time.Time) (bool, error) {
	spec, err := Parse(sc.Cron, sc.TimeZone)
	next := time.Time{}
	if err == nil {
		next = spec.Next(now)
	}
	if next.IsZero() {
		// Stored before a parser change, or never fires again: park it a
		// year out rather than look at it every pass.
		next = now.AddDate(1, 0, 0)
	}
	won := false
	err = s.cfg.Store.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.cfg.Store.ClaimFiring(ctx, sc.ID, sc.NextRunAt, next, now)
		if err != nil || !ok {
			return err
		}
		won = true
		r, err := s.cfg.Runs.CreateScheduled(ctx, scheduled(sc))
		switch {
		case err == nil:
			s.cfg.Logger.InfoContext(ctx, "schedule fired", "schedule_id", sc.ID, "stack_id", sc.StackID, "run_id", r.ID,
				"kind", string(sc.Kind), "missed_since", sc.NextRunAt)
			return s.cfg.Store.RecordFiring(ctx, sc.ID, r.ID, "")
		case apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.Invalid) || apperr.Is(err, apperr.NotFound):
			s.cfg.Logger.WarnContext(ctx, "schedule fired without a run", "schedule_id", sc.ID, "stack_id", sc.StackID,
				"error", err.Error())
			return s.cfg.Store.RecordFiring(ctx, sc.ID, "", apperr.MessageOf(err))
		default:
			return err
		}
	})
	if err != nil {
		return false, err
	}
	return won, nil
}

// scheduled is the run a firing of sc asks for.
func scheduled(sc Schedule) run.Scheduled {
	if sc.Kind == Task {
		return run.Scheduled{StackID: sc.StackID, Type: run.Task, Trigger: run.TriggerSchedule, ScheduleID: sc.ID,
			Command: sc.Command, Reason: "task of schedule " + sc.ID + " (" + sc.Cron + " " + sc.TimeZone + ")"}
	}
	return run.Scheduled{StackID: sc.StackID, Type: run.Proposed, Trigger: run.TriggerDrift, ScheduleID: sc.ID,
		Reason: "drift detection of schedule " + sc.ID + " (" + sc.Cron + " " + sc.TimeZone + ")"}
}
