package app

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/worker"
)

// DefaultWorkerSlots is how many runs the embedded pool executes at once.
const DefaultWorkerSlots = 2

// runs is the run service with its scheduler, the managed state, and the
// embedded worker pool.
type runs struct {
	service *run.Service
	state   *state.Service
	pool    *worker.Pool
	cfg     Config
}

func newRuns(cfg Config, store *sqlstore.Store, spaces *space.Service, box *secret.Box) *runs {
	svc := run.NewService(run.Config{Runs: store, Exec: store, Vars: store, Pools: store, Stacks: store,
		Integrations: store, Access: spaces, Archiver: newChecker(cfg),
		Box: box, Clock: cfg.Clock, Logger: cfg.Logger.With("component", "runs"), LeaseTTL: cfg.LeaseTTL,
		PollInterval: cfg.SchedulerPoll})
	return &runs{service: svc, state: state.NewService(store, box, svc, cfg.Clock), cfg: cfg}
}

// notify is the ingest consumer that wakes the scheduler after an event
// wrote its runs.
func (r *runs) notify(context.Context, string, *vcs.Event) error {
	r.service.Notify()
	return nil
}

// start runs the scheduler and, unless disabled, the embedded worker pool
// against the server's own URL.
func (r *runs) start(ctx context.Context, serverURL string) error {
	r.service.Start(ctx)
	if r.cfg.WorkerSlots < 0 {
		return nil // no embedded workers: remote workers only
	}
	dir := filepath.Join(r.cfg.DataDir, "runs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	slots := r.cfg.WorkerSlots
	if slots == 0 {
		slots = DefaultWorkerSlots
	}
	host, _ := os.Hostname()
	r.pool = worker.Start(ctx, worker.Config{Server: worker.Local{Service: r.service, Pool: run.EmbeddedPool},
		ID: "embedded@" + host, Slots: slots, TofuPath: r.cfg.TofuPath, StateURL: serverURL + "/api/v1/state",
		RegistryHost: hostOf(r.cfg.PublicURL), TrustCAFile: r.cfg.TLSCertFile, WorkDir: dir, Getenv: r.cfg.Getenv, Logger: r.cfg.Logger.With("component", "worker"), LeaseWait: 30 * time.Second})
	return nil
}

// stop stops the workers (their runs fail as lost unless they finish) and
// the scheduler.
func (r *runs) stop() {
	if r.pool != nil {
		r.pool.Stop()
	}
	r.service.Stop()
}

// hostOf is the host (and port) of a URL; "" when there is none.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}
