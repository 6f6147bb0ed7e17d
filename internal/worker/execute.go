package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/registry"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/tofu"
	"github.com/hoistdev/hoist/internal/workspace"
)

func isConflict(err error) bool { return apperr.Is(err, apperr.Conflict) }

// planFile is the saved plan's name inside the project root.
const planFile = "hoist.tfplan"

// maxPlanBytes bounds the saved plan Hoist reads back and stores.
const maxPlanBytes = 256 << 20

// execution is one leased job on its way.
type execution struct {
	pool     *Pool
	job      run.Job
	log      *slog.Logger
	logs     *logSink
	tofu     tofu.Runner
	project  *workspace.Project // the project root inside the workspace
	finished bool               // the server already recorded the end
	cancel   context.CancelCauseFunc

	mu        sync.Mutex
	committed bool // past the point of no return: the plan reported, or APPLYING asked for
	back      bool // being handed back: must not pass the point of no return
}

// folders of one run's workspace, all inside its own folder of the work
// dir. The run's programs write src, home and tmp, and only read hoist
// (Hoist's files for them).
type folders struct {
	root, src, home, tmp, hoist string
}

func newFolders(root string) folders {
	return folders{root: root, src: filepath.Join(root, "src"), home: filepath.Join(root, "home"),
		tmp: filepath.Join(root, "tmp"), hoist: filepath.Join(root, "hoist")}
}

func (ex *execution) run(ctx context.Context) error {
	if err := ex.pool.sandbox.Refusal(); err != nil {
		return err
	}
	root, err := os.MkdirTemp(ex.pool.cfg.WorkDir, "run-")
	if err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	defer func() {
		if err := workspace.Remove(root); err != nil {
			ex.log.WarnContext(ctx, "remove workspace", "error", err.Error())
		}
	}()
	defer func() {
		if ex.project != nil {
			ex.project.Close()
		}
	}()
	switch ex.job.Phase {
	case run.PhaseApply:
		return ex.apply(ctx, newFolders(root))
	case run.PhaseTask:
		return ex.task(ctx, newFolders(root))
	}
	return ex.plan(ctx, newFolders(root))
}

// note is what the worker says in the run's history about how it runs it.
func (ex *execution) note() string {
	if !ex.pool.sandbox.Sandboxed() {
		return run.UnsandboxedNote + ": " + ex.pool.sandbox.String()
	}
	return ex.pool.sandbox.String()
}

// plan: INITIALIZING (workspace, init) → PLANNING → report; with autodeploy
// the server answers "apply" and the same worker applies at once.
func (ex *execution) plan(ctx context.Context, f folders) error {
	s := ex.pool.cfg.Server
	// tofu writes the plan: nothing of the repository may stand there.
	clearPlan := func(p *workspace.Project) error { return p.Clear(planFile) }
	if err := ex.initialize(ctx, f, clearPlan); err != nil {
		return err
	}
	if err := s.Advance(ctx, ex.job.RunID, ex.job.LeaseID, run.Step{To: run.Planning}); err != nil {
		return err
	}
	sink := ex.logs.phase("planning")
	dir := ex.project.Dir
	if err := ex.tofu.Plan(ctx, dir, planFile, tofu.PlanOptions{NoLock: !ex.job.StateWrite}, sink); err != nil {
		return fmt.Errorf("plan failed: %w", err)
	}
	p, err := ex.tofu.Show(ctx, dir, planFile)
	if err != nil {
		return err
	}
	sink(fmt.Sprintf("Hoist: plan %s (import %d), changes: %v", p.Delta, p.Delta.Import, p.HasChanges()))
	rep := run.PlanReport{Delta: run.Delta(p.Delta), HasChanges: p.HasChanges(), Resources: make([]run.Resource, 0, len(p.Resources))}
	if len(p.JSON) <= run.MaxPlanJSON { // for plan policies; larger plans fail them closed on the server
		rep.PlanJSON = p.JSON
	}
	for _, r := range p.Resources {
		res := run.Resource{Address: r.Address, Action: r.Action}
		for _, c := range r.Changes {
			ac := run.AttrChange(c)
			// A value holding one of the run's secrets (not declared
			// sensitive in the code) is dropped whole, as tofu's own
			// sensitive values are: before any cut, so no part leaks.
			if secretIn(ex.logs.mask, ac.Before) || secretIn(ex.logs.mask, ac.After) {
				ac.Before, ac.After, ac.Sensitive = "", "", true
			}
			res.Changes = append(res.Changes, ac)
		}
		rep.Resources = append(rep.Resources, res)
	}
	rep.Resources = run.BoundResources(rep.Resources)
	if rep.HasChanges && ex.job.Type == run.Tracked {
		// Through the project root, refusing a symlink: the run's code
		// may have replaced the plan with one.
		if rep.Plan, err = ex.project.ReadFile(planFile, maxPlanBytes); err != nil {
			return fmt.Errorf("read plan file: %w", err)
		}
	}
	ex.logs.flush(ctx)
	if !ex.commit() {
		return errHandedBack
	}
	apply, err := s.ReportPlan(ctx, ex.job.RunID, ex.job.LeaseID, rep)
	if err != nil {
		return err
	}
	if !apply {
		ex.finished = true
		return nil
	}
	return ex.runApply(ctx)
}

// initialize is the INITIALIZING phase of a plan or a task: the binary
// chosen, the move recorded, the workspace built (then, before any
// program of the run starts) and init run.
func (ex *execution) initialize(ctx context.Context, f folders, then func(*workspace.Project) error) error {
	// Chosen first, so that the run's record says what runs it from
	// INITIALIZING on, and a missing version fails it before any work.
	bin, err := ex.chooseBinary(ctx, "initializing")
	if err != nil {
		return err
	}
	step := run.Step{To: run.Initializing, Note: ex.note(), Binary: bin.Binary}
	if err := ex.pool.cfg.Server.Advance(ctx, ex.job.RunID, ex.job.LeaseID, step); err != nil {
		return err
	}
	return ex.prepare(ctx, f, bin.path, "initializing", then)
}

// task: INITIALIZING (workspace, init) → PERFORMING (the command, with the
// stack's tool in the same sandbox as a plan); the worker's Finish ends
// it. The command's first argument names the tool and is replaced by the
// binary the stack runs with, so a task never picks another program.
func (ex *execution) task(ctx context.Context, f folders) error {
	if err := run.CheckTaskCommand("command", ex.job.Command); err != nil {
		return fmt.Errorf("task: %w", err)
	}
	s := ex.pool.cfg.Server
	if err := ex.initialize(ctx, f, nil); err != nil {
		return err
	}
	if !ex.commit() {
		return errHandedBack
	}
	if err := s.Advance(ctx, ex.job.RunID, ex.job.LeaseID, run.Step{To: run.Performing}); err != nil {
		return err
	}
	sink := ex.logs.phase("performing")
	sink("Hoist: $ " + strings.Join(ex.job.Command, " "))
	if err := ex.tofu.Exec(ctx, ex.project.Dir, sink, ex.job.Command[1:]...); err != nil {
		return fmt.Errorf("task failed: %w", err)
	}
	return nil
}

// apply: PREPARING_APPLY (workspace, init, the confirmed plan) → APPLYING.
func (ex *execution) apply(ctx context.Context, f folders) error {
	bin, err := ex.chooseBinary(ctx, "preparing_apply")
	if err != nil {
		return err
	}
	plan, err := ex.pool.cfg.Server.PlanFile(ctx, ex.job.RunID, ex.job.LeaseID)
	if err != nil {
		return fmt.Errorf("fetch the confirmed plan: %w", err)
	}
	writePlan := func(p *workspace.Project) error { return p.WriteFile(planFile, plan, 0o600) }
	if err := ex.prepare(ctx, f, bin.path, "preparing_apply", writePlan); err != nil {
		return err
	}
	// Recorded once by the server: a run never enters APPLYING twice.
	step := run.Step{To: run.Applying, Note: ex.note(), Binary: bin.Binary}
	if !ex.commit() {
		return errHandedBack
	}
	if err := ex.pool.cfg.Server.Advance(ctx, ex.job.RunID, ex.job.LeaseID, step); err != nil {
		return err
	}
	return ex.runApply(ctx)
}

func (ex *execution) runApply(ctx context.Context) error {
	if err := ex.tofu.Apply(ctx, ex.project.Dir, planFile, ex.logs.phase("applying")); err != nil {
		return fmt.Errorf("apply failed: %w", err)
	}
	return nil
}

// prepare builds the workspace and runs init with the binary bin, logging
// under phase. Every file Hoist writes is written before any program of
// the run starts (then writes before the folders go to the run's user).
func (ex *execution) prepare(ctx context.Context, f folders, bin, phase string, then func(*workspace.Project) error) error {
	sink := ex.logs.phase(phase)
	sb := ex.pool.sandbox
	if sb.Sandboxed() {
		sink("Hoist: " + sb.String())
	} else {
		sink("Hoist: WARNING: this run is NOT sandboxed: its code can read and change everything the server's user can " +
			"(" + sb.String() + ")")
	}
	for _, d := range []string{f.src, f.home, f.tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.Mkdir(f.hoist, 0o755); err != nil {
		return err
	}
	sink(fmt.Sprintf("Hoist: fetching %s at %s", ex.job.Repository, ex.job.CommitSHA))
	if err := ex.fetch(ctx, f.src); err != nil {
		return err
	}
	var err error
	if ex.project, err = workspace.OpenProject(f.src, ex.job.ProjectRoot); err != nil {
		return err
	}
	if err := ex.project.WriteBackendOverride(); err != nil {
		return fmt.Errorf("write backend override: %w", err)
	}
	if then != nil {
		if err := then(ex.project); err != nil {
			return err
		}
	}
	cliConfig, err := workspace.CreateFile(f.hoist, "tofu.tfrc", []byte(tofu.CLIConfig), 0o644)
	if err != nil {
		return err
	}
	vars, err := ex.tofuVars(f.hoist)
	if err != nil {
		return err
	}
	if err := ex.handOver(f); err != nil {
		return err
	}
	policy := sandbox.Policy{Writable: []string{f.src, f.home, f.tmp}, Readable: []string{f.hoist, bin},
		Hidden: ex.pool.cfg.Hidden}
	ex.tofu = tofu.Runner{Path: bin, Env: tofu.Env(tofu.EnvConfig{Path: ex.pool.cfg.Getenv("PATH"), Home: f.home, TmpDir: f.tmp,
		CLIConfigFile: cliConfig, Vars: vars}), WrapFunc: func(cmd *exec.Cmd) error { return sb.Wrap(cmd, policy) }}
	if err := ex.tofu.Init(ctx, ex.project.Dir, sink); err != nil {
		return fmt.Errorf("init failed: %w", err)
	}
	return nil
}

// handOver gives the run's folders to the run's user when the sandbox runs
// programs as another user than the server's.
func (ex *execution) handOver(f folders) error {
	uid, gid, chown := ex.pool.sandbox.Owner()
	if !chown {
		return nil
	}
	if err := os.Lchown(f.root, uid, gid); err != nil {
		return fmt.Errorf("give the workspace to the run's user: %w", err)
	}
	for _, d := range []string{f.src, f.home, f.tmp} {
		if err := workspace.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("give the workspace to the run's user: %w", err)
		}
	}
	return nil
}

// tofuVars are the run's own variables for tofu: the state backend's
// addresses and credentials, the registry credential, the trust bundle,
// then the stack's variables (which may not name TF_HTTP_*).
func (ex *execution) tofuVars(hoistDir string) ([]string, error) {
	// The addresses are this worker's, given at every phase: a plan saved by
	// one server is applied through whichever server applies it
	// (WriteBackendOverride).
	state := ex.pool.cfg.StateURL + "/" + ex.job.StackID
	vars := []string{"TF_HTTP_ADDRESS=" + state, "TF_HTTP_LOCK_ADDRESS=" + state + "/lock",
		"TF_HTTP_UNLOCK_ADDRESS=" + state + "/lock",
		"TF_HTTP_USERNAME=" + ex.job.StateUser, "TF_HTTP_PASSWORD=" + ex.job.StateToken}
	if host := ex.pool.cfg.RegistryHost; host != "" {
		// Modules from Hoist's registry: the lease's credential, valid while
		// the lease is, reading what the stack's space can read.
		vars = append(vars, registry.TokenEnvName(host)+"="+registry.RunToken(ex.job.RunID, ex.job.StateToken))
	}
	if ca := ex.pool.cfg.TrustCAFile; ca != "" {
		bundle, err := writeTrustBundle(hoistDir, ca, ex.pool.cfg.Getenv)
		if err != nil {
			return nil, err
		}
		vars = append(vars, "SSL_CERT_FILE="+bundle)
	}
	for _, v := range ex.job.Env {
		vars = append(vars, v.Name+"="+v.Value)
	}
	return vars, nil
}

// errExtracted stops a source download that extraction no longer reads:
// the archive ended (its padding is not needed) or was refused.
var errExtracted = errors.New("extraction stopped reading the source")

// fetch streams the source archive from the server straight into the
// extraction: nothing lands on disk but what extraction accepts, a cap
// stops the download, and so does a stopped run (ctx).
func (ex *execution) fetch(ctx context.Context, dest string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ex.pool.cfg.Server.Source(ctx, ex.job.RunID, ex.job.LeaseID, pw)
		pw.CloseWithError(err) // nil: extraction reads EOF
		done <- err
	}()
	xerr := workspace.Extract(pr, dest, ex.pool.cfg.Limits)
	pr.CloseWithError(errExtracted)
	cancel()
	serr := <-done
	if xerr == nil {
		return nil
	}
	var capErr *workspace.CapError
	var entryErr *workspace.EntryError
	if serr != nil && !errors.Is(serr, errExtracted) && !errors.As(xerr, &capErr) && !errors.As(xerr, &entryErr) {
		return fmt.Errorf("fetch source: %w", serr)
	}
	return xerr
}

// secretIn reports whether a JSON value holds a secret the masker knows:
// in its text, or in any string inside it once JSON's escapes (\u0026 for
// "&", \" …) are undone.
func secretIn(m run.Masker, value string) bool {
	if value == "" {
		return false
	}
	if m.Mask(value) != value {
		return true
	}
	var v any
	if json.Unmarshal([]byte(value), &v) != nil {
		return false
	}
	var found bool
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			found = found || m.Mask(x) != x
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		}
	}
	walk(v)
	return found
}
