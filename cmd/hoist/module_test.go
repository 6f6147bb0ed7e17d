package main

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestCLIModuleRoundTrip(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	tokFile, head, _ := h.botProject("acme/modules", map[string]string{"vpc/main.tf": "\n"})
	h.ok(admin, "integration", "gitlab", "create", "--name", "GitLab", "--api-host", h.simURL, "--token-file", tokFile, "--default")
	h.ok(admin, "space", "create", "--name", "Network")

	out := h.ok(admin, "module", "create", "--name", "VPC", "--provider", "aws", "--space", "network",
		"--repository", "acme/modules", "--branch", "main", "--project-root", "vpc", "--label", "net")
	for _, want := range []string{"vpc", "aws", "network", "<hoist-host>/network/vpc/aws", "acme/modules"} {
		if !strings.Contains(out, want) {
			t.Errorf("module create output lacks %q:\n%s", want, out)
		}
	}
	h.fails(apperr.Invalid, admin, "module", "create", "--name", "Bad", "--provider", "My-Cloud", "--repository", "acme/modules", "--branch", "main")
	var list []struct{ ID, Source string }
	h.jsonOut(&list, admin, "module", "list")
	if len(list) != 1 || list[0].ID != "vpc" || list[0].Source != "network/vpc/aws" {
		t.Errorf("module list = %+v", list)
	}

	out = h.ok(admin, "module", "create-version", "vpc", "--sha", head[:8], "--version", "v1.0.0")
	if !strings.Contains(out, head) || !strings.Contains(out, "1.0.0") {
		t.Errorf("create-version output:\n%s", out)
	}
	h.fails(apperr.Conflict, admin, "module", "create-version", "vpc", "--sha", head, "--version", "1.0.0")
	h.ok(admin, "module", "create-version", "vpc", "--sha", head, "--version", "1.1.0")
	out = h.ok(admin, "module", "mark-bad", "vpc", "1.1.0", "--note", "wrong CIDR")
	if !strings.Contains(out, "bad") || !strings.Contains(out, "wrong CIDR") {
		t.Errorf("mark-bad output:\n%s", out)
	}
	var vs []struct{ Version, State, Note string }
	h.jsonOut(&vs, admin, "module", "versions", "vpc")
	if len(vs) != 2 || vs[0].Version != "1.1.0" || vs[0].State != "bad" || vs[1].Version != "1.0.0" || vs[1].State != "published" {
		t.Errorf("versions = %+v", vs)
	}
	out = h.ok(admin, "module", "versions", "vpc")
	if !strings.Contains(out, "wrong CIDR") || !strings.Contains(out, "VERSION") {
		t.Errorf("versions table:\n%s", out)
	}
	h.ok(admin, "module", "delete", "vpc")
	h.fails(apperr.NotFound, admin, "module", "show", "vpc")
}

func TestCLIModuleUsageErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HOIST_TOKEN": "x", "HOIST_URL": "http://127.0.0.1:1"}
	for _, args := range [][]string{
		{"module", "create", "--name", "x", "--repository", "a/b", "--branch", "main"},
		{"module", "create-version", "vpc", "--sha", "abc"},
		{"module", "mark-bad", "vpc", "1.0.0"},
		{"module", "mark-bad", "vpc", "--note", "x"},
		{"module", "versions"},
	} {
		_, _, err := runLocal(t, "", env, args...)
		var u usageError
		if !asUsage(err, &u) {
			t.Errorf("hoist %s: err = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

// TestServerTLSFlags: a certificate needs its key, and a certificate that
// does not load is refused before anything listens.
func TestServerTLSFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeTemp(t, "cert.pem", "not a certificate")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", bad}, "both a certificate"},
		{[]string{"--tls-key", bad}, "both a certificate"},
		{[]string{"--tls-cert", bad, "--tls-key", bad}, "load TLS certificate"},
	} {
		args := append([]string{"server", "--data-dir", dir, "--listen", "127.0.0.1:0"}, tt.args...)
		_, _, err := runLocal(t, "", map[string]string{}, args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("hoist %s: err = %v, want %q", strings.Join(args, " "), err, tt.want)
		}
	}
}
