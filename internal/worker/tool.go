package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/tofu"
	"github.com/hoistdev/hoist/internal/toolchain"
	"github.com/hoistdev/hoist/internal/workspace"
)

// versionTimeout bounds asking a binary its version.
const versionTimeout = 30 * time.Second

// binary is what executes a run: the tool with the version the binary
// reports, and the binary's real path.
type binary struct {
	run.Binary
	path string
}

// chooseBinary finds the binary a job asks for — the stack's pinned
// version in the tools folder, else the default OpenTofu — and asks it
// its version. A pinned version whose binary reports another fails the
// run: the folder's name is not what runs.
func (p *Pool) chooseBinary(ctx context.Context, job run.Job) (binary, error) {
	tool := job.Tool
	if tool == "" {
		tool = toolchain.OpenTofu
	}
	want := toolchain.NormalizeVersion(job.ToolVersion)
	var path string
	switch {
	case want != "":
		var err error
		if path, err = p.tools.Binary(tool, want); err != nil {
			return binary{}, fmt.Errorf("this worker cannot run the stack's %s %s: %w", toolchain.Title(tool), want, err)
		}
	case tool != toolchain.OpenTofu:
		return binary{}, fmt.Errorf("%s runs need a tool_version from the tools folder; without one, workers run only their default OpenTofu",
			toolchain.Title(tool))
	default:
		found, err := tofu.Find(p.cfg.TofuPath, p.cfg.Getenv)
		if err != nil {
			return binary{}, err
		}
		if path, err = filepath.EvalSymlinks(found); err != nil {
			return binary{}, fmt.Errorf("resolve %s: %w", found, err)
		}
	}
	got, err := p.version(ctx, path)
	if err != nil {
		return binary{}, fmt.Errorf("ask %s %s its version: %w", toolchain.Title(tool), path, err)
	}
	got = toolchain.NormalizeVersion(got)
	if want != "" && got != want {
		return binary{}, fmt.Errorf("the tools folder's %s/%s holds a binary that reports version %s, not %s: fix the tools folder",
			tool, want, got, want)
	}
	return binary{Binary: run.Binary{Tool: tool, Version: got}, path: path}, nil
}

// version runs `<path> version -json` the way runs run it: in the sandbox,
// as the run's user, in a scratch folder of the work dir. So it also
// shows that the run's user may execute the binary.
func (p *Pool) version(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(p.cfg.WorkDir, "version-")
	if err != nil {
		return "", fmt.Errorf("create a scratch folder: %w", err)
	}
	defer func() { _ = workspace.Remove(dir) }()
	cliConfig, err := workspace.CreateFile(dir, "tofu.tfrc", []byte(tofu.CLIConfig), 0o644)
	if err != nil {
		return "", err
	}
	if uid, gid, chown := p.sandbox.Owner(); chown {
		if err := os.Lchown(dir, uid, gid); err != nil {
			return "", fmt.Errorf("give the scratch folder to the run's user: %w", err)
		}
	}
	policy := sandbox.Policy{Writable: []string{dir}, Readable: []string{path}, Hidden: p.cfg.Hidden}
	r := tofu.Runner{Path: path, Env: tofu.Env(tofu.EnvConfig{Path: p.cfg.Getenv("PATH"), Home: dir, CLIConfigFile: cliConfig}),
		WrapFunc: func(cmd *exec.Cmd) error { return p.sandbox.Wrap(cmd, policy) }}
	return r.Version(ctx, dir)
}

// chooseBinary is Pool.chooseBinary saying in the run's log, under phase,
// what runs the run.
func (ex *execution) chooseBinary(ctx context.Context, phase string) (binary, error) {
	sink := ex.logs.phase(phase)
	b, err := ex.pool.chooseBinary(ctx, ex.job)
	if err != nil {
		sink("Hoist: " + err.Error())
		return binary{}, err
	}
	sink(fmt.Sprintf("Hoist: %s %s (%s)", toolchain.Title(b.Tool), b.Version, b.path))
	return b, nil
}
