package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/sandbox"
	"github.com/hoistdev/hoist/internal/worker"
	"github.com/hoistdev/hoist/internal/workspace"
	"github.com/spf13/cobra"
)

// workerCommand is `hoist worker --server URL --pool-token T` (or
// --pool-token-file/--pool-token-env, or HOIST_POOL_TOKEN): a remote
// worker of the pool the token belongs to, until ctx ends, then a graceful
// shutdown within --shutdown-timeout.
func workerCommand(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	server := fs.String("server", "", "the Hoist server's base `URL`")
	envAlias(fs, "server", "HOIST_URL")
	token := fs.String("pool-token", "", "the worker pool's token (prefer --pool-token-file or HOIST_POOL_TOKEN: argv is visible to other users)")
	envAlias(fs, "pool-token", "HOIST_POOL_TOKEN")
	tokenFile := fs.String("pool-token-file", "", "read the pool token from `FILE` (- for stdin)")
	secretFlag(fs, "pool-token", "pool-token-file")
	tokenEnv := fs.String("pool-token-env", "", "read the pool token from the environment variable `NAME` (default HOIST_POOL_TOKEN)")
	slots := fs.Int("slots", 2, "how many runs to execute at once")
	tofuPath := fs.String("tofu-path", "", "the OpenTofu binary of stacks that pin no tool_version (default: tofu on PATH)")
	toolsDir := fs.String("tools-dir", "", "folder of the tool versions stacks may pin: opentofu/<version>/tofu, terraform/<version>/terraform (default: none)")
	workDir := fs.String("work-dir", "", "folder for run workspaces (default: hoist-work-<uid> in the system temp folder)")
	unsafeRuns := fs.Bool("unsafe-unsandboxed-runs", false, "where runs cannot be sandboxed (no Landlock), run them anyway: repository code can then read this machine's files (docs/security.md)")
	maxEntries := fs.Int("max-archive-entries", 0, "cap on the files, folders and links of a run's source archive (default 100000)")
	maxArchive := byteSize(workspace.DefaultMaxBytes)
	fs.Var(&maxArchive, "max-archive-size", "cap on a run's source archive, as received and as extracted (`SIZE`: bytes, or e.g. 1GiB)")
	id := fs.String("id", "", "this worker's name in run histories (default worker@<hostname>)")
	shutdownTimeout := fs.Duration("shutdown-timeout", app.DefaultShutdownTimeout, "on SIGTERM or SIGINT, how long runs in progress get to finish; "+
		"plans not done by half of it are handed back for another worker (docs/ops.md)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if *server == "" {
			return usageError{"worker: --server is required"}
		}
		if *shutdownTimeout < 0 {
			return usageError{"worker: --shutdown-timeout must not be negative"}
		}
		secret, err := readSecret(e, "pool token", *tokenFile, *tokenEnv)
		if err != nil {
			return err
		}
		if secret == "" {
			secret = *token // from --pool-token, HOIST_WORKER_POOL_TOKEN or HOIST_POOL_TOKEN
		}
		if secret == "" {
			return usageError{"worker: give the pool token with --pool-token-file, --pool-token-env, HOIST_POOL_TOKEN or --pool-token"}
		}
		if *id == "" {
			host, _ := os.Hostname()
			*id = "worker@" + host
		}
		// Once, here: runs execute in other folders, and the sandbox starts
		// only absolute programs.
		if err := app.AbsPaths(tofuPath, workDir, toolsDir); err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		base := strings.TrimRight(*server, "/")
		pool, err := worker.Start(ctx, worker.Config{Server: &worker.Client{BaseURL: base, PoolToken: secret, HTTP: e.http}, ID: *id, Slots: *slots,
			TofuPath: *tofuPath, ToolsDir: *toolsDir, StateURL: base + "/api/v1/state", WorkDir: *workDir, Getenv: e.getenv, Logger: logger,
			LeaseWait: 30 * time.Second, Sandbox: worker.NewSandbox(ctx, *tofuPath, e.getenv, *unsafeRuns),
			Limits: workspace.Limits{MaxBytes: int64(maxArchive), MaxEntries: *maxEntries}, Hidden: workerHidden(*tokenFile, secretFiles(cmd))})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Hoist worker %s with %d slots, server %s\n", *id, *slots, base)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
		defer cancel()
		pool.Shutdown(sctx)
		return nil
	}
}

// embeddedSlots maps --worker-slots to app.Config.WorkerSlots, where 0
// means the default and a negative number no embedded workers.
func embeddedSlots(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// workerHidden is what a remote worker's runs must never see: the pool
// token's file and the files of other secrets (its environment is already
// out of reach, in /proc).
func workerHidden(tokenFile string, secretFiles []string) []string {
	if tokenFile == "-" || tokenFile == "/dev/stdin" {
		tokenFile = ""
	}
	return sandbox.RealPaths(append(secretFiles, tokenFile)...)
}
