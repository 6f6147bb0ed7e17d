// Package schedule holds the schedules of stacks (issue 21): a cron
// expression in a time zone that starts a drift run or a task, and the
// scheduler that fires them once across every server on one database.
package schedule

import (
	"context"
	"strings"
	"time"
	_ "time/tzdata" // a schedule's zone must not depend on the host's zone files

	"github.com/robfig/cron/v3"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/run"
)

// Kind is what a schedule starts.
type Kind string

// The kinds of schedules built.
const (
	// Drift starts a PROPOSED run on the stack's tracked commit whose plan
	// says whether the infrastructure drifted (docs/drift.md).
	Drift Kind = "drift"
	// Task starts a TASK run of the schedule's command.
	Task Kind = "task"
)

// Schedule is one schedule of a stack.
type Schedule struct {
	ID       string
	StackID  string
	Kind     Kind
	Cron     string // five fields, or a descriptor such as @daily
	TimeZone string // IANA name; the cron's times are in it
	Command  []string
	// Reconcile turns a drifted result into a tracked run (drift only).
	Reconcile bool
	// NextRunAt is the next firing; the scheduler claims a firing by
	// moving it on.
	NextRunAt time.Time
	LastRunAt *time.Time // when it last fired
	LastRunID string     // the run it made then, "" when it could not
	LastError string     // why it could not
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Bounds on what a schedule holds.
const (
	MaxCron         = 100
	MaxTimeZone     = 64
	MaxPerStack     = 20
	DefaultTimeZone = "UTC"
)

// Spec is a parsed cron expression in its zone.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse checks a schedule's cron expression and time zone; errors are
// apperr.Invalid naming the field.
func Parse(expr, zone string) (Spec, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return Spec{}, apperr.InvalidField("cron", "is required: five fields (minute hour day-of-month month day-of-week), such as \"0 6 * * 1-5\"")
	case len(expr) > MaxCron:
		return Spec{}, apperr.InvalidField("cron", "is at most 100 characters")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return Spec{}, apperr.InvalidField("cron", "give the time zone in time_zone, not in the expression")
	case strings.HasPrefix(expr, "@every"):
		return Spec{}, apperr.InvalidField("cron", "@every is not supported: use five fields, such as \"*/30 * * * *\"")
	}
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return Spec{}, apperr.InvalidField("cron", "is not a cron expression: %v", err)
	}
	if zone == "" {
		zone = DefaultTimeZone
	}
	if len(zone) > MaxTimeZone || zone == "Local" {
		return Spec{}, apperr.InvalidField("time_zone", "must be an IANA time zone name, such as Europe/Paris or UTC")
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Spec{}, apperr.InvalidField("time_zone", "unknown time zone %q: use an IANA name, such as Europe/Paris or UTC", zone)
	}
	sp := Spec{sched: sched, loc: loc}
	if sp.Next(time.Now()).IsZero() {
		return Spec{}, apperr.InvalidField("cron", "never fires (no such date in the next five years)")
	}
	return sp, nil
}

// Next returns the first firing strictly after t, in UTC; zero when there
// is none within five years.
func (s Spec) Next(t time.Time) time.Time {
	n := s.sched.Next(t.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Input is a new schedule as a user writes it.
type Input struct {
	Kind      Kind
	Cron      string
	TimeZone  string
	Command   []string
	Reconcile bool
}

// Patch changes a schedule; nil fields stay.
type Patch struct {
	Cron      *string
	TimeZone  *string
	Command   *[]string
	Reconcile *bool
}

// check validates a schedule's kind-specific fields; the caller parsed its
// cron already.
func check(sc Schedule) error {
	switch sc.Kind {
	case Drift:
		if len(sc.Command) > 0 {
			return apperr.InvalidField("command", "only a task schedule has a command")
		}
	case Task:
		if sc.Reconcile {
			return apperr.InvalidField("reconcile", "only a drift schedule reconciles")
		}
		return run.CheckTaskCommand("command", sc.Command)
	case "destroy":
		return apperr.InvalidField("kind", "destroy schedules are not built: kind must be drift or task")
	default:
		return apperr.InvalidField("kind", "must be drift or task")
	}
	return nil
}

// Store keeps schedules. Every method is safe with several servers on one
// database; ClaimFiring is the one that decides which server fires.
type Store interface {
	// CreateSchedule, UpdateSchedule and DeleteSchedule write e to the
	// audit log in the same transaction.
	CreateSchedule(ctx context.Context, sc Schedule, e audit.Entry) error
	// GetSchedule returns a schedule of the stack (NotFound otherwise).
	GetSchedule(ctx context.Context, stackID, id string) (Schedule, error)
	ListSchedules(ctx context.Context, stackID string) ([]Schedule, error)
	UpdateSchedule(ctx context.Context, sc Schedule, e audit.Entry) error
	DeleteSchedule(ctx context.Context, stackID, id string, e audit.Entry) error
	// DueSchedules lists up to limit schedules whose NextRunAt is at or
	// before at, the most overdue first.
	DueSchedules(ctx context.Context, at time.Time, limit int) ([]Schedule, error)
	// ClaimFiring moves a schedule's NextRunAt from due to next and its
	// LastRunAt to at, only if NextRunAt is still due: ok says whether
	// this caller won the firing.
	ClaimFiring(ctx context.Context, id string, due, next, at time.Time) (ok bool, err error)
	// RecordFiring records what the firing made: its run, or the error
	// that kept it from making one.
	RecordFiring(ctx context.Context, id, runID, errMsg string) error
	// InTx runs fn in one transaction (the claim and the run it makes
	// commit together).
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}
