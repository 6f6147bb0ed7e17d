package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/registry"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/tofu"
	"github.com/hoistdev/hoist/internal/workspace"
)

func isConflict(err error) bool { return apperr.Is(err, apperr.Conflict) }

// planFile is the saved plan's name inside the project root.
const planFile = "hoist.tfplan"

// execution is one leased job on its way.
type execution struct {
	pool     *Pool
	job      run.Job
	log      *slog.Logger
	logs     *logSink
	tofu     tofu.Runner
	dir      string // the project root inside the workspace
	finished bool   // the server already recorded the end
}

func (ex *execution) run(ctx context.Context) error {
	if ex.job.Phase == run.PhaseTask {
		return fmt.Errorf("tasks are not supported by this worker yet")
	}
	root, err := os.MkdirTemp(ex.pool.cfg.WorkDir, "hoist-run-")
	if err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	defer os.RemoveAll(root)
	if ex.job.Phase == run.PhaseApply {
		return ex.apply(ctx, root)
	}
	return ex.plan(ctx, root)
}

// plan: INITIALIZING (workspace, init) → PLANNING → report; with autodeploy
// the server answers "apply" and the same worker applies at once.
func (ex *execution) plan(ctx context.Context, root string) error {
	s := ex.pool.cfg.Server
	if err := s.Advance(ctx, ex.job.RunID, ex.job.LeaseID, run.Initializing); err != nil {
		return err
	}
	if err := ex.prepare(ctx, root, "initializing"); err != nil {
		return err
	}
	if err := s.Advance(ctx, ex.job.RunID, ex.job.LeaseID, run.Planning); err != nil {
		return err
	}
	sink := ex.logs.phase("planning")
	if err := ex.tofu.Plan(ctx, ex.dir, planFile, tofu.PlanOptions{NoLock: !ex.job.StateWrite}, sink); err != nil {
		return fmt.Errorf("plan failed: %w", err)
	}
	p, err := ex.tofu.Show(ctx, ex.dir, planFile)
	if err != nil {
		return err
	}
	sink(fmt.Sprintf("Hoist: plan %s (import %d), changes: %v", p.Delta, p.Delta.Import, p.HasChanges()))
	rep := run.PlanReport{Delta: run.Delta(p.Delta), HasChanges: p.HasChanges(), Resources: make([]run.Resource, 0, len(p.Resources))}
	for _, r := range p.Resources {
		rep.Resources = append(rep.Resources, run.Resource{Address: r.Address, Action: r.Action})
	}
	if rep.HasChanges && ex.job.Type == run.Tracked {
		if rep.Plan, err = os.ReadFile(filepath.Join(ex.dir, planFile)); err != nil {
			return fmt.Errorf("read plan file: %w", err)
		}
	}
	ex.logs.flush(ctx)
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

// apply: PREPARING_APPLY (workspace, init, the confirmed plan) → APPLYING.
func (ex *execution) apply(ctx context.Context, root string) error {
	if err := ex.prepare(ctx, root, "preparing_apply"); err != nil {
		return err
	}
	plan, err := ex.pool.cfg.Server.PlanFile(ctx, ex.job.RunID, ex.job.LeaseID)
	if err != nil {
		return fmt.Errorf("fetch the confirmed plan: %w", err)
	}
	if err := os.WriteFile(filepath.Join(ex.dir, planFile), plan, 0o600); err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	// Recorded once by the server: a run never enters APPLYING twice.
	if err := ex.pool.cfg.Server.Advance(ctx, ex.job.RunID, ex.job.LeaseID, run.Applying); err != nil {
		return err
	}
	return ex.runApply(ctx)
}

func (ex *execution) runApply(ctx context.Context) error {
	if err := ex.tofu.Apply(ctx, ex.dir, planFile, ex.logs.phase("applying")); err != nil {
		return fmt.Errorf("apply failed: %w", err)
	}
	return nil
}

// prepare builds the workspace and runs tofu init, logging under phase.
func (ex *execution) prepare(ctx context.Context, root, phase string) error {
	sink := ex.logs.phase(phase)
	bin, err := tofu.Find(ex.pool.cfg.TofuPath, ex.pool.cfg.Getenv)
	if err != nil {
		return err
	}
	src := filepath.Join(root, "src")
	home := filepath.Join(root, "home")
	for _, d := range []string{src, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	sink(fmt.Sprintf("Hoist: fetching %s at %s", ex.job.Repository, ex.job.CommitSHA))
	if err := ex.fetch(ctx, src); err != nil {
		return err
	}
	if ex.dir, err = workspace.ProjectDir(src, ex.job.ProjectRoot); err != nil {
		return err
	}
	if err := workspace.WriteBackendOverride(ex.dir, ex.pool.cfg.StateURL+"/"+ex.job.StackID); err != nil {
		return fmt.Errorf("write backend override: %w", err)
	}
	cliConfig, err := tofu.WriteCLIConfig(home)
	if err != nil {
		return err
	}
	vars, err := ex.tofuVars(home)
	if err != nil {
		return err
	}
	ex.tofu = tofu.Runner{Path: bin, Env: tofu.Env(tofu.EnvConfig{Path: ex.pool.cfg.Getenv("PATH"), Home: home,
		CLIConfigFile: cliConfig, Vars: vars})}
	if err := ex.tofu.Init(ctx, ex.dir, sink); err != nil {
		return fmt.Errorf("init failed: %w", err)
	}
	return nil
}

// tofuVars are the run's own variables for tofu: the state backend's
// credentials, the registry credential, the trust bundle, then the stack's
// variables.
func (ex *execution) tofuVars(home string) ([]string, error) {
	vars := []string{"TF_HTTP_USERNAME=" + ex.job.StateUser, "TF_HTTP_PASSWORD=" + ex.job.StateToken}
	if host := ex.pool.cfg.RegistryHost; host != "" {
		// Modules from Hoist's registry: the lease's credential, valid while
		// the lease is, reading what the stack's space can read.
		vars = append(vars, registry.TokenEnvName(host)+"="+registry.RunToken(ex.job.RunID, ex.job.StateToken))
	}
	if ca := ex.pool.cfg.TrustCAFile; ca != "" {
		bundle, err := writeTrustBundle(home, ca, ex.pool.cfg.Getenv)
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

// fetch downloads the source archive through the server and extracts it.
func (ex *execution) fetch(ctx context.Context, dest string) error {
	f, err := os.CreateTemp(filepath.Dir(dest), "source-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := ex.pool.cfg.Server.Source(ctx, ex.job.RunID, ex.job.LeaseID, f); err != nil {
		return fmt.Errorf("fetch source: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return workspace.Extract(f, dest)
}
