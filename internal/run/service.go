package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// AccessResolver resolves a principal's roles (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// StackStore is what runs read of stacks (stack.Store implements it).
type StackStore interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
}

// IntegrationStore is what runs read of integrations.
type IntegrationStore interface {
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
}

// Archiver fetches a repository's source at a commit as tar.gz (the gitlab
// package implements it with repository/archive.tar.gz).
type Archiver interface {
	Archive(ctx context.Context, ep vcs.Endpoint, project, sha, path string, w io.Writer) error
}

// Outbox records, in the caller's transaction, the GitLab writes that run
// events call for: commit statuses, merge request notes, deployments
// (feedback.Service implements it).
type Outbox interface {
	OnRunEvents(ctx context.Context, evs []Event) error
}

// Config wires a Service.
type Config struct {
	Runs         Store
	Exec         ExecStore
	Vars         VariableStore
	Pools        PoolStore
	Stacks       StackStore
	Integrations IntegrationStore
	Access       AccessResolver
	Archiver     Archiver
	Box          *secret.Box
	Clock        func() time.Time
	Logger       *slog.Logger
	// PlanPolicy evaluates plan policies after each plan (issue 17); nil:
	// none.
	PlanPolicy PlanChecker
	// Approvals evaluates approval policies between plan and apply, and
	// Reviews keeps the reviews they read (issue 17); nil: none.
	Approvals ApprovalChecker
	Reviews   ReviewStore
	// Outbox records the GitLab writes of every change to a run, in the
	// change's transaction (Runs.InTx). Nil: no GitLab write-back.
	Outbox Outbox
	// Notifications records, in the same transaction, the notifications
	// of every change to a run (notify.Service: run finished, failed,
	// waiting for confirmation or review). Nil: none.
	Notifications Outbox
	// LeaseTTL is how long a worker's lease lasts without a heartbeat
	// (default 30s); a run whose lease runs out fails with "worker lost".
	LeaseTTL time.Duration
	// PollInterval is how often the scheduler looks at the database even
	// without a signal, for runs created by other servers (default 1s).
	PollInterval time.Duration
	// Metrics is told how long runs spent in each state; nil: nothing.
	Metrics Metrics
	// PublishFunc tells the other servers on the database that runs
	// changed, so that their workers waiting for a lease look at once
	// (docs/design/replicas.md); nil: one server. It must not block.
	PublishFunc func()
}

// Service is the runs' business operations: triggering, reading, user
// actions with access checks, the scheduler, and the worker protocol.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever runs may have become runnable or logs grew

	embeddedToken string // hash of the in-memory token of the embedded pool

	loopOnce sync.Once
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	kick     chan struct{}

	drainOnce sync.Once
	draining  chan struct{} // closed by Drain
}

// NewService returns a Service. Start runs its scheduler.
func NewService(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Outbox == nil {
		cfg.Outbox = noOutbox{}
	}
	if cfg.Notifications == nil {
		cfg.Notifications = noOutbox{}
	}
	return &Service{cfg: cfg, now: func() time.Time { return cfg.Clock().UTC() }, log: cfg.Logger,
		changed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1),
		draining: make(chan struct{})}
}

// View is a run as the API shows it.
type View struct {
	Run
	History   []Transition
	BlockedBy string
	Resources []Resource
	Error     string
	Binary    Binary // what executes the run, once its worker said
}

// load returns a run the principal may read, with the principal's access
// and the run's stack.
func (s *Service) load(ctx context.Context, principal, id string) (Run, stack.Stack, space.Access, error) {
	r, err := s.cfg.Runs.GetRun(ctx, id)
	if err != nil {
		return Run{}, stack.Stack{}, space.Access{}, err
	}
	st, a, err := s.stackFor(ctx, principal, r.StackID, space.Read)
	if apperr.Is(err, apperr.Forbidden) || apperr.Is(err, apperr.NotFound) {
		return Run{}, stack.Stack{}, space.Access{}, apperr.Errorf(apperr.NotFound, "run %q not found", id)
	}
	return r, st, a, err
}

// stackFor loads a stack the principal has at least role min on. A stack
// the principal may not read is NotFound; one it may read but not change
// enough is Forbidden.
func (s *Service) stackFor(ctx context.Context, principal, stackID string, min space.Role) (stack.Stack, space.Access, error) {
	st, err := s.cfg.Stacks.GetStack(ctx, stackID)
	if err != nil {
		return stack.Stack{}, space.Access{}, err
	}
	a, _, err := s.cfg.Access.Access(ctx, principal)
	if err != nil {
		return stack.Stack{}, space.Access{}, err
	}
	if err := stack.CheckRole(st, a, min); err != nil {
		return stack.Stack{}, space.Access{}, err
	}
	return st, a, nil
}

// Get returns a run with its history.
func (s *Service) Get(ctx context.Context, principal, id string) (View, error) {
	r, _, _, err := s.load(ctx, principal, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, r)
}

func (s *Service) view(ctx context.Context, r Run) (View, error) {
	h, err := s.cfg.Runs.RunHistory(ctx, r.ID)
	if err != nil {
		return View{}, err
	}
	e, err := s.cfg.Exec.GetExec(ctx, r.ID)
	if err != nil {
		return View{}, err
	}
	v := View{Run: r, History: h, Resources: e.Resources, Error: e.Error, Binary: e.Binary}
	if r.State == Queued {
		v.BlockedBy = e.BlockedBy
	}
	if v.Resources == nil {
		v.Resources = []Resource{}
	}
	return v, nil
}

// List pages a stack's runs, newest first.
func (s *Service) List(ctx context.Context, principal, stackID, cursor string, limit int) ([]View, string, error) {
	if _, _, err := s.stackFor(ctx, principal, stackID, space.Read); err != nil {
		return nil, "", err
	}
	runs, next, err := s.cfg.Runs.ListRuns(ctx, Filter{StackID: stackID}, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]View, 0, len(runs))
	for _, r := range runs {
		v, err := s.view(ctx, r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// Search lists, newest first, the runs q selects among those of the
// stacks the principal may read; q's visibility fields are set here.
func (s *Service) Search(ctx context.Context, principal string, q Query, cursor string, limit int) ([]Listed, string, error) {
	a, _, err := s.cfg.Access.Access(ctx, principal)
	if err != nil {
		return nil, "", err
	}
	if q.All, q.Spaces = a.ReadScope(); !q.All && len(q.Spaces) == 0 {
		return []Listed{}, "", nil
	}
	return s.cfg.Runs.SearchRuns(ctx, q, cursor, limit)
}

// knownTitle is the title an event gave commit sha on the stack's latest
// run at it, for a run made by hand ("" when none did): the event knew
// the commit, the trigger does not.
func (s *Service) knownTitle(ctx context.Context, st stack.Stack, sha string) (string, error) {
	runs, _, err := s.cfg.Runs.SearchRuns(ctx, Query{Spaces: []string{st.SpaceID}, StackID: st.ID, CommitSHA: sha}, "", 1)
	if err != nil || len(runs) == 0 {
		return "", err
	}
	return runs[0].CommitTitle, nil
}

// TriggerInput asks for a run by hand.
type TriggerInput struct {
	Type      Type     // TRACKED (default), PROPOSED or TASK
	CommitSHA string   // PROPOSED only; TRACKED runs and tasks use the stack's tracked commit
	Command   []string // TASK only: the command, starting with tofu or terraform
}

// Trigger creates a run of a stack (writers only).
func (s *Service) Trigger(ctx context.Context, principal, stackID string, in TriggerInput) (View, error) {
	st, _, err := s.stackFor(ctx, principal, stackID, space.Write)
	if err != nil {
		return View{}, err
	}
	if in.Type == "" {
		in.Type = Tracked
	}
	if in.Type != Task && len(in.Command) > 0 {
		return View{}, apperr.InvalidField("command", "only a TASK run has a command")
	}
	r, err := s.newRun(st, in.Type, "api", "api:"+principal)
	if err != nil {
		return View{}, err
	}
	switch in.Type {
	case Tracked:
		if in.CommitSHA != "" {
			return View{}, apperr.InvalidField("commit_sha", "a tracked run runs the stack's tracked commit; leave commit_sha out")
		}
		r.Reason = "triggered by hand at the tracked commit"
	case Proposed:
		sha := strings.ToLower(strings.TrimSpace(in.CommitSHA))
		if !vcs.IsSHA(sha) {
			return View{}, apperr.InvalidField("commit_sha", "must be a full 40-character commit SHA")
		}
		r.CommitSHA, r.Branch, r.Reason = sha, "", "triggered by hand"
	case Task:
		if in.CommitSHA != "" {
			return View{}, apperr.InvalidField("commit_sha", "a task runs at the stack's tracked commit; leave commit_sha out")
		}
		if err := CheckTaskCommand("command", in.Command); err != nil {
			return View{}, err
		}
		r.TaskCommand, r.Reason = in.Command, "task triggered by hand at the tracked commit"
	}
	if r, err = s.create(ctx, st, r); err != nil {
		return View{}, err
	}
	return s.view(ctx, r)
}

// Scheduled asks for a run that Hoist starts by itself (issue 21): a
// drift run, a scheduled task, a reconcile run.
type Scheduled struct {
	StackID    string
	Type       Type     // PROPOSED for drift, TASK, TRACKED for reconcile
	Trigger    string   // TriggerDrift, TriggerSchedule, TriggerReconcile
	ScheduleID string   // the schedule that asked
	Command    []string // TASK only
	Reason     string
}

// CreateScheduled creates a run at the stack's tracked commit with no
// principal's access check: the schedule's author was checked when it was
// written. It joins the caller's transaction (Runs.InTx), and tells the
// outbox as every run creation does; the caller calls Notify after commit.
// A stack that cannot run (detached, no tracked commit) is a Conflict.
func (s *Service) CreateScheduled(ctx context.Context, in Scheduled) (Run, error) {
	st, err := s.cfg.Stacks.GetStack(ctx, in.StackID)
	if err != nil {
		return Run{}, err
	}
	r, err := s.newRun(st, in.Type, in.Trigger, "schedule:"+in.ScheduleID)
	if err != nil {
		return Run{}, err
	}
	if in.Type == Task {
		if err := CheckTaskCommand("command", in.Command); err != nil {
			return Run{}, err
		}
		r.TaskCommand = in.Command
	}
	r.ScheduleID, r.Reason = in.ScheduleID, in.Reason
	return s.create(ctx, st, r)
}

// newRun returns a QUEUED run of st at its tracked commit, refusing a
// stack that cannot run.
func (s *Service) newRun(st stack.Stack, typ Type, trigger, by string) (Run, error) {
	if !typ.Valid() {
		return Run{}, apperr.InvalidField("type", "must be TRACKED, PROPOSED or TASK")
	}
	if st.Detached() {
		return Run{}, apperr.Errorf(apperr.Conflict, "stack %q is detached: %s", st.ID, st.DetachedReason())
	}
	now := s.now()
	r := Run{ID: NewID(now), StackID: st.ID, Type: typ, State: Queued, Trigger: trigger, TriggeredBy: by,
		CreatedAt: now, UpdatedAt: now}
	if typ == Proposed && trigger == "api" {
		return r, nil // runs the commit the caller names
	}
	if st.TrackedCommit == nil || st.TrackedCommit.SHA == "" {
		return Run{}, apperr.Errorf(apperr.Conflict, "stack %q has no tracked commit yet: push to %s first", st.ID, st.Branch)
	}
	r.CommitSHA, r.Branch = st.TrackedCommit.SHA, st.Branch
	return r, nil
}

// create writes a new run with its outbox writes and returns it as stored.
func (s *Service) create(ctx context.Context, st stack.Stack, r Run) (Run, error) {
	var err error
	if r.CommitTitle, err = s.knownTitle(ctx, st, r.CommitSHA); err != nil {
		return Run{}, err
	}
	err = s.record(ctx, func(ctx context.Context) ([]Event, error) {
		applied, err := s.cfg.Runs.ApplyRunChanges(ctx, Changes{At: r.CreatedAt, Actor: r.TriggeredBy, Create: []Run{r}})
		return applied.Events, err
	})
	if err != nil {
		return Run{}, fmt.Errorf("create run: %w", err)
	}
	s.Notify()
	return s.cfg.Runs.GetRun(ctx, r.ID)
}

// Act performs a user's confirm, discard or stop (writers only).
func (s *Service) Act(ctx context.Context, principal, id string, a Action) (View, error) {
	r, _, _, err := s.load(ctx, principal, id)
	if err != nil {
		return View{}, err
	}
	if _, _, err := s.stackFor(ctx, principal, r.StackID, space.Write); err != nil {
		return View{}, err
	}
	for attempt := 1; ; attempt++ {
		to, err := ActionTarget(a, r.Type, r.State)
		if err != nil {
			return View{}, err
		}
		m := Move{RunID: id, From: []State{r.State}, To: to, At: s.now(), Actor: "api:" + principal,
			Note: string(a) + "ed by " + principal}
		if a == Stop {
			m.Note = "stopped by " + principal
		}
		moved, err := s.moveRun(ctx, m)
		if err == nil {
			s.Notify()
			return s.view(ctx, moved)
		}
		// The run moved between the read and the move (the scheduler
		// promoted a QUEUED run to READY): decide again on its new state,
		// a few times at most.
		if !apperr.Is(err, apperr.Conflict) || attempt == maxActAttempts {
			return View{}, err
		}
		now, gerr := s.cfg.Runs.GetRun(ctx, id)
		if gerr != nil || now.State == r.State {
			return View{}, err
		}
		r = now
	}
}

// maxActAttempts bounds how often a user's action is decided again when
// the run keeps moving under it.
const maxActAttempts = 3

// record runs write, a store write that changes runs, and hands the events
// it returns to the outbox and to the notifications, in one transaction: a
// run's change, the GitLab writes and the notifications it causes commit
// together or not at all.
func (s *Service) record(ctx context.Context, write func(ctx context.Context) ([]Event, error)) error {
	var evs []Event
	err := s.cfg.Runs.InTx(ctx, func(ctx context.Context) error {
		var err error
		if evs, err = write(ctx); err != nil {
			return err
		}
		if err := s.cfg.Outbox.OnRunEvents(ctx, evs); err != nil {
			return err
		}
		return s.cfg.Notifications.OnRunEvents(ctx, evs)
	})
	if err == nil {
		ObservePhases(s.cfg.Metrics, evs)
	}
	return err
}

// moveRun performs m and records its GitLab writes (record).
func (s *Service) moveRun(ctx context.Context, m Move) (Run, error) {
	var r Run
	err := s.record(ctx, func(ctx context.Context) ([]Event, error) {
		ev, err := s.cfg.Exec.MoveRun(ctx, m)
		r = ev.Run
		return []Event{ev}, err
	})
	if err != nil {
		return Run{}, err
	}
	return r, nil
}

// noOutbox stands in when nothing is written back to GitLab, or nothing
// notified.
type noOutbox struct{}

func (noOutbox) OnRunEvents(context.Context, []Event) error { return nil }

// Notify wakes the scheduler and everyone waiting for a change (leasing
// workers, log followers), here and on the other servers. Run creators
// call it after creating runs.
func (s *Service) Notify() {
	s.Wake()
	s.publish()
}

// Wake is Notify for this server only: for wake-ups that came from
// another server, which must not echo them back.
func (s *Service) Wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
	s.broadcast()
}

func (s *Service) publish() {
	if s.cfg.PublishFunc != nil {
		s.cfg.PublishFunc()
	}
}

func (s *Service) broadcast() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// changes returns a channel closed at the next change.
func (s *Service) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
