package storetest

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// walk moves a run through states, one legal step at a time.
func walk(t *testing.T, s *sqlstore.Store, id string, states ...run.State) {
	t.Helper()
	for _, st := range states {
		move(t, s, id, st)
	}
}

// allPages reads a listing page by page, at most size items a page
// (failing on an error, an oversized page or more than 20 pages), and
// returns the ids of what it listed, in order.
func allPages[T any](t *testing.T, size int, list func(cursor string) ([]T, string, error), id func(T) string) []string {
	t.Helper()
	out := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := list(cursor)
		if err != nil || len(page) > size || pages > 20 {
			t.Fatalf("page %d: %d items, %v", pages, len(page), err)
		}
		for _, it := range page {
			out = append(out, id(it))
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// testSearchRuns: the runs list across stacks (issue 19) — visibility by
// the stacks' spaces, each filter, keyset pages, the stack's name and
// space on each run, and refused cursors and commit prefixes.
func testSearchRuns(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	web, api, ops := testStack("web", space.RootID, "gl"), testStack("api", "a", "gl"), testStack("ops", "b", "gl")
	web.Name, api.Name, ops.Name = "Web", "API", "Ops"
	mustStack(t, s, web)
	mustStack(t, s, api)
	mustStack(t, s, ops)
	mk := func(id, stackID string, typ run.Type, sha string) run.Run {
		r := newRun(id, stackID, typ, sha)
		r.CommitTitle = "title of " + sha
		return r
	}
	mustRuns(t, s,
		mk("r1", "web", run.Tracked, "aaaa1111"),
		mk("r2", "api", run.Tracked, "aaaa2222"),
		mk("r3", "ops", run.Proposed, "bbbb3333"),
		mk("r4", "web", run.Proposed, "aaaa1111"),
		mk("r5", "api", run.Tracked, "cccc5555"),
		mk("r6", "ops", run.Tracked, "aaaa1111"),
	)
	planned := []run.State{run.Ready, run.Preparing, run.Initializing, run.Planning}
	walk(t, s, "r1", append(planned, run.Unconfirmed)...)
	walk(t, s, "r5", append(planned, run.PendingReview)...)
	walk(t, s, "r6", append(planned, run.Unconfirmed)...)
	attention := []run.State{run.Unconfirmed, run.PendingReview}
	for _, tc := range []struct {
		name string
		q    run.Query
		want []string
	}{
		{"root admin sees all", run.Query{All: true}, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		{"one space", run.Query{Spaces: []string{"a"}}, []string{"r5", "r2"}},
		{"two spaces", run.Query{Spaces: []string{"a", "b"}}, []string{"r6", "r5", "r3", "r2"}},
		{"no space: nothing", run.Query{}, []string{}},
		{"space filter", run.Query{All: true, Space: "b"}, []string{"r6", "r3"}},
		{"space filter outside the visible", run.Query{Spaces: []string{"a"}, Space: "b"}, []string{}},
		{"stack", run.Query{All: true, StackID: "web"}, []string{"r4", "r1"}},
		{"type", run.Query{All: true, Type: run.Proposed}, []string{"r4", "r3"}},
		{"states", run.Query{All: true, States: attention}, []string{"r6", "r5", "r1"}},
		{"states, visible", run.Query{Spaces: []string{space.RootID, "a"}, States: attention}, []string{"r5", "r1"}},
		{"commit prefix", run.Query{All: true, CommitSHA: "aaaa1"}, []string{"r6", "r4", "r1"}},
		{"whole commit", run.Query{All: true, CommitSHA: "aaaa2222"}, []string{"r2"}},
		{"no such commit", run.Query{All: true, CommitSHA: "ffff"}, []string{}},
		{"everything", run.Query{Spaces: []string{space.RootID}, Space: space.RootID, StackID: "web", CommitSHA: "aaaa", States: attention, Type: run.Tracked}, []string{"r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allPages(t, 2, func(cursor string) ([]run.Listed, string, error) {
				return s.SearchRuns(ctx(), tc.q, cursor, 2)
			}, func(l run.Listed) string { return l.ID })
			if !slices.Equal(got, tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
	page, next, err := s.SearchRuns(ctx(), run.Query{All: true, StackID: "api"}, "", 10)
	if err != nil || next != "" || len(page) != 2 {
		t.Fatalf("runs of api = %d, %q, %v", len(page), next, err)
	}
	if l := page[0]; l.StackName != "API" || l.SpaceID != "a" || l.State != run.PendingReview || l.CommitTitle != "title of cccc5555" ||
		l.Type != run.Tracked || l.CommitSHA != "cccc5555" || !l.CreatedAt.Equal(base) {
		t.Errorf("listed run = %+v", l)
	}
	_, _, err = s.SearchRuns(ctx(), run.Query{All: true}, "not a cursor!", 2)
	wantField(t, err, "cursor")
	for _, bad := range []string{"AAAA", "aaaa'--", "zz", string(make([]byte, 65))} {
		_, _, err = s.SearchRuns(ctx(), run.Query{All: true, CommitSHA: bad}, "", 2)
		wantField(t, err, "commit")
	}
}
