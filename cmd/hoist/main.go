// Command hoist is Hoist's single binary: the server, workers, agents, the
// GitLab simulator and the client commands.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
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

// commands is the tree under `hoist`, built per call (no package state);
// each file of this package holds the commands it owns.
func commands() []spec {
	return []spec{
		{name: "gitlab-sim", summary: "run the GitLab simulator; push, mr, statuses, notes: act on a running one",
			synopsis: "[--listen ADDR] [--data-dir DIR]", define: gitlabSimCommand, subs: gitlabSimClientCommands()},
		group("integration", "manage VCS integrations (GitLab)", integrationCommands()...),
		group("space", "manage spaces", spaceCommands()...),
		group("api-key", "manage API keys and their roles", apiKeyCommands()...),
		group("role-mapping", "manage role mappings: roles from groups at an OpenID Connect issuer", roleMappingCommands()...),
		group("user", "manage users, their roles and passwords", userCommands()...),
		group("audit", "read the audit log", auditCommands()...),
		leaf("server", "run the Hoist server", serverSynopsis, longRunning(serverCommand)),
		group("module", "manage modules and their versions (module registry)", moduleCommands()...),
		group("policy", "manage policies as code (Rego): push and plan policies", policyCommands()...),
		group("notification-target", "manage notification targets (webhooks, Slack) and their delivery log", notificationTargetCommands()...),
		group("stack", "manage stacks", stackCommands()...),
		group("delivery", "list, show and redeliver GitLab webhook deliveries", deliveryCommands()...),
		leaf("worker", "run a remote worker of a worker pool",
			"--server URL (--pool-token-file F | --pool-token-env V | --pool-token T) [flags]", longRunning(workerCommand)),
		group("run", "trigger, follow, confirm, discard and stop runs", runCommands()...),
		leaf("vcs-agent", "carry Hoist's GitLab API calls into a private network (run it there)",
			"--server URL --target-base-endpoint URL --vendor gitlab [flags]", longRunning(vcsAgentCommand)),
		group("vcs-agent-pool", "manage VCS agent pools and their tokens", vcsAgentPoolCommands()...),
		leaf("version", "print the module version and VCS commit of this binary", "", versionCommand),
	}
}

// run runs one command line. Everything it writes goes through a
// termWriter (term.go), so no command prints terminal control sequences it
// got from the server; cobra's help and completion scripts too.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	return runEnv(ctx, env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}, args)
}

// runEnv is run with everything given in in; its writers are wrapped.
func runEnv(ctx context.Context, in env, args []string) error {
	out, errOut := newTermWriter(in.stdout), newTermWriter(in.stderr)
	defer errOut.Flush()
	defer out.Flush()
	e := &env{stdin: in.stdin, stdout: out, stderr: errOut, getenv: in.getenv, http: in.http}
	return execute(ctx, newRoot(e, versionLine(debug.ReadBuildInfo()), commands()), args)
}
