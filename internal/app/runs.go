package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/drift"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/worker"
	"github.com/hoistdev/hoist/internal/workspace"
)

// DefaultWorkerSlots is how many runs the embedded pool executes at once.
const DefaultWorkerSlots = 2

// runs is the run service with its scheduler, the managed state, and the
// embedded worker pool.
type runs struct {
	service *run.Service
	state   *state.Service
	pool    *worker.Pool
	// schedules are the stacks' schedules, and scheduler fires them
	// (issue 21).
	schedules *schedule.Service
	scheduler *schedule.Scheduler
	cfg       Config
	// loopback serves the state backend to the embedded pool's OpenTofu.
	loopback *http.Server
}

func newRuns(cfg Config, store *sqlstore.Store, spaces *space.Service, box *secret.Box, gl *gitlab.Client,
	writes *feedback.Service, notes *notify.Service, m *metrics.Metrics, plans run.PlanChecker, approvals run.ApprovalChecker) *runs {
	wakes := store.Wakes()
	// The drift tracker reconciles through the run service it is an
	// outbox of: bound once the service exists, before it starts.
	reconcile := &lateRuns{}
	tracker := drift.NewTracker(drift.Config{Store: store, Reconciler: reconcile, Observers: []drift.Observer{driftNotices{notes}},
		Checked: []drift.Observer{driftIssues{writes}}, Logger: cfg.Logger.With("component", "drift")})
	svc := run.NewService(run.Config{Runs: store, Exec: store, Vars: store, Pools: store, Stacks: store,
		Integrations: store, Access: spaces, Archiver: gl, Outbox: outboxes{writes, tracker}, Notifications: notes, PlanPolicy: plans,
		Approvals: approvals, Reviews: store,
		Box: box, Clock: cfg.Clock, Logger: cfg.Logger.With("component", "runs"), LeaseTTL: cfg.LeaseTTL,
		PollInterval: cfg.SchedulerPoll, Metrics: m, PublishFunc: func() { wakes.Publish(sqlstore.TopicRuns) }})
	wakes.Subscribe(sqlstore.TopicRuns, svc.Wake)
	reconcile.svc = svc
	schedules := schedule.NewService(schedule.Config{Store: store, Stacks: store, Access: spaces, Clock: cfg.ScheduleClock,
		Logger: cfg.Logger.With("component", "schedules")})
	scheduler := schedule.NewScheduler(schedule.SchedulerConfig{Store: store, Runs: svc, Clock: cfg.ScheduleClock,
		Logger: cfg.Logger.With("component", "schedules"), Poll: cfg.SchedulePoll})
	return &runs{service: svc, state: state.NewService(store, box, svc, cfg.Clock), schedules: schedules,
		scheduler: scheduler, cfg: cfg}
}

// outboxes hands run events to each outbox in turn, in the event's
// transaction: GitLab write-back, then the drift tracker.
type outboxes []run.Outbox

func (o outboxes) OnRunEvents(ctx context.Context, evs []run.Event) error {
	for _, b := range o {
		if err := b.OnRunEvents(ctx, evs); err != nil {
			return err
		}
	}
	return nil
}

// driftIssues keeps the GitLab issue of a drifted stack in step with its
// mark (feedback.Service.DriftChecked), in the transaction that records
// the mark.
type driftIssues struct{ svc *feedback.Service }

func (d driftIssues) DriftChanged(ctx context.Context, st stack.Stack, dr stack.Drift) error {
	return d.svc.DriftChecked(ctx, st, dr)
}

// lateRuns is the run service for the drift tracker, which the service
// needs as its outbox before it exists.
type lateRuns struct{ svc *run.Service }

func (l *lateRuns) CreateScheduled(ctx context.Context, in run.Scheduled) (run.Run, error) {
	return l.svc.CreateScheduled(ctx, in)
}

// notify is the ingest consumer that wakes the scheduler after an event
// wrote its runs.
func (r *runs) notify(context.Context, string, *vcs.Event) error {
	r.service.Notify()
	return nil
}

// start runs the scheduler and, unless disabled, the embedded worker pool.
// The pool talks to the run service in-process; its OpenTofu reaches the
// state backend (handler's /api/v1/state/ paths) on a listener of its own,
// plain HTTP on the loopback interface. Through the public listener it
// would have to trust the server's certificate (a private CA with
// --tls-cert, which SSL_CERT_FILE could add only by replacing the system
// roots that provider downloads need) and reach the listen address (which
// may be an interface or a name that only clients resolve).
func (r *runs) start(ctx context.Context, handler http.Handler) error {
	r.service.Start(ctx)
	r.scheduler.Start(ctx)
	if r.cfg.WorkerSlots < 0 {
		return nil // no embedded workers: remote workers only
	}
	slots := r.cfg.WorkerSlots
	if slots == 0 {
		slots = DefaultWorkerSlots
	}
	stateURL, err := r.listenLoopback(handler)
	if err != nil {
		return err
	}
	// Replicas on one host need their own worker ids: a lost worker's
	// runs and the history name it.
	host, _ := os.Hostname()
	workerID := fmt.Sprintf("embedded@%s/%d", host, os.Getpid())
	var sb *sandbox.Sandbox
	if r.cfg.SimulateNoSandbox != "" {
		sb = sandbox.New(ctx, sandbox.Options{SimulateUnavailable: r.cfg.SimulateNoSandbox, AllowUnsandboxed: r.cfg.UnsafeUnsandboxedRuns})
	} else {
		sb = worker.NewSandbox(ctx, r.cfg.TofuPath, r.cfg.Getenv, r.cfg.UnsafeUnsandboxedRuns)
	}
	// Runs never see the data dir (database, encryption key, first-start
	// secrets), the TLS and metrics keys, nor the files other secrets were
	// read from.
	r.pool, err = worker.Start(ctx, worker.Config{Server: worker.Local{Service: r.service, Pool: run.EmbeddedPool},
		ID: workerID, Slots: slots, TofuPath: r.cfg.TofuPath, ToolsDir: r.cfg.ToolsDir, StateURL: stateURL,
		RegistryHost: hostOf(r.cfg.PublicURL), TrustCAFile: r.cfg.TLSCertFile, WorkDir: r.cfg.WorkDir, Getenv: r.cfg.Getenv,
		Logger: r.cfg.Logger.With("component", "worker"), LeaseWait: cmp.Or(r.cfg.WorkerLeaseWait, 30*time.Second),
		Sandbox: sb, Hidden: r.hidden(), Limits: workspace.Limits{MaxBytes: r.cfg.MaxArchiveBytes, MaxEntries: r.cfg.MaxArchiveEntries}})
	return err
}

// hidden are the paths runs must never see.
func (r *runs) hidden() []string {
	return sandbox.RealPaths(append([]string{r.cfg.DataDir, r.cfg.TLSKeyFile, r.cfg.MetricsKeyFile, r.cfg.OIDCClientSecretFile}, r.cfg.SecretFiles...)...)
}

// stopLeasing hands out no more runs: to the embedded slots (first, so
// that they do not ask the draining service), then to remote workers.
func (r *runs) stopLeasing() {
	r.scheduler.Stop() // a server that stops fires nothing more; the others do
	if r.pool != nil {
		r.pool.StopLeasing()
	}
	r.service.Drain()
}

// shutdown lets the embedded workers finish, hand back or cut their runs
// within ctx (worker.Pool.Shutdown), then stops the scheduler.
func (r *runs) shutdown(ctx context.Context) {
	if r.pool != nil {
		r.pool.Shutdown(ctx)
	}
	if r.loopback != nil {
		_ = r.loopback.Close() // after the pool: no OpenTofu is left to call it
	}
	r.scheduler.Stop()
	r.service.Stop()
}

// statePrefix is all the loopback listener serves.
const statePrefix = "/api/v1/state/"

// listenLoopback serves handler's state backend on a free port of the
// loopback interface (IPv4, else IPv6) and returns its base URL. It is
// never exposed beyond the host, and it authenticates exactly like the
// public listener (the run's state token).
func (r *runs) listenLoopback(handler http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if ln, err6 = net.Listen("tcp", "[::1]:0"); err6 != nil {
			return "", fmt.Errorf("listen on the loopback interface for the embedded workers: %w", errors.Join(err, err6))
		}
	}
	only := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.URL.Path, statePrefix) {
			http.NotFound(w, req)
			return
		}
		handler.ServeHTTP(w, req)
	})
	r.loopback = &http.Server{Handler: only, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(r.cfg.Logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := r.loopback.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.cfg.Logger.Error("state backend listener of the embedded workers", "error", err)
		}
	}()
	return "http://" + ln.Addr().String() + strings.TrimSuffix(statePrefix, "/"), nil
}

// hostOf is the host (and port) of a URL; "" when there is none.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}
