package policy

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
	"github.com/hoistdev/hoist/internal/vcs"
)

func TestCombinePush(t *testing.T) {
	t.Parallel()
	push := &vcs.Event{Kind: vcs.KindPush, Branch: "main", After: "abc"}
	other := &vcs.Event{Kind: vcs.KindPush, Branch: "feature", After: "abc"}
	st := trigger.Stack{ID: "web", Branch: "main"}
	def := trigger.Decision{Run: trigger.RunTracked, MoveTrackedCommit: true, Reason: "push to tracked branch main touches infra/"}
	r := func(p string, o Outcome, msgs ...string) pushResult {
		return pushResult{policy: p, outcome: o, messages: msgs}
	}
	tests := []struct {
		name     string
		ev       *vcs.Event
		results  []pushResult
		wantRun  trigger.RunType
		wantMove bool
		reason   []string
	}{
		{"nothing said keeps the default", push, []pushResult{r("a", OutcomeDefault)}, trigger.RunTracked, true, []string{"push to tracked branch"}},
		{"messages of silent policies are kept", push, []pushResult{r("a", OutcomeDefault, "looked")}, trigger.RunTracked, true, []string{"kept the default: looked"}},
		{"ignore wins over track", push, []pushResult{r("a", OutcomeTrack), r("b", OutcomeIgnore, "docs")}, trigger.RunNone, false, []string{"ignored by push policy b: docs", "(default: push to tracked"}},
		{"track wins over propose", push, []pushResult{r("a", OutcomePropose), r("b", OutcomeTrack)}, trigger.RunTracked, true, []string{"tracked by push policy b"}},
		{"track elsewhere does not move the tracked commit", other, []pushResult{r("a", OutcomeTrack)}, trigger.RunTracked, false, nil},
		{"propose", push, []pushResult{r("a", OutcomePropose, "[no-apply]")}, trigger.RunProposed, false, []string{"proposed by push policy a: [no-apply]"}},
		{"an error fails closed, even over track", push, []pushResult{r("a", OutcomeTrack), {policy: "b", outcome: OutcomeError, err: "timed out"}},
			trigger.RunNone, false, []string{"push ignored: push policy failed (fail closed): b: timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := CombinePush(tt.ev, st, def, tt.results)
			if d.Run != tt.wantRun || d.MoveTrackedCommit != tt.wantMove {
				t.Errorf("decision = %+v; want run %q move %v", d, tt.wantRun, tt.wantMove)
			}
			for _, s := range tt.reason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q lacks %q", d.Reason, s)
				}
			}
		})
	}
}

func TestApplies(t *testing.T) {
	t.Parallel()
	tree := space.NewTree([]space.Space{{ID: "root"}, {ID: "a", ParentID: "root"}, {ID: "a1", ParentID: "a"}, {ID: "b", ParentID: "root"}})
	st := func(sp string, labels ...string) stack.Stack {
		return stack.Stack{ID: "s", SpaceID: sp, Labels: labels}
	}
	p := func(sp string, labels ...string) Policy { return Policy{ID: "p", SpaceID: sp, Labels: labels} }
	tests := []struct {
		name     string
		p        Policy
		st       stack.Stack
		explicit bool
		want     bool
	}{
		{"explicit", p("b"), st("a"), true, true},
		{"no autoattach label", p("a", "prod"), st("a", "prod"), false, false},
		{"label in its space", p("a", "autoattach:prod"), st("a", "prod"), false, true},
		{"label below its space", p("a", "autoattach:prod"), st("a1", "prod"), false, true},
		{"label in another space", p("a", "autoattach:prod"), st("b", "prod"), false, false},
		{"label above its space", p("a1", "autoattach:prod"), st("a", "prod"), false, false},
		{"other label", p("a", "autoattach:prod"), st("a", "dev"), false, false},
		{"star", p("root", "autoattach:*"), st("a1"), false, true},
	}
	for _, tt := range tests {
		if _, got := Applies(tt.p, tt.st, tree, tt.explicit); got != tt.want {
			t.Errorf("%s: Applies = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMaskPlan(t *testing.T) {
	t.Parallel()
	plan, err := DecodeInput([]byte(`{
		"format_version": "1.2",
		"prior_state": {"values": {"secret": "s3cr3t"}},
		"planned_values": {"root_module": {}},
		"resource_changes": [{"address": "x.y", "change": {"actions": ["update"],
			"before": {"password": "old", "name": "n", "tags": ["a", "hidden"]},
			"after": {"password": "new", "name": "n", "tags": ["a", "hidden"]},
			"before_sensitive": {"password": true, "tags": [false, true]}, "after_sensitive": {"password": true, "tags": [false, true]}}}],
		"output_changes": {"pw": {"actions": ["create"], "before": null, "after": "topsecret", "before_sensitive": false, "after_sensitive": true}},
		"variables": {"db_password": {"value": "hunter2"}, "region": {"value": "eu"}, "undeclared": {"value": "?"}},
		"configuration": {"root_module": {"variables": {"db_password": {"sensitive": true}, "region": {}}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(MaskPlan(plan))
	got := string(b)
	for _, secret := range []string{"s3cr3t", "old", "new", "hidden", "topsecret", "hunter2", `"?"`, "planned_values"} {
		if strings.Contains(got, secret) {
			t.Errorf("masked plan still holds %s: %s", secret, got)
		}
	}
	for _, kept := range []string{`"name":"n"`, `"tags":["a","(sensitive value)"]`, `"region":{"value":"eu"}`} {
		if !strings.Contains(got, kept) {
			t.Errorf("masked plan lost %s: %s", kept, got)
		}
	}
}

func TestRunTests(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for _, name := range []string{"docs.rego", "docs_test.rego"} {
		b, err := os.ReadFile(filepath.Join("testdata", "tests", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	rs, err := NewEngine(Limits{}).RunTests(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rs {
		got[r.Name] = r.Pass
	}
	want := map[string]bool{"test_ignores_markdown": true, "test_keeps_code": true, "test_wrong_on_purpose": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
	_, err = NewEngine(Limits{}).RunTests(context.Background(), map[string]string{"x.rego": "package hoist\nx := http.send({})\n"})
	if err == nil || !strings.Contains(err.Error(), "http.send is not available") {
		t.Errorf("RunTests with http.send = %v", err)
	}
}

// TestChangedExtensions: the counts a push policy gets, and docs example 1
// written over them decides as the same policy walking every file does.
func TestChangedExtensions(t *testing.T) {
	t.Parallel()
	e := NewEngine(Limits{})
	tests := []struct {
		name   string
		files  []string
		want   map[string]int
		ignore bool
	}{
		{"no files", nil, map[string]int{}, false},
		{"Markdown only", []string{"README.md", "docs/a.md", "infra/.md"}, map[string]int{".md": 3}, true},
		{"one Terraform file among Markdown", []string{"README.md", "infra/main.tf", "docs/a.md"}, map[string]int{".md": 2, ".tf": 1}, false},
		{"a directory named like Markdown", []string{"docs.md/Makefile", "a.md"}, map[string]int{"": 1, ".md": 1}, false},
		{"the last extension counts", []string{"notes.md.bak", "x.tar.gz", "CHANGELOG.MD"}, map[string]int{".bak": 1, ".gz": 1, ".MD": 1}, false},
		{"dot files", []string{".gitignore", "infra/.terraform.lock.hcl"}, map[string]int{".gitignore": 1, ".hcl": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pe := PushEventInput(&vcs.Event{Kind: vcs.KindPush, Branch: "main"}, tt.files)
			if !maps.Equal(pe.ChangedExtensions, tt.want) {
				t.Errorf("changed_extensions = %v, want %v", pe.ChangedExtensions, tt.want)
			}
			ev, err := EventValue(pe)
			if err != nil {
				t.Fatal(err)
			}
			input := ast.NewObject(ast.Item(ast.StringTerm("event"), ast.NewTerm(ev)),
				ast.Item(ast.StringTerm("stack"), ast.NewTerm(mustAST(stackInput(stack.Stack{ID: "s"})))))
			for name, body := range map[string]string{"counts": benchPushPolicy, "every": benchPushPolicyEvery} {
				doc, err := e.EvalRules(context.Background(), body, input, "ignore")
				if err != nil {
					t.Fatal(err)
				}
				if got := doc["ignore"] == true; got != tt.ignore {
					t.Errorf("%s: ignore = %v, want %v", name, got, tt.ignore)
				}
			}
		})
	}
}
