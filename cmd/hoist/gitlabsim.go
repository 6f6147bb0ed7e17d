package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// runGitlabSim is `hoist gitlab-sim [--listen ADDR] [--data-dir DIR]`: the
// GitLab simulator, until ctx ends.
func runGitlabSim(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return runGitlabSimClient(ctx, e, args) // push, mr, …: clients of a running simulator
	}
	fs := flag.NewFlagSet("gitlab-sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:8929", "address to listen on (port 0 picks a free port)")
	dataDir := fs.String("data-dir", "./gitlab-sim-data", "directory for the state, repositories and gitlab-sim.json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("gitlab-sim: unexpected argument %q", fs.Arg(0))}
	}
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
