package main

// The long-running commands' part of the environment rule (envflag.go,
// printconfig.go): bare HOIST_<FLAG> names, secrets from …_FILE, and
// --print-config, on a probe command `hoist daemon`.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hoistdev/hoist/internal/secret"
)

// daemonProbe is what the test command `hoist daemon` was given.
type daemonProbe struct {
	name, secret, token, tokenFile, scoped string
	slots                                  int
	ran                                    bool
}

func daemonSpecs(p *daemonProbe) []spec {
	define := func(e *env, cmd *cobra.Command) runFunc {
		fs := cmd.Flags()
		fs.StringVar(&p.name, "name", "", "a name")
		envAlias(fs, "name", "OLD_NAME")
		fs.StringVar(&p.secret, "secret", "", "a secret")
		secretFlag(fs, "secret", "")
		fs.StringVar(&p.token, "token", "", "a secret with a file flag")
		fs.StringVar(&p.tokenFile, "token-file", "", "the token's file")
		secretFlag(fs, "token", "token-file")
		fs.StringVar(&p.scoped, "scoped", "", "no bare name")
		scopedEnvOnly(fs, "scoped")
		fs.IntVar(&p.slots, "daemon-slots", 0, "its bare name would be among the command's own")
		return func(context.Context, []string) error { p.ran = true; return nil }
	}
	return []spec{leaf("daemon", "a long-running command", "", longRunning(define))}
}

// runDaemon runs `hoist daemon args…` with the environment vars.
func runDaemon(t *testing.T, vars map[string]string, args ...string) (*daemonProbe, string, error) {
	t.Helper()
	p := &daemonProbe{}
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	err := execute(context.Background(), newRoot(e, "test", daemonSpecs(p)), append([]string{"daemon"}, args...))
	return p, stdout.String() + stderr.String(), err
}

// writeMode writes a file of the given mode (whatever the umask).
func writeMode(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLongRunningEnv: bare names after the scoped ones, and secrets from
// files; errors never quote a secret.
func TestLongRunningEnv(t *testing.T) {
	t.Parallel()
	const content = "s3cr3t-value"
	file := writeMode(t, content+"\n", 0o600)
	other := writeMode(t, "other-value", 0o444) // a container's secret mount
	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		want    daemonProbe
		wantErr string // in the error; then the exit code is code
		code    int
	}{
		{name: "bare", vars: map[string]string{"HOIST_NAME": "bare"}, want: daemonProbe{name: "bare"}},
		{name: "scoped before bare", vars: map[string]string{"HOIST_NAME": "bare", "HOIST_DAEMON_NAME": "scoped"}, want: daemonProbe{name: "scoped"}},
		{name: "bare before alias", vars: map[string]string{"HOIST_NAME": "bare", "OLD_NAME": "old"}, want: daemonProbe{name: "bare"}},
		{name: "opted out", vars: map[string]string{"HOIST_SCOPED": "bare"}},
		{name: "scoped of the opted out", vars: map[string]string{"HOIST_DAEMON_SCOPED": "x"}, want: daemonProbe{scoped: "x"}},
		// HOIST_DAEMON_SLOTS would be `daemon --slots` by the rule.
		{name: "not among a command's names", vars: map[string]string{"HOIST_DAEMON_SLOTS": "3"}},
		{name: "scoped of that flag", vars: map[string]string{"HOIST_DAEMON_DAEMON_SLOTS": "3"}, want: daemonProbe{slots: 3}},
		{name: "scoped file", vars: map[string]string{"HOIST_DAEMON_SECRET_FILE": file}, want: daemonProbe{secret: content}},
		{name: "bare file", vars: map[string]string{"HOIST_SECRET_FILE": file}, want: daemonProbe{secret: content}},
		{name: "readable by others", vars: map[string]string{"HOIST_SECRET_FILE": other}, want: daemonProbe{secret: "other-value"}},
		{name: "scoped file before bare variable", vars: map[string]string{"HOIST_DAEMON_SECRET_FILE": file, "HOIST_SECRET": "bare"},
			want: daemonProbe{secret: content}},
		{name: "scoped variable before bare file", vars: map[string]string{"HOIST_DAEMON_SECRET": "scoped", "HOIST_SECRET_FILE": file},
			want: daemonProbe{secret: "scoped"}},
		{name: "command line wins, file unread", vars: map[string]string{"HOIST_SECRET_FILE": "/nonexistent"}, args: []string{"--secret", "cli"},
			want: daemonProbe{secret: "cli"}},
		{name: "file flag reads its variable", vars: map[string]string{"HOIST_DAEMON_TOKEN_FILE": file}, want: daemonProbe{tokenFile: file}},
		{name: "both set", vars: map[string]string{"HOIST_SECRET": content, "HOIST_SECRET_FILE": file},
			wantErr: "$HOIST_SECRET and $HOIST_SECRET_FILE are both set", code: 2},
		{name: "both set, file flag", vars: map[string]string{"HOIST_DAEMON_TOKEN": content, "HOIST_DAEMON_TOKEN_FILE": file},
			wantErr: "$HOIST_DAEMON_TOKEN and $HOIST_DAEMON_TOKEN_FILE are both set", code: 2},
		{name: "missing", vars: map[string]string{"HOIST_SECRET_FILE": "/nonexistent/secret"},
			wantErr: "$HOIST_SECRET_FILE: open /nonexistent/secret", code: 1},
		{name: "empty", vars: map[string]string{"HOIST_SECRET_FILE": writeMode(t, " \n", 0o600)}, wantErr: "is empty", code: 1},
		{name: "writable by anyone", vars: map[string]string{"HOIST_SECRET_FILE": writeMode(t, content, 0o606)},
			wantErr: "is writable by anyone", code: 1},
		{name: "too large", vars: map[string]string{"HOIST_SECRET_FILE": writeMode(t, content+strings.Repeat("x", secret.MaxFile), 0o600)},
			wantErr: "larger than 64 KiB", code: 1},
		{name: "a folder", vars: map[string]string{"HOIST_SECRET_FILE": t.TempDir()}, wantErr: "$HOIST_SECRET_FILE: read", code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, out, err := runDaemon(t, tt.vars, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != tt.code {
					t.Fatalf("err = %v (exit %d), want %q (exit %d)", err, exitCode(err), tt.wantErr, tt.code)
				}
				if strings.Contains(err.Error()+out, content) {
					t.Fatalf("the error or output quotes the secret: %v\n%s", err, out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.ran = true
			if !reflect.DeepEqual(*p, tt.want) {
				t.Fatalf("got %+v, want %+v", *p, tt.want)
			}
		})
	}
}

// TestPrintConfigProbe: every flag with its value and source, secrets
// redacted, and the command does not run.
func TestPrintConfigProbe(t *testing.T) {
	t.Parallel()
	file := writeMode(t, "s3cr3t-from-file\n", 0o600)
	vars := map[string]string{"HOIST_SECRET_FILE": file, "HOIST_DAEMON_TOKEN": "s3cr3t-token", "OLD_NAME": "old"}
	p, out, err := runDaemon(t, vars, "--print-config=json", "--daemon-slots", "4")
	if err != nil || p.ran {
		t.Fatalf("err %v, ran %v", err, p.ran)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Fatalf("--print-config shows a secret:\n%s", out)
	}
	var got struct {
		Command string
		Flags   []configEntry
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := []configEntry{
		{Flag: "daemon-slots", Value: "4", Source: "flag"},
		{Flag: "name", Value: "old", Source: "env", Variable: "OLD_NAME"},
		{Flag: "scoped", Source: "default"},
		{Flag: "secret", Value: "<redacted, 16 bytes>", Source: "file", Variable: "HOIST_SECRET_FILE", Secret: true},
		{Flag: "token", Value: "<redacted, 12 bytes>", Source: "env", Variable: "HOIST_DAEMON_TOKEN", Secret: true},
		{Flag: "token-file", Source: "default"},
	}
	if got.Command != "daemon" || !reflect.DeepEqual(got.Flags, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	_, out, err = runDaemon(t, vars, "--print-config")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"FLAG            VALUE                 SOURCE",
		"--daemon-slots  0                     default",
		`--scoped        ""                    default`,
		"--secret        <redacted, 16 bytes>  $HOIST_SECRET_FILE",
		"--token         <redacted, 12 bytes>  $HOIST_DAEMON_TOKEN",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("no line %q in:\n%s", line, out)
		}
	}
	if strings.Contains(out, "s3cr3t") {
		t.Fatalf("--print-config shows a secret:\n%s", out)
	}

	_, _, err = runDaemon(t, nil, "--print-config=yaml")
	var u usageError
	if !errors.As(err, &u) {
		t.Errorf("--print-config=yaml: err = %v, want a usage error", err)
	}
	p, _, err = runDaemon(t, map[string]string{"HOIST_DAEMON_PRINT_CONFIG": "json", "HOIST_PRINT_CONFIG": "json"})
	if err != nil || !p.ran {
		t.Errorf("a variable made the command print instead of run: err %v", err)
	}
}

// TestSecretFilesAreListed: the files secrets came from are what runs
// must not see; a command-line value or a file flag's is not among them.
func TestSecretFilesAreListed(t *testing.T) {
	t.Parallel()
	file := writeMode(t, "s3cr3t\n", 0o600)
	vars := map[string]string{"HOIST_SECRET_FILE": file, "HOIST_DAEMON_TOKEN_FILE": writeMode(t, "t\n", 0o600)}
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return vars[k] }}
	root := newRoot(e, "test", daemonSpecs(&daemonProbe{}))
	if err := execute(context.Background(), root, []string{"daemon"}); err != nil {
		t.Fatal(err)
	}
	c, _, _ := root.Find([]string{"daemon"})
	if got := secretFiles(c); !reflect.DeepEqual(got, []string{file}) {
		t.Fatalf("secretFiles = %q, want %q", got, file)
	}
}
