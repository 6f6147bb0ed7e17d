// Package worker executes runs: it leases them from the server (in-process
// for the embedded pool, over HTTP for remote workers), heartbeats, builds
// the workspace from the run's source, runs OpenTofu against Hoist's
// managed state, streams masked logs per phase, and reports the plan and
// the outcome. A worker that loses its lease (the run was stopped, or the
// server gave up on it) kills OpenTofu and drops the run.
//
// OpenTofu and everything it starts run in the sandbox (internal/sandbox):
// they see their own workspace and nothing of the server. Where no sandbox
// can be set up, every run fails with the reason, unless the operator
// opted out (--unsafe-unsandboxed-runs).
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/tofu"
	"github.com/hoistdev/hoist/internal/toolchain"
	"github.com/hoistdev/hoist/internal/workspace"
)

// Server is the worker protocol (run.Service implements it in-process
// through Local; Client over HTTP).
type Server interface {
	Lease(ctx context.Context, owner string, wait time.Duration) (run.Job, bool, error)
	Heartbeat(ctx context.Context, runID, leaseID string) (run.State, error)
	Advance(ctx context.Context, runID, leaseID string, step run.Step) error
	ReportPlan(ctx context.Context, runID, leaseID string, rep run.PlanReport) (apply bool, err error)
	// Finish ends the run; errMsg says why it failed ("" when it did
	// not) and detail is OpenTofu's own error, masked.
	Finish(ctx context.Context, runID, leaseID, errMsg, detail string) error
	// HandBack gives the run back before it changed anything (the worker
	// shuts down), for any worker to take again from the start.
	HandBack(ctx context.Context, runID, leaseID string) error
	AppendLog(ctx context.Context, runID, leaseID, phase, text string) error
	PlanFile(ctx context.Context, runID, leaseID string) ([]byte, error)
	Source(ctx context.Context, runID, leaseID string, w io.Writer) error
}

// Config configures a pool of worker slots.
type Config struct {
	Server Server
	// ID names this worker in leases and histories.
	ID string
	// Slots is how many runs execute at once (default 2).
	Slots int
	// TofuPath is the default OpenTofu binary (--tofu-path), for stacks
	// that pin no version; "" looks on PATH.
	TofuPath string
	// ToolsDir is the tools folder (--tools-dir) with the versions stacks
	// pin (toolchain); "" runs only the default OpenTofu.
	ToolsDir string
	// StateURL is the base URL of the server's state backend:
	// <server>/api/v1/state.
	StateURL string
	// RegistryHost is the host (with its port, if any) module sources name
	// for Hoist's module registry: the server's public host. tofu gets the
	// run's registry credential for it in TF_TOKEN_<host>. Default: the
	// host of StateURL.
	RegistryHost string
	// TrustCAFile is a PEM file of certificates tofu trusts besides the
	// system roots (SSL_CERT_FILE, honoured by tofu on Linux): the server's
	// certificate when a private CA signed it, since OpenTofu discovers
	// module registries over HTTPS only. "" adds nothing.
	TrustCAFile string
	// WorkDir holds the runs' workspaces, one folder each, removed when
	// the run ends (PrepareWorkDir makes it; default DefaultWorkDir).
	WorkDir string
	// Sandbox confines the runs' programs (default: sandbox.New, which
	// refuses runs where it cannot confine them).
	Sandbox *sandbox.Sandbox
	// Hidden are paths the runs must never see even where readable
	// folders include them: the server's data dir.
	Hidden []string
	// Limits cap the source archive (zero: workspace defaults).
	Limits workspace.Limits
	// Getenv reads PATH for tofu (default os.Getenv).
	Getenv func(string) string
	Logger *slog.Logger
	// LeaseWait is how long one lease request waits for a run (default 30s).
	LeaseWait time.Duration
}

// Pool is a running set of worker slots.
type Pool struct {
	cfg         Config
	tools       toolchain.Dir
	sandbox     *sandbox.Sandbox
	log         *slog.Logger
	cancel      context.CancelFunc // cuts the runs in progress
	stopLeasing context.CancelFunc
	wg          sync.WaitGroup

	mu       sync.Mutex
	running  map[*execution]struct{}
	stopping bool // Shutdown began
	// handingBack: every run, and any leased from now on, is handed back
	// unless it is past its point of no return.
	handingBack bool
}

// Start starts cfg.Slots slots that lease and execute runs until Stop.
//
// It fails when the work dir cannot be made safe (PrepareWorkDir). A
// machine where runs cannot be sandboxed is not an error here: the pool
// starts, says so in the log, and fails each run with the reason.
func Start(ctx context.Context, cfg Config) (*Pool, error) {
	if cfg.Slots <= 0 {
		cfg.Slots = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.LeaseWait <= 0 {
		cfg.LeaseWait = 30 * time.Second
	}
	if cfg.Sandbox == nil {
		cfg.Sandbox = NewSandbox(ctx, cfg.TofuPath, cfg.Getenv, false)
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = DefaultWorkDir()
	}
	if abs, err := filepath.Abs(cfg.WorkDir); err == nil {
		// Checked before anything is made there.
		for _, h := range cfg.Hidden {
			if sandbox.Within(h, abs) {
				return nil, fmt.Errorf("the work dir %s is inside %s, which runs must never see: choose a --work-dir outside the data dir", abs, h)
			}
		}
	}
	tools, err := toolchain.Open(cfg.ToolsDir)
	if err != nil {
		return nil, err
	}
	for _, h := range cfg.Hidden {
		if tools.Path() != "" && sandbox.Within(h, tools.Path()) {
			return nil, fmt.Errorf("the tools dir %s is inside %s, which runs must never see: choose a --tools-dir outside the data dir", tools.Path(), h)
		}
	}
	dir, err := PrepareWorkDir(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	cfg.WorkDir = dir
	if cfg.RegistryHost == "" {
		if u, err := url.Parse(cfg.StateURL); err == nil {
			cfg.RegistryHost = u.Host
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	leaseCtx, stopLeasing := context.WithCancel(ctx)
	p := &Pool{cfg: cfg, tools: tools, sandbox: cfg.Sandbox, log: cfg.Logger, cancel: cancel, stopLeasing: stopLeasing,
		running: map[*execution]struct{}{}}
	logSandbox(ctx, cfg.Logger, cfg.Sandbox)
	if tools.Path() != "" {
		cfg.Logger.InfoContext(ctx, "tools folder", "path", tools.Path(),
			"opentofu", tools.Versions(toolchain.OpenTofu), "terraform", tools.Versions(toolchain.Terraform))
	}
	for i := range cfg.Slots {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.slot(leaseCtx, ctx, fmt.Sprintf("%s/%d", cfg.ID, i+1))
		}()
	}
	return p, nil
}

func (p *Pool) slot(leaseCtx, ctx context.Context, owner string) {
	backoff := 100 * time.Millisecond
	for leaseCtx.Err() == nil {
		job, ok, err := p.cfg.Server.Lease(leaseCtx, owner, p.cfg.LeaseWait)
		if err != nil {
			if leaseCtx.Err() != nil {
				return
			}
			p.log.WarnContext(ctx, "lease a run", "worker", owner, "error", err.Error())
			select {
			case <-time.After(backoff):
			case <-leaseCtx.Done():
				return
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if ok {
			p.execute(ctx, owner, job)
		}
	}
}

// errLeaseLost is the cause of a run's context when the server took the
// run away (stopped, canceled, or failed as lost).
var errLeaseLost = errors.New("the server no longer gives this worker the run (stopped, canceled or lost)")

// errHandedBack is the cause of a run's context when the worker shuts down
// and gives the run back.
var errHandedBack = errors.New("the worker is shutting down and hands the run back")

// execute runs one leased job to its end, heartbeating meanwhile.
func (p *Pool) execute(parent context.Context, owner string, job run.Job) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	log := p.log.With("run_id", job.RunID, "worker", owner, "phase", string(job.Phase))
	// Heartbeats go on while OpenTofu stops (up to its grace) and the run
	// is handed back, whatever ended the run's context.
	hbCtx, stopHeartbeat := context.WithCancel(context.WithoutCancel(parent))
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		p.heartbeat(hbCtx, job, cancel)
	}()
	ex := &execution{pool: p, job: job, log: log, logs: newLogSink(p.cfg.Server, job), cancel: cancel}
	p.track(ex)
	defer p.untrack(ex)
	err := ex.run(ctx)
	if err != nil && p.shuttingDown() && !errors.Is(context.Cause(ctx), errLeaseLost) {
		// OpenTofu may have had the signal that stops the worker too
		// (systemd's KillMode=control-group): a plan that fails now is
		// handed back rather than failed; a real failure fails again.
		ex.handBack()
	}
	handedBack := ex.handingBack()
	if handedBack {
		ex.logs.note("the worker is shutting down: the run is handed back, and a worker runs it again from the start")
	}
	ex.logs.close(context.WithoutCancel(ctx))
	cancel(nil)
	lost := errors.Is(context.Cause(ctx), errLeaseLost)
	if handedBack && !lost {
		p.giveBack(parent, job, log)
	}
	stopHeartbeat()
	<-hbDone
	switch {
	case lost:
		log.InfoContext(parent, "run taken from the worker", "error", fmt.Sprint(err))
		return
	case handedBack:
		return
	case parent.Err() != nil:
		return // cut while applying: the lease runs out and the server fails the run as lost
	}
	msg, detail := "", ""
	if err != nil {
		msg = err.Error()
		// tofu's output may hold the stack's secrets, as its log lines do.
		detail = ex.logs.mask.Mask(tofu.Diagnostics(err))
		log.InfoContext(ctx, "run failed", "error", msg)
	}
	if ex.finished {
		return
	}
	if ferr := p.cfg.Server.Finish(context.WithoutCancel(ctx), job.RunID, job.LeaseID, msg, detail); ferr != nil {
		log.WarnContext(ctx, "finish run", "error", ferr.Error())
	}
}

// heartbeat renews the lease every third of its time and cancels the run
// when the server says the worker no longer holds it.
func (p *Pool) heartbeat(ctx context.Context, job run.Job, cancel context.CancelCauseFunc) {
	every := max(job.LeaseTTL()/3, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := p.cfg.Server.Heartbeat(ctx, job.RunID, job.LeaseID)
		if err != nil && ctx.Err() == nil && isConflict(err) {
			cancel(errLeaseLost)
			return
		}
	}
}

// NewSandbox probes the sandbox for runs of the OpenTofu at tofuPath (or on
// PATH): the probe starts `tofu version` in it, which also shows that the
// run's user can execute that binary.
func NewSandbox(ctx context.Context, tofuPath string, getenv func(string) string, allowUnsandboxed bool) *sandbox.Sandbox {
	opts := sandbox.Options{AllowUnsandboxed: allowUnsandboxed}
	if getenv == nil {
		getenv = os.Getenv
	}
	if bin, err := tofu.Find(tofuPath, getenv); err == nil {
		opts.ProbeProgram = []string{bin, "version"}
	}
	return sandbox.New(ctx, opts)
}

// logSandbox says at every start how runs execute; loudly when they are
// refused or not sandboxed.
func logSandbox(ctx context.Context, log *slog.Logger, sb *sandbox.Sandbox) {
	switch {
	case sb.Refusal() != nil:
		log.ErrorContext(ctx, "runs will fail: "+sb.Refusal().Error())
	case !sb.Sandboxed():
		log.WarnContext(ctx, "RUNS ARE NOT SANDBOXED: repository code can read the server's secrets and change its files", "sandbox", sb.String())
	default:
		log.InfoContext(ctx, "runs are sandboxed", "sandbox", sb.String())
	}
}

// DefaultWorkDir is where workspaces go by default: a folder of this user
// in the system temp folder, outside any data dir.
func DefaultWorkDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("hoist-work-%d", os.Geteuid()))
}

// PrepareWorkDir makes dir (DefaultWorkDir when empty) ready for
// workspaces and returns it: a real folder of this user that no one else
// may write, mode 0700 — 0711 when the server is root, whose runs execute
// as an unprivileged user that must reach its own workspace through it
// (each workspace is 0700 and named at random). An existing dir that is a symlink, belongs to someone else or
// is writable by others is refused: another local user could have made it
// to read or swap workspaces.
func PrepareWorkDir(dir string) (string, error) {
	if dir == "" {
		dir = DefaultWorkDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("work dir %s: %w", dir, err)
	}
	// By the server's user, not by the sandbox's state: servers of one
	// user share the default dir, and must not flip its mode.
	mode := os.FileMode(0o700)
	if os.Geteuid() == 0 {
		mode = 0o711
	}
	created := true
	if err := os.Mkdir(abs, mode); errors.Is(err, os.ErrExist) {
		created = false
	} else if err != nil {
		return "", fmt.Errorf("create work dir %s: %w", abs, err)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return "", fmt.Errorf("work dir %s: %w", abs, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("work dir %s is not a folder (a symlink?): refused", abs)
	case ok && int(st.Uid) != os.Geteuid():
		return "", fmt.Errorf("work dir %s belongs to uid %d, not to this user (%d): refused", abs, st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		// An existing folder is never chmod-ed (--work-dir /tmp must not
		// change /tmp): one others can write is refused instead.
		return "", fmt.Errorf("work dir %s can be written by others (mode %04o): refused; give a folder only this user can write", abs, fi.Mode().Perm())
	}
	if created {
		if err := os.Chmod(abs, mode); err != nil { // past the umask
			return "", fmt.Errorf("work dir %s: %w", abs, err)
		}
	}
	if mode == 0o711 {
		// The run's user must reach its workspace through every folder
		// on the way.
		for p := abs; ; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
				return "", fmt.Errorf("work dir %s: runs execute as an unprivileged user, who cannot enter %s (mode %04o): let others traverse it (chmod o+x) or choose another --work-dir, such as the default", abs, p, fi.Mode().Perm())
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	return abs, nil
}
