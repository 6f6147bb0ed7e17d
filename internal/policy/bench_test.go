package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcs"
)

// benchPlanPolicy is docs/policies.md's examples 3 and 4 in one policy.
const benchPlanPolicy = `package hoist

protected := {"aws_db_instance", "aws_rds_cluster"}

deny contains msg if {
	some rc in input.plan.resource_changes
	protected[rc.type]
	"delete" in rc.change.actions
	msg := sprintf("%s would be deleted", [rc.address])
}

changes := [rc | some rc in input.plan.resource_changes; rc.change.actions != ["no-op"]]

warn contains sprintf("%d resources change", [count(changes)]) if count(changes) > 10
`

// benchPushPolicy is docs/policies.md's example 1: it decides over every
// changed file through the per-extension counts Hoist makes once per
// delivery.
const benchPushPolicy = `package hoist

docs_only if {
	count(input.event.changed_files) > 0
	input.event.changed_extensions[".md"] == count(input.event.changed_files)
}

ignore if docs_only

message contains "only documentation changed" if docs_only
`

// benchPushPolicyEvery is the same decision written as a walk over the
// files, each checked in Rego.
const benchPushPolicyEvery = `package hoist

docs_only if {
	count(input.event.changed_files) > 0
	every f in input.event.changed_files {
		endswith(f, ".md")
	}
}

ignore if docs_only

message contains "only documentation changed" if docs_only
`

func benchPlanJSON(n int) []byte {
	rcs := make([]map[string]any, n)
	for i := range rcs {
		typ, action := "aws_s3_bucket", "create"
		if i%100 == 0 {
			typ, action = "aws_db_instance", "delete"
		}
		rcs[i] = map[string]any{"address": fmt.Sprintf("%s.r[%d]", typ, i), "mode": "managed", "type": typ, "name": "r", "index": i,
			"change": map[string]any{"actions": []string{action}, "before": map[string]any{"name": fmt.Sprint(i), "password": "x", "tags": map[string]any{"team": "a"}},
				"after":            map[string]any{"name": fmt.Sprint(i), "password": "y", "tags": map[string]any{"team": "a"}},
				"before_sensitive": map[string]any{"password": true}, "after_sensitive": map[string]any{"password": true}}}
	}
	b, _ := json.Marshal(map[string]any{"format_version": "1.2", "resource_changes": rcs})
	return b
}

// report adds p50 and p99 of the per-evaluation latencies.
func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkPlanPolicy1000Resources: one plan policy over a plan of 1,000
// resource changes, as CheckPlan does it: decode and mask the plan JSON,
// convert it, evaluate (the compiled query is cached).
func BenchmarkPlanPolicy1000Resources(b *testing.B) {
	e := NewEngine(Limits{})
	planJSON := benchPlanJSON(1000)
	r := run.Run{ID: "r", Type: run.Tracked}
	st := stack.Stack{ID: "s", SpaceID: "root"}
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		input, _, err := PlanInput(r, st, planJSON)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := e.EvalRules(ctx, benchPlanPolicy, input, "deny", "warn")
		if err != nil || len(doc["deny"].([]any)) != 10 {
			b.Fatalf("%v %v", doc["deny"], err)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat)
}

// BenchmarkPlanPolicy1000ResourcesEvalOnly is the evaluation alone, the
// input already built.
func BenchmarkPlanPolicy1000ResourcesEvalOnly(b *testing.B) {
	e := NewEngine(Limits{})
	input, _, err := PlanInput(run.Run{ID: "r"}, stack.Stack{ID: "s"}, benchPlanJSON(1000))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := e.EvalRules(ctx, benchPlanPolicy, input, "deny", "warn"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat)
}

// BenchmarkPushPolicy5000Files: one push policy for one stack over a push
// of 5,000 changed files, all Markdown, as PushDecider does it per stack:
// the event converted (and its files counted by extension) once per
// delivery, outside the loop (see BenchmarkPushEventInput); the stack's
// object built and evaluated.
func BenchmarkPushPolicy5000Files(b *testing.B) {
	benchPush(b, benchPushPolicy)
}

// BenchmarkPushPolicy5000FilesEvery is the same with the policy walking
// the 5,000 files itself (every f in input.event.changed_files).
func BenchmarkPushPolicy5000FilesEvery(b *testing.B) {
	benchPush(b, benchPushPolicyEvery)
}

func benchPush(b *testing.B, policy string) {
	e := NewEngine(Limits{})
	ev := benchPushEvent(5000)
	evValue, err := EventValue(PushEventInput(ev, benchFiles(5000)))
	if err != nil {
		b.Fatal(err)
	}
	si, dd := stackInput(stack.Stack{ID: "s"}), DefaultDecision{Run: "track", Affected: true}
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		input := ast.NewObject(ast.Item(ast.StringTerm("event"), ast.NewTerm(evValue)),
			ast.Item(ast.StringTerm("stack"), ast.NewTerm(mustAST(si))), ast.Item(ast.StringTerm("default"), ast.NewTerm(mustAST(dd))))
		doc, err := e.EvalRules(ctx, policy, input, "ignore", "track", "propose", "message")
		if err != nil || doc["ignore"] != true {
			b.Fatalf("%v %v", doc, err)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat)
}

// BenchmarkPushEventInput is the once-per-delivery conversion of an event
// of 5,000 changed files.
func BenchmarkPushEventInput(b *testing.B) {
	ev, files := benchPushEvent(5000), benchFiles(5000)
	for b.Loop() {
		if _, err := EventValue(PushEventInput(ev, files)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFiles(n int) []string {
	files := make([]string, n)
	for i := range files {
		files[i] = fmt.Sprintf("docs/section-%d/page-%d.md", i/100, i)
	}
	return files
}

func benchPushEvent(n int) *vcs.Event {
	return &vcs.Event{Kind: vcs.KindPush, Branch: "main", Ref: "refs/heads/main", After: "abc",
		Commits: []vcs.Commit{{SHA: "abc", Title: "docs", Message: "docs\n"}}, TotalCommits: 1}
}
