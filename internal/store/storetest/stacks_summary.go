package storetest

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// testStackSummaries: ListStackSummaries filters by visibility, space,
// label, the state of the newest run (or none) and text, pages on the
// stack id, and reads each stack's newest run.
func testStackSummaries(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	for _, in := range []struct {
		id, space, name, repo string
		labels                []string
	}{
		{"api", "a", "API", "Acme/Backend", []string{"eu", "prod"}},
		{"db", "a", "Database", "acme/data", []string{"eu"}},
		{"edge", "b", "Edge 100%", "acme/edge", []string{"us", `say "hi"`}},
		{"net", space.RootID, "Network_x", "acme/net", nil},
		{"web", "b", "Web", "acme/backend-web", []string{"prod"}},
	} {
		st := testStack(in.id, in.space, "gl")
		st.Name, st.Repository = in.name, in.repo
		if in.labels != nil {
			st.Labels = in.labels
		}
		mustStack(t, s, st)
	}
	// api: two runs, the newer FAILED; db: one QUEUED; web: one DISCARDED.
	mustRuns(t, s, newRun("01A", "api", run.Tracked, "sha1"), newRun("01B", "db", run.Tracked, "sha2"),
		newRun("01C", "api", run.Proposed, "sha3"), newRun("01D", "web", run.Tracked, "sha4"))
	move(t, s, "01C", run.Failed)
	move(t, s, "01D", run.Discarded)

	list := func(f stack.SummaryFilter, limit int) (string, []stack.Summary) {
		t.Helper()
		var ids []string
		var all []stack.Summary
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := s.ListStackSummaries(ctx(), f, cursor, limit)
			if err != nil || pages > 10 || len(page) > limit {
				t.Fatalf("ListStackSummaries(%+v): page %d, %d items, %v", f, pages, len(page), err)
			}
			for _, sm := range page {
				ids = append(ids, sm.ID)
			}
			all = append(all, page...)
			if next == "" {
				return strings.Join(ids, " "), all
			}
			cursor = next
		}
	}
	every := stack.Filter{All: true}
	for _, tt := range []struct {
		f    stack.SummaryFilter
		want string
	}{
		{stack.SummaryFilter{Filter: every}, "api db edge net web"},
		{stack.SummaryFilter{Filter: stack.Filter{Spaces: []string{"a"}}}, "api db"},
		{stack.SummaryFilter{Filter: stack.Filter{Spaces: []string{}}}, ""},
		{stack.SummaryFilter{Filter: stack.Filter{Spaces: []string{"a"}, Space: "b"}}, ""},
		{stack.SummaryFilter{Filter: stack.Filter{All: true, Space: "b"}}, "edge web"},
		{stack.SummaryFilter{Filter: every, Label: "eu"}, "api db"},
		{stack.SummaryFilter{Filter: every, Label: "e"}, ""}, // whole labels only
		{stack.SummaryFilter{Filter: every, Label: `say "hi"`}, "edge"},
		{stack.SummaryFilter{Filter: every, Label: "hi"}, ""},
		{stack.SummaryFilter{Filter: stack.Filter{Spaces: []string{"b"}}, Label: "prod"}, "web"},
		{stack.SummaryFilter{Filter: every, LastRunState: string(run.Failed)}, "api"},
		{stack.SummaryFilter{Filter: every, LastRunState: string(run.Queued)}, "db"}, // api's older QUEUED run does not count
		{stack.SummaryFilter{Filter: every, LastRunState: stack.NoRuns}, "edge net"},
		{stack.SummaryFilter{Filter: every, LastRunState: "NOT_A_STATE"}, ""},
		{stack.SummaryFilter{Filter: every, Text: "backend"}, "api web"}, // repository, any case
		{stack.SummaryFilter{Filter: every, Text: "DATA"}, "db"},         // name and repository
		{stack.SummaryFilter{Filter: every, Text: "ne"}, "net"},          // id
		{stack.SummaryFilter{Filter: every, Text: "100%"}, "edge"},       // wildcards are literal
		{stack.SummaryFilter{Filter: every, Text: "%"}, "edge"},
		{stack.SummaryFilter{Filter: every, Text: "k_x"}, "net"},
		{stack.SummaryFilter{Filter: every, Text: "_"}, "net"},
		{stack.SummaryFilter{Filter: every, Text: "!"}, ""},
		{stack.SummaryFilter{Filter: every, Text: "b", Label: "prod", LastRunState: string(run.Discarded)}, "web"},
	} {
		for _, limit := range []int{1, 2, 50} {
			if got, _ := list(tt.f, limit); got != tt.want {
				t.Errorf("ListStackSummaries(%+v) limit %d = %q, want %q", tt.f, limit, got, tt.want)
			}
		}
	}

	_, all := list(stack.SummaryFilter{Filter: every}, 50)
	last := map[string]*stack.LastRun{}
	for _, sm := range all {
		last[sm.ID] = sm.LastRun
	}
	if r := last["api"]; r == nil || r.ID != "01C" || r.Type != string(run.Proposed) || r.State != string(run.Failed) || !r.UpdatedAt.Equal(base) {
		t.Errorf("api's last run = %+v, want 01C PROPOSED FAILED at %v", r, base)
	}
	if r := last["web"]; r == nil || r.ID != "01D" || r.State != string(run.Discarded) {
		t.Errorf("web's last run = %+v, want 01D DISCARDED", r)
	}
	if last["net"] != nil || last["edge"] != nil {
		t.Errorf("stacks without runs have a last run: net %+v, edge %+v", last["net"], last["edge"])
	}
	if all[0].Name != "API" || all[0].Repository != "Acme/Backend" || strings.Join(all[0].Labels, ",") != "eu,prod" {
		t.Errorf("the summary's stack = %+v", all[0].Stack)
	}
	if _, _, err := s.ListStackSummaries(ctx(), stack.SummaryFilter{Filter: every}, "!!", 10); err == nil {
		t.Error("a bad cursor was accepted")
	}
}
