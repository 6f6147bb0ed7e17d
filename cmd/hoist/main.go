// Command hoist is Hoist's single binary: the server, workers, agents, the
// GitLab simulator and the client commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/hoistdev/hoist/internal/sandbox"
)

func main() {
	// `hoist sandbox-exec`, the step between the server and a run's
	// OpenTofu (internal/sandbox): never listed, never returns.
	sandbox.Dispatch()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		printError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// printError is how main reports a failed command. Error messages often
// quote the server's (an API error, a name it refused), so they pass
// through termSafe like all other output.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "hoist:", termSafe(err.Error()))
}

// env is what every command gets instead of touching os directly, so that
// tests run the real program in-process. stdout and stderr are
// termWriters.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// http sends the client commands' calls to the server; nil is the API
	// client's own. Tests give one whose answers are checked against the
	// API contract (internal/api/apitest).
	http *http.Client
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is built per call (no package state); each file of this package
// adds the commands it owns.
func commands() map[string]command {
	return map[string]command{
		"gitlab-sim":     {"run the GitLab simulator; push, mr, statuses, notes: act on a running one", runGitlabSim},
		"integration":    {"manage VCS integrations (GitLab)", runIntegration},
		"space":          {"manage spaces", runSpace},
		"api-key":        {"manage API keys and their roles", runAPIKey},
		"user":           {"manage users, their roles and passwords", runUser},
		"audit":          {"read the audit log", runAudit},
		"server":         {"run the Hoist server", runServer},
		"module":         {"manage modules and their versions (module registry)", runModule},
		"stack":          {"manage stacks", runStack},
		"delivery":       {"list, show and redeliver GitLab webhook deliveries", runDelivery},
		"worker":         {"run a remote worker of a worker pool", runWorker},
		"run":            {"trigger, follow, confirm, discard and stop runs", runRun},
		"vcs-agent":      {"carry Hoist's GitLab API calls into a private network (run it there)", runVCSAgent},
		"vcs-agent-pool": {"manage VCS agent pools and their tokens", runVCSAgentPool},
	}
}

// run runs one command. Everything it writes goes through a termWriter
// (term.go), so no command prints terminal control sequences it got from
// the server.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	return runEnv(ctx, env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}, args)
}

// runEnv is run with everything given in in; its writers are wrapped.
func runEnv(ctx context.Context, in env, args []string) error {
	out, errOut := newTermWriter(in.stdout), newTermWriter(in.stderr)
	defer errOut.Flush()
	defer out.Flush()
	e := &env{stdin: in.stdin, stdout: out, stderr: errOut, getenv: in.getenv, http: in.http}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.stderr, cmds)
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		printUsage(e.stderr, cmds)
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	return c.run(ctx, e, args[1:])
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: hoist <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
