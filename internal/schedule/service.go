package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/ulid"
)

// AccessResolver resolves a principal's roles (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// StackStore is what schedules read of stacks.
type StackStore interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
}

// Config wires a Service.
type Config struct {
	Store  Store
	Stacks StackStore
	Access AccessResolver
	Clock  func() time.Time
	Logger *slog.Logger
}

// Service is the schedules' operations with their access checks: space
// admins write a stack's schedules, readers read them.
type Service struct {
	cfg Config
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC() }

// stackFor loads a stack the principal has role min on: NotFound when it
// may not read it, Forbidden when it may read but not min.
func (s *Service) stackFor(ctx context.Context, principal, stackID string, min space.Role) (stack.Stack, error) {
	st, err := s.cfg.Stacks.GetStack(ctx, stackID)
	if err != nil {
		return stack.Stack{}, err
	}
	a, _, err := s.cfg.Access.Access(ctx, principal)
	if err != nil {
		return stack.Stack{}, err
	}
	return st, stack.CheckRole(st, a, min)
}

// Create adds a schedule to a stack (space admins).
func (s *Service) Create(ctx context.Context, principal, stackID string, in Input) (Schedule, error) {
	st, err := s.stackFor(ctx, principal, stackID, space.Admin)
	if err != nil {
		return Schedule{}, err
	}
	now := s.now()
	sc := Schedule{ID: ulid.New(now), StackID: st.ID, Kind: in.Kind, Cron: in.Cron, TimeZone: in.TimeZone,
		Command: in.Command, Reconcile: in.Reconcile, CreatedBy: principal, CreatedAt: now, UpdatedAt: now}
	if err := s.prepare(&sc, now); err != nil {
		return Schedule{}, err
	}
	existing, err := s.cfg.Store.ListSchedules(ctx, st.ID)
	if err != nil {
		return Schedule{}, err
	}
	if len(existing) >= MaxPerStack {
		return Schedule{}, apperr.Errorf(apperr.Conflict, "stack %q has %d schedules already, the most it may have", st.ID, MaxPerStack)
	}
	if err := s.cfg.Store.CreateSchedule(ctx, sc, s.entry(principal, "schedule.create", st, sc)); err != nil {
		return Schedule{}, fmt.Errorf("create schedule of stack %s: %w", st.ID, err)
	}
	s.cfg.Logger.InfoContext(ctx, "schedule created", "stack_id", st.ID, "schedule_id", sc.ID, "kind", string(sc.Kind))
	return sc, nil
}

// prepare validates sc and sets its next firing after now.
func (s *Service) prepare(sc *Schedule, now time.Time) error {
	if err := check(*sc); err != nil {
		return err
	}
	if sc.TimeZone == "" {
		sc.TimeZone = DefaultTimeZone
	}
	spec, err := Parse(sc.Cron, sc.TimeZone)
	if err != nil {
		return err
	}
	sc.NextRunAt = spec.Next(now)
	return nil
}

// List returns a stack's schedules (readers).
func (s *Service) List(ctx context.Context, principal, stackID string) ([]Schedule, error) {
	st, err := s.stackFor(ctx, principal, stackID, space.Read)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.ListSchedules(ctx, st.ID)
}

// Get returns one schedule of a stack (readers).
func (s *Service) Get(ctx context.Context, principal, stackID, id string) (Schedule, error) {
	st, err := s.stackFor(ctx, principal, stackID, space.Read)
	if err != nil {
		return Schedule{}, err
	}
	return s.cfg.Store.GetSchedule(ctx, st.ID, id)
}

// Update changes a schedule (space admins); a new cron or zone moves its
// next firing.
func (s *Service) Update(ctx context.Context, principal, stackID, id string, p Patch) (Schedule, error) {
	st, err := s.stackFor(ctx, principal, stackID, space.Admin)
	if err != nil {
		return Schedule{}, err
	}
	sc, err := s.cfg.Store.GetSchedule(ctx, st.ID, id)
	if err != nil {
		return Schedule{}, err
	}
	if p.Cron != nil {
		sc.Cron = *p.Cron
	}
	if p.TimeZone != nil {
		sc.TimeZone = *p.TimeZone
	}
	if p.Command != nil {
		sc.Command = *p.Command
	}
	if p.Reconcile != nil {
		sc.Reconcile = *p.Reconcile
	}
	now := s.now()
	next := sc.NextRunAt
	if err := s.prepare(&sc, now); err != nil {
		return Schedule{}, err
	}
	if p.Cron == nil && p.TimeZone == nil {
		sc.NextRunAt = next // the same times: a firing due now stays due
	}
	sc.UpdatedAt = now
	if err := s.cfg.Store.UpdateSchedule(ctx, sc, s.entry(principal, "schedule.update", st, sc)); err != nil {
		return Schedule{}, fmt.Errorf("update schedule %s: %w", id, err)
	}
	return sc, nil
}

// Delete removes a schedule (space admins).
func (s *Service) Delete(ctx context.Context, principal, stackID, id string) error {
	st, err := s.stackFor(ctx, principal, stackID, space.Admin)
	if err != nil {
		return err
	}
	return s.cfg.Store.DeleteSchedule(ctx, st.ID, id, s.entry(principal, "schedule.delete", st, Schedule{ID: id}))
}

// entry is the audit entry of a change to a schedule of st: what it runs
// is in the detail, since a task schedule runs commands with write access
// to the stack's state.
func (s *Service) entry(actor, action string, st stack.Stack, sc Schedule) audit.Entry {
	detail := map[string]any{"stack": st.ID}
	if sc.Kind != "" {
		detail["kind"], detail["cron"], detail["time_zone"], detail["reconcile"] = string(sc.Kind), sc.Cron, sc.TimeZone, sc.Reconcile
		if len(sc.Command) > 0 {
			detail["command"] = sc.Command
		}
	}
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "schedule", ResourceID: sc.ID,
		SpaceID: st.SpaceID, Detail: detail}
}
