package main

// The command line itself (command.go, envflag.go): flags anywhere,
// Go-style single-dash long flags, the environment rule, help on stdout,
// usage errors on stderr, suggestions, and shell completion. A probe
// command records what it was given; the real tree is checked for the
// variables the docs name.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// probe is what the test command `hoist grp cmd` was given.
type probe struct {
	args                     []string
	url, token, output, name string
	labels                   listFlag
	count                    int
	on                       bool
}

func probeSpecs(p *probe) []spec {
	define := func(e *env, cmd *cobra.Command) runFunc {
		cf := addClientFlags(cmd)
		fs := cmd.Flags()
		fs.Var(&p.labels, "label", "a label (repeatable)")
		fs.StringVar(&p.name, "name", "", "a name")
		envAlias(fs, "name", "OLD_NAME")
		fs.IntVar(&p.count, "count", 0, "a number")
		fs.BoolVar(&p.on, "on", false, "a switch")
		return func(_ context.Context, args []string) error {
			p.args, p.url, p.token, p.output = args, cf.url, cf.token, cf.output
			return nil
		}
	}
	return []spec{group("grp", "a group", leaf("cmd", "a command", "[ARG]...", define))}
}

// runProbe runs `hoist grp cmd args…` with the environment vars.
func runProbe(t *testing.T, vars map[string]string, args ...string) (*probe, string, error) {
	t.Helper()
	p := &probe{}
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	err := execute(context.Background(), newRoot(e, "test", probeSpecs(p)), append([]string{"grp", "cmd"}, args...))
	return p, stderr.String(), err
}

func TestParseArgsInterleaved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		pos     []string
		output  string
		labels  []string
		on      bool
		wantErr bool
	}{
		{args: []string{"acme", "-o", "json"}, pos: []string{"acme"}, output: "json"},
		{args: []string{"-o", "json", "acme"}, pos: []string{"acme"}, output: "json"},
		{args: []string{"--label", "a", "x", "--label=b", "y"}, pos: []string{"x", "y"}, output: "table", labels: []string{"a", "b"}},
		{args: []string{"x", "--", "-o", "json"}, pos: []string{"x", "-o", "json"}, output: "table"},
		{args: []string{"--nope"}, wantErr: true},
		// What Go's flag package accepted keeps working.
		{args: []string{"-label", "a", "x", "-label=b"}, pos: []string{"x"}, output: "table", labels: []string{"a", "b"}},
		{args: []string{"-output", "json"}, output: "json"},
		{args: []string{"--o", "json"}, output: "json"},
		{args: []string{"-o=json"}, output: "json"},
		{args: []string{"-ojson"}, output: "json"},
		{args: []string{"-on", "x"}, pos: []string{"x"}, output: "table", on: true},
		{args: []string{"-nope"}, wantErr: true},
		// A value is never taken for a flag.
		{args: []string{"-label", "-name", "x"}, pos: []string{"x"}, output: "table", labels: []string{"-name"}},
		{args: []string{"--label", "-o", "x"}, pos: []string{"x"}, output: "table", labels: []string{"-o"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			p, stderr, err := runProbe(t, nil, tt.args...)
			if tt.wantErr {
				var u usageError
				if !errors.As(err, &u) || exitCode(err) != 2 || !strings.Contains(stderr, "usage: hoist grp cmd") {
					t.Fatalf("err = %v, stderr %q; want a usage error with the usage on stderr", err, stderr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.args) == 0 {
				p.args = nil
			}
			if !reflect.DeepEqual(p.args, tt.pos) || p.output != tt.output || !reflect.DeepEqual([]string(p.labels), tt.labels) || p.on != tt.on {
				t.Fatalf("pos %q output %q labels %q on %v", p.args, p.output, p.labels, p.on)
			}
		})
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want probe
	}{
		{"command flag", map[string]string{"HOIST_GRP_CMD_NAME": "from-env"}, nil, probe{name: "from-env"}},
		{"command line wins", map[string]string{"HOIST_GRP_CMD_NAME": "from-env"}, []string{"--name", "cli"}, probe{name: "cli"}},
		{"alias", map[string]string{"OLD_NAME": "old"}, nil, probe{name: "old"}},
		{"rule before alias", map[string]string{"OLD_NAME": "old", "HOIST_GRP_CMD_NAME": "new"}, nil, probe{name: "new"}},
		{"shared client flags", map[string]string{"HOIST_URL": "http://h", "HOIST_TOKEN": "k", "HOIST_OUTPUT": "json"}, nil,
			probe{url: "http://h", token: "k", output: "json"}},
		{"typed flags", map[string]string{"HOIST_GRP_CMD_COUNT": "3", "HOIST_GRP_CMD_ON": "true"}, nil, probe{count: 3, on: true}},
		{"one value for a repeatable flag", map[string]string{"HOIST_GRP_CMD_LABEL": "a,b"}, nil, probe{labels: listFlag{"a,b"}}},
		{"trimmed, empty is unset", map[string]string{"HOIST_GRP_CMD_NAME": " x \n", "HOIST_URL": " "}, nil, probe{name: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, _, err := runProbe(t, tt.vars, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.output == "" {
				tt.want.output = "table"
			}
			p.args = nil
			if !reflect.DeepEqual(*p, tt.want) {
				t.Fatalf("got %+v, want %+v", *p, tt.want)
			}
		})
	}
}

// TestBadEnvValueIsNamedNotQuoted: a variable that does not parse is a
// usage error naming the variable; its value (maybe a secret) is not shown.
func TestBadEnvValueIsNamedNotQuoted(t *testing.T) {
	t.Parallel()
	_, stderr, err := runProbe(t, map[string]string{"HOIST_GRP_CMD_COUNT": "s3cr3t"})
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "$HOIST_GRP_CMD_COUNT") || strings.Contains(err.Error()+stderr, "s3cr3t") {
		t.Fatalf("err = %v, stderr %q", err, stderr)
	}
}

// TestDocumentedEnvVars: every variable the docs named before the rule
// still sets its flag, by the rule or as an alias.
func TestDocumentedEnvVars(t *testing.T) {
	t.Parallel()
	root := newRoot(&env{getenv: func(string) string { return "" }}, "test", commands())
	for _, tt := range []struct{ path, flag, variable string }{
		{"stack list", "url", "HOIST_URL"},
		{"integration gitlab create", "token", "HOIST_TOKEN"},
		{"server", "database-url", "HOIST_DATABASE_URL"},
		{"worker", "server", "HOIST_URL"},
		{"worker", "pool-token", "HOIST_POOL_TOKEN"},
		{"vcs-agent", "server", "HOIST_VCS_AGENT_SERVER"},
		{"vcs-agent", "server", "HOIST_URL"},
		{"vcs-agent", "pool-token", "HOIST_VCS_AGENT_POOL_TOKEN"},
		{"vcs-agent", "pool-token-file", "HOIST_VCS_AGENT_POOL_TOKEN_FILE"},
		{"vcs-agent", "target-base-endpoint", "HOIST_VCS_AGENT_TARGET_BASE_ENDPOINT"},
		{"vcs-agent", "vendor", "HOIST_VCS_AGENT_VENDOR"},
		{"vcs-agent", "allowed-projects", "HOIST_VCS_AGENT_ALLOWED_PROJECTS"},
		{"vcs-agent", "parallelism", "HOIST_VCS_AGENT_PARALLELISM"},
		{"vcs-agent", "name", "HOIST_VCS_AGENT_NAME"},
		{"vcs-agent", "server-ca-file", "HOIST_VCS_AGENT_SERVER_CA_FILE"},
		{"vcs-agent", "target-ca-file", "HOIST_VCS_AGENT_TARGET_CA_FILE"},
		{"gitlab-sim push", "url", "HOIST_GITLAB_SIM_URL"},
		{"gitlab-sim mr merge", "token", "HOIST_GITLAB_SIM_TOKEN"},
		{"stack create", "tool-version", "HOIST_STACK_CREATE_TOOL_VERSION"},
	} {
		c, _, err := root.Find(strings.Fields(tt.path))
		if err != nil || cmdName(c) != tt.path {
			t.Fatalf("no command %q: %v", tt.path, err)
		}
		f := c.Flags().Lookup(tt.flag)
		if f == nil || !slices.Contains(envNames(c, f), tt.variable) {
			t.Errorf("hoist %s --%s does not read $%s", tt.path, tt.flag, tt.variable)
		}
	}
}

// TestEnvNamesAreUnambiguous: no variable — the rule's, a bare
// HOIST_<FLAG>, an alias, a secret's …_FILE — sets two flags of different
// meaning, and none is a variable Hoist reads for something else. A
// family's shared flag is one flag; the bare names that several
// long-running commands share are listed here, each a deliberate choice.
func TestEnvNamesAreUnambiguous(t *testing.T) {
	t.Parallel()
	root := newRoot(&env{getenv: func(string) string { return "" }}, "test", commands())
	shared := map[string][]string{ // one meaning for all of them
		"HOIST_URL":                     {"--url", "worker --server", "vcs-agent --server"}, // the Hoist server's URL
		"HOIST_SERVER":                  {"worker --server", "vcs-agent --server"},
		"HOIST_TOFU_PATH":               {"server --tofu-path", "worker --tofu-path"},
		"HOIST_TOOLS_DIR":               {"server --tools-dir", "worker --tools-dir"},
		"HOIST_WORK_DIR":                {"server --work-dir", "worker --work-dir"}, // workspaces are named at random
		"HOIST_UNSAFE_UNSANDBOXED_RUNS": {"server --unsafe-unsandboxed-runs", "worker --unsafe-unsandboxed-runs"},
		"HOIST_MAX_ARCHIVE_ENTRIES":     {"server --max-archive-entries", "worker --max-archive-entries"},
		"HOIST_MAX_ARCHIVE_SIZE":        {"server --max-archive-size", "worker --max-archive-size"},
		"HOIST_SHUTDOWN_TIMEOUT":        {"server --shutdown-timeout", "worker --shutdown-timeout"}, // how long a stop may take
	}
	meanings := map[string][]string{"HOIST_SANDBOX_EXEC": {"the sandbox"}, "HOIST_TEST_POSTGRES": {"the tests"}}
	add := func(name, who string) {
		if !slices.Contains(meanings[name], who) {
			meanings[name] = append(meanings[name], who)
		}
	}
	eachCommand(root, func(c *cobra.Command) {
		for _, f := range envFlags(c) {
			scope := cmdName(c)
			if s, ok := f.Annotations[envScopeKey]; ok {
				scope = s[0]
			}
			who := strings.TrimSpace(scope + " --" + f.Name)
			for _, n := range envNames(c, f) {
				add(n, who)
			}
			for _, n := range fileEnvNames(c, f) {
				add(n, who+" (file)")
			}
			if v := f.Annotations[secretKey]; len(v) == 1 && v[0] != "" {
				// The secret's …_FILE names are those of its file flag.
				var want []string
				for _, n := range envNames(c, f) {
					want = append(want, n+"_FILE")
				}
				if got := envNames(c, c.Flags().Lookup(v[0])); !slices.Equal(got, want) {
					t.Errorf("%s: --%s reads %q, want the …_FILE names of --%s %q", cmdName(c), v[0], got, f.Name, want)
				}
			}
		}
	})
	for name, who := range meanings {
		slices.Sort(who)
		want := slices.Sorted(slices.Values(shared[name]))
		if len(who) > 1 && !slices.Equal(who, want) {
			t.Errorf("$%s sets %q", name, who)
		}
		if want != nil && !slices.Equal(who, want) {
			t.Errorf("$%s sets %q, want %q", name, who, want)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{"HOIST_TOKEN": "s3cr3t-token", "HOIST_POOL_TOKEN": "s3cr3t-pool",
		"HOIST_VCS_AGENT_POOL_TOKEN": "s3cr3t-agent", "HOIST_DATABASE_URL": "postgres://u:s3cr3t-db@h/d",
		"HOIST_GITLAB_SIM_TOKEN": "s3cr3t-sim"}
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"}, {"help", "stack", "create"}, {"stack", "-h"}, {"stack", "help"},
		{"stack", "create", "-h"}, {"stack", "create", "-help"}, {"stack", "create", "--h"}, {"vcs-agent", "--help"}, {"worker", "-h"},
		{"server", "-h"}, {"gitlab-sim", "-h"}, {"gitlab-sim", "push", "-h"}, {"integration", "gitlab", "create", "-h"},
	} {
		stdout, stderr, err := runLocal(t, "", secrets, args...)
		if err != nil || !strings.Contains(stdout, "usage: hoist") || stderr != "" {
			t.Errorf("hoist %s: err %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "s3cr3t") {
			t.Errorf("hoist %s prints a secret from the environment", strings.Join(args, " "))
		}
	}
}

func TestUsageErrorsGoToStderr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "no command given"},
		{[]string{"stak"}, `unknown command "stak"; did you mean "stack"?`},
		{[]string{"stak", "list", "--space", "x"}, `did you mean "stack"?`},
		{[]string{"stack", "lsit"}, `stack: unknown subcommand "lsit"; did you mean "list"?`},
		{[]string{"integration", "gitlab", "craete"}, `did you mean "create"?`},
		{[]string{"gitlab-sim", "psuh"}, `gitlab-sim: unknown subcommand "psuh"; did you mean "push"?`},
		{[]string{"stack", "list", "--spce", "x"}, `unknown flag: --spce; did you mean "--space"?`},
		{[]string{"space", "create", "--name"}, "flag needs an argument"},
		{[]string{"completion", "tcsh"}, `unknown subcommand "tcsh"`},
	} {
		stdout, stderr, err := runLocal(t, "", nil, tt.args...)
		var u usageError
		if !errors.As(err, &u) || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("hoist %s: err = %v, want a usage error containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
		if stdout != "" || !strings.Contains(stderr, "usage: hoist") {
			t.Errorf("hoist %s: stdout %q, stderr %q; want the usage on stderr only", strings.Join(tt.args, " "), stdout, stderr)
		}
	}
}

// TestEnvReachesRealCommands: the documented alias HOIST_DATABASE_URL and
// the rule's name of the same flag both reach `hoist server`.
func TestEnvReachesRealCommands(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"HOIST_DATABASE_URL", "HOIST_SERVER_DATABASE_URL"} {
		_, _, err := runLocal(t, "", map[string]string{v: "mysql://x"}, "server", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("%s=mysql://x: err = %v, want the database URL refused", v, err)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		stdout, stderr, err := runLocal(t, "", nil, "completion", shell)
		if err != nil || !strings.Contains(stdout, "hoist") || !strings.Contains(stdout, "__complete") || stderr != "" {
			t.Errorf("completion %s: err %v, stderr %q, script:\n%.300s", shell, err, stderr, stdout)
			continue
		}
		if shell != "bash" {
			continue
		}
		if _, err := exec.LookPath("bash"); err != nil {
			t.Log("no bash: the script's syntax is not checked")
			continue
		}
		script := filepath.Join(t.TempDir(), "hoist.bash")
		if err := os.WriteFile(script, []byte(stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n rejects the completion script: %v\n%s", err, out)
		}
	}
}

// TestCompletions: what the scripts ask the binary for (`hoist __complete
// WORDS…`) lists the commands, subcommands and flags.
func TestCompletions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		words []string
		want  []string
	}{
		{[]string{""}, []string{"stack\t", "space\t", "gitlab-sim\t", "vcs-agent-pool\t", "version\t", "completion\t"}},
		{[]string{"st"}, []string{"stack\t"}},
		{[]string{"stack", ""}, []string{"create\t", "list\t", "show\t", "update\t", "delete\t"}},
		{[]string{"gitlab-sim", "mr", ""}, []string{"create\t", "merge\t"}},
		{[]string{"stack", "list", "--"}, []string{"--space\t", "--output\t", "--url\t", "--token\t"}},
		{[]string{"vcs-agent", "--par"}, []string{"--parallelism\t"}},
	} {
		stdout, _, err := runLocal(t, "", nil, append([]string{"__complete"}, tt.words...)...)
		if err != nil {
			t.Errorf("__complete %q: %v", tt.words, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("__complete %q lacks %q:\n%s", tt.words, w, stdout)
			}
		}
	}
}
