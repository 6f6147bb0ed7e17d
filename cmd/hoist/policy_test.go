package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
)

const cliIgnoreDocs = `package hoist

ignore if {
	count(input.event.changed_files) > 0
	every f in input.event.changed_files {
		endswith(f, ".md")
	}
}

message contains "only documentation changed" if ignore
`

func TestCLIPolicyRoundTrip(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	h.ok(admin, "space", "create", "--name", "Platform")
	body := writeTemp(t, "docs.rego", cliIgnoreDocs)
	out := h.ok(admin, "policy", "create", "--name", "Ignore docs", "--type", "push", "--space", "platform",
		"--body-file", body, "--label", "autoattach:*")
	for _, want := range []string{"ignore-docs", "push", "platform", "autoattach:*", "endswith"} {
		if !strings.Contains(out, want) {
			t.Errorf("policy create output lacks %q:\n%s", want, out)
		}
	}
	bad := writeTemp(t, "bad.rego", "package hoist\nignore if {\n")
	err := h.fails(apperr.Invalid, admin, "policy", "create", "--name", "Bad", "--type", "push", "--space", "platform", "--body-file", bad)
	if !strings.Contains(err.Error(), "line ") {
		t.Errorf("bad policy: %v", err)
	}
	var list []struct{ ID, Type string }
	h.jsonOut(&list, admin, "policy", "list", "--type", "push")
	if len(list) != 1 || list[0].ID != "ignore-docs" {
		t.Errorf("policy list = %+v", list)
	}
	out = h.ok(admin, "policy", "update", "ignore-docs", "--clear-labels", "--description", "Markdown only")
	if !strings.Contains(out, "Markdown only") || strings.Contains(out, "autoattach") {
		t.Errorf("update output:\n%s", out)
	}
	h.fails(apperr.NotFound, admin, "policy", "attach", "ignore-docs", "--stack", "nope")
	h.ok(admin, "policy", "delete", "ignore-docs")
	h.fails(apperr.NotFound, admin, "policy", "show", "ignore-docs")
}

// eval and test work without a server.
func TestCLIPolicyEvalAndTest(t *testing.T) {
	t.Parallel()
	body := writeTemp(t, "docs.rego", cliIgnoreDocs)
	sample, err := filepath.Abs("../../docs/policies/push-docs-only.json")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runLocal(t, "", nil, "policy", "eval", body, "--input", sample)
	if err != nil || !strings.Contains(out, `"ignore": true`) || !strings.Contains(out, "only documentation changed") {
		t.Errorf("policy eval = %s, %v", out, err)
	}
	_, _, err = runLocal(t, `{"event": {"changed_files": ["a.md"]}}`, nil, "policy", "eval", body, "--input", "-")
	if err != nil {
		t.Errorf("policy eval from stdin: %v", err)
	}
	calls := writeTemp(t, "calls.rego", "package hoist\nx := http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n")
	if _, _, err := runLocal(t, "", nil, "policy", "eval", calls, "--input", sample); err == nil || !strings.Contains(err.Error(), "http.send is not available") {
		t.Errorf("eval of http.send: %v", err)
	}

	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("docs.rego", cliIgnoreDocs)
	write("docs_test.rego", `package hoist_test

import data.hoist

test_markdown_is_ignored if hoist.ignore with input as {"event": {"changed_files": ["README.md"]}}
`)
	out, _, err = runLocal(t, "", nil, "policy", "test", dir)
	if err != nil || !strings.Contains(out, "PASS: data.hoist_test.test_markdown_is_ignored") || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("policy test = %s, %v", out, err)
	}
	write("fail_test.rego", `package hoist_test

import data.hoist

test_code_is_ignored if hoist.ignore with input as {"event": {"changed_files": ["main.tf"]}}
`)
	out, _, err = runLocal(t, "", nil, "policy", "test", dir)
	if err == nil || exitCode(err) != 1 || !strings.Contains(out, "FAIL: data.hoist_test.test_code_is_ignored") {
		t.Errorf("policy test with a failure = %s, %v", out, err)
	}
}

// TestCLIRunShowsPlanPolicies: a plan policy attached with the CLI warns on
// a proposed run; `hoist run show` prints the warning in the history and
// the policy's outcome.
func TestCLIRunShowsPlanPolicies(t *testing.T) {
	t.Parallel()
	const tf = `resource "terraform_data" "x" { input = "%s" }` + "\n"
	h := setupRuns(t, strings.Replace(tf, "%s", "a", 1))
	body := writeTemp(t, "warn.rego", "package hoist\n\nwarn contains sprintf(\"%d change(s)\", [count(input.plan.resource_changes)])\n")
	h.ok(h.adminKey, "policy", "create", "--name", "Count", "--type", "plan", "--space", "root", "--body-file", body)
	h.ok(h.adminKey, "policy", "attach", "count", "--stack", "web")
	out := h.ok(h.adminKey, "policy", "list", "--stack", "web")
	if !strings.Contains(out, "count") || !strings.Contains(out, "explicitly") {
		t.Errorf("policy list --stack:\n%s", out)
	}
	after := h.pushMain("feature", strings.Replace(tf, "%s", "b", 1))
	var id string
	apptest.Eventually(t, 60*time.Second, "a finished proposed run", func() bool {
		var runs []api.Run
		h.jsonOut(&runs, h.adminKey, "run", "list", "web")
		for _, r := range runs {
			if r.CommitSHA == after && r.State == "FINISHED" {
				id = r.ID
				return true
			}
		}
		return false
	})
	out = h.ok(h.adminKey, "run", "show", id)
	for _, want := range []string{"plan policy warnings: count: 1 change(s)", "Policies:", "count v1  warn", "1 change(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("run show lacks %q:\n%s", want, out)
		}
	}
}
