package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests cover what the CLI decides before it talks to a server;
// cli_test.go runs the commands against the real server.

// runLocal runs the program with an environment that has no server; the
// commands tested here must fail (or succeed) before needing one.
func runLocal(t *testing.T, stdin string, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return stdout.String(), stderr.String(), err
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGitLabUpdateRefusesName(t *testing.T) {
	t.Parallel()
	_, _, err := runLocal(t, "", map[string]string{"HOIST_TOKEN": "k"},
		"integration", "gitlab", "update", "acme", "--name", "Other")
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "name of an integration cannot be changed") {
		t.Fatalf("err = %v, want the immutable-name usage error", err)
	}
}

func TestGitLabCreateUsageErrors(t *testing.T) {
	t.Parallel()
	tokFile := writeTemp(t, "tok", "glpat-local-secret\n")
	empty := writeTemp(t, "empty", "\n")
	base := []string{"integration", "gitlab", "create", "--name", "Acme", "--api-host", "https://gitlab.example"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"--default"}, "--token-file FILE or --token-env VAR"},
		{"file and env", []string{"--default", "--token-file", tokFile, "--gitlab-token-env", "GL"}, "not both"},
		{"empty token", []string{"--default", "--token-file", empty}, "is empty"},
		{"unset env", []string{"--default", "--token-env", "UNSET"}, "environment variable UNSET is empty"},
		{"no type", []string{"--token-file", tokFile}, "give --default"},
		{"both types", []string{"--default", "--space", "a", "--token-file", tokFile}, "not both"},
		{"bad output", []string{"--default", "--token-file", tokFile, "-o", "yaml"}, "want table or json"},
		{"stray arg", []string{"--default", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runLocal(t, "", map[string]string{"HOIST_TOKEN": "k"}, append(base, tt.args...)...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want usage error containing %q", err, tt.want)
			}
			if strings.Contains(stdout+stderr+err.Error(), "glpat-local-secret") {
				t.Fatal("the GitLab token was printed")
			}
		})
	}
}

func TestReadSecretSources(t *testing.T) {
	t.Parallel()
	e := &env{stdin: strings.NewReader("from-stdin\n"), getenv: func(k string) string {
		return map[string]string{"GL": " from-env "}[k]
	}}
	file := writeTemp(t, "tok", "from-file\r\n")
	for _, tt := range []struct{ file, env, want string }{
		{file, "", "from-file"},
		{"", "GL", "from-env"},
		{"-", "", "from-stdin"},
		{"", "", ""},
	} {
		got, err := readSecret(e, "GitLab token", tt.file, tt.env)
		if err != nil || got != tt.want {
			t.Errorf("readSecret(%q, %q) = %q, %v; want %q", tt.file, tt.env, got, err, tt.want)
		}
	}
	if _, err := readSecret(e, "GitLab token", filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Error("missing file: no error")
	}
}

func TestHelpIsNotAnErrorAndHidesToken(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := runLocal(t, "", map[string]string{"HOIST_TOKEN": "hoist_k_envsecret"},
		"integration", "gitlab", "create", "-h")
	if err != nil {
		t.Fatalf("-h returned %v, want nil", err)
	}
	if !strings.Contains(stdout, "-token-file") || !strings.Contains(stdout, "usage: hoist integration gitlab create") {
		t.Fatalf("usage does not list the token file flag:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, "envsecret") {
		t.Fatal("usage prints the API key")
	}
}

// TestHostFlagsStateThePrivateRule: the help of both integration commands
// puts private://<pool> in the user-facing host, as docs/gitlab.md does
// (issue 14 item 10), and says a pasted /api/v4 is dropped.
func TestHostFlagsStateThePrivateRule(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"create", "update"} {
		stdout, _, err := runLocal(t, "", nil, "integration", "gitlab", cmd, "-h")
		if err != nil {
			t.Fatalf("%s -h: %v", cmd, err)
		}
		_, uf, _ := strings.Cut(stdout, "\n      --user-facing-host URL")
		_, api, _ := strings.Cut(stdout, "\n      --api-host URL")
		api, _, _ = strings.Cut(api, "\n")
		if !strings.Contains(uf, "private://<pool> for a private GitLab") || strings.Contains(api, "private://") ||
			!strings.Contains(api, "/api/v4 is dropped") {
			t.Errorf("integration gitlab %s -h does not state the host rules:\n%s", cmd, stdout)
		}
	}
}

func TestGroupsRefuseUnknownSubcommands(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"integration", "frob"}, {"space"}, {"integration", "gitlab", "nope"}, {"user", "x"}} {
		_, stderr, err := runLocal(t, "", nil, args...)
		var u usageError
		if !errors.As(err, &u) || exitCode(err) != 2 || !strings.Contains(stderr, "subcommands:") {
			t.Errorf("%q: err %v stderr %q", args, err, stderr)
		}
	}
}
