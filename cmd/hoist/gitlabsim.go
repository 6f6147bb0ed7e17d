package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/spf13/cobra"
)

// gitlabSimCommand is `hoist gitlab-sim [--listen ADDR] [--data-dir DIR]`:
// the GitLab simulator, until ctx ends. Its subcommands (push, mr, …) are
// clients of a running simulator (gitlabsim_client.go).
func gitlabSimCommand(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	listen := fs.String("listen", "127.0.0.1:8929", "address to listen on (port 0 picks a free port)")
	dataDir := fs.String("data-dir", "./gitlab-sim-data", "directory for the state, repositories and gitlab-sim.json")
	return func(ctx context.Context, _ []string) error {
		logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		sim, err := gitlabsim.New(gitlabsim.Config{DataDir: *dataDir, Logger: logger})
		if err != nil {
			return err
		}
		defer sim.Close()
		url, err := sim.Start(ctx, *listen)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "GitLab simulator at %s\nadmin token and URL written to %s\n", url, filepath.Join(*dataDir, "gitlab-sim.json"))
		<-ctx.Done()
		return sim.Close()
	}
}
