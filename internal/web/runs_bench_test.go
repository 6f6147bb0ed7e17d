package web_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// BenchmarkRunsListPage (issue 19, acceptance 4) loads the runs list, a
// whole page over HTTP from a real server on SQLite, with 100,000 runs
// on 100 stacks: 90 in space team-a, 10 in team-b. Each sub-benchmark is
// one way people open the list; p50-ms and p95-ms are the page's answer
// times (the target is p95 < 200 ms).
func BenchmarkRunsListPage(b *testing.B) {
	const runs, stacks = 100_000, 100
	srv := inproc.Start(b, func(c *app.Config) { c.WorkerSlots = -1 })
	admin, reader := newClient(b, ""), newClient(b, "")
	mustCall := func(method, path string, body any) {
		srv.Must(http.StatusCreated, method, path, srv.AdminKey, body)
	}
	mustCall("POST", "/api/v1/integrations/gitlab", map[string]any{"name": "GitLab", "is_default": true,
		"api_host": srv.SimURL, "token": srv.Token(gitlabsim.TokenOptions{})})
	mustCall("POST", "/api/v1/spaces", map[string]any{"name": "Team A"})
	mustCall("POST", "/api/v1/spaces", map[string]any{"name": "Team B"})
	mustCall("POST", "/api/v1/users", map[string]any{"username": "reader", "password": "pw-reader-0123456789",
		"roles": []map[string]string{{"space": "team-b", "role": "read"}}})

	// The server stops while the runs are written straight into its
	// database (through the store, then their states in one UPDATE:
	// runs are created QUEUED, and a scheduler would take them).
	if err := srv.App.Close(); err != nil {
		b.Fatal(err)
	}
	seedRuns(b, filepath.Join(srv.Config.DataDir, sqlite.FileName), runs, stacks)
	if err := srv.Boot(); err != nil {
		b.Fatal(err)
	}
	admin.base, reader.base = srv.URL, srv.URL
	admin.mustLogin("admin", srv.AdminPassword)
	reader.mustLogin("reader", "pw-reader-0123456789")

	for _, tc := range []struct {
		name, path string
		c          *client
		rows       int
	}{
		{"all", "/runs", admin, runsPageSize},
		{"attention", "/runs?attention=1", admin, runsPageSize},
		{"state-failed", "/runs?state=FAILED", admin, runsPageSize},
		{"stack", "/runs?stack=s042", admin, runsPageSize},
		{"space-type", "/runs?space=team-b&type=PROPOSED", admin, runsPageSize},
		{"commit", "/runs?commit=c0ffee0000000000000000000000000000004242", admin, 1},
		{"reader-of-team-b", "/runs", reader, runsPageSize},
		{"reader-attention", "/runs?attention=1", reader, runsPageSize},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				p := tc.c.get(tc.path)
				took = append(took, time.Since(start))
				if p.status != http.StatusOK || strings.Count(p.body, `<tr id="run-`) != tc.rows {
					b.Fatalf("%s = %d with %d rows, want %d", tc.path, p.status, strings.Count(p.body, `<tr id="run-`), tc.rows)
				}
			}
			slices.Sort(took)
			pct := func(p float64) float64 {
				return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
		})
	}
}

// runsPageSize is the list's page (runs_list.go's runsPageSize).
const runsPageSize = 50

// seedRuns writes n runs on stacks s000… into the SQLite database at
// path: stacks below 90 in team-a, the others in team-b; every third run
// PROPOSED; 1 in 50 UNCONFIRMED, 1 in 10 FAILED, the rest FINISHED.
func seedRuns(b *testing.B, path string, n, stacks int) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Now().UTC().Add(-time.Duration(n) * time.Second)
	e := audit.Entry{At: at, Actor: "bench", Action: "stack.create", ResourceType: "stack"}
	for i := range stacks {
		st := stack.Stack{ID: fmt.Sprintf("s%03d", i), Name: fmt.Sprintf("Stack %03d", i), SpaceID: "team-a", IntegrationID: "gitlab",
			Repository: "acme/monorepo", ProjectID: 7, Branch: "main", ProjectRoot: fmt.Sprintf("stacks/%03d", i),
			AdditionalProjectGlobs: []string{}, Labels: []string{}, Tool: stack.OpenTofu, WorkerPool: stack.DefaultWorkerPool,
			CreatedAt: at, UpdatedAt: at}
		if i >= 90 {
			st.SpaceID = "team-b"
		}
		if err := s.CreateStack(ctx, st, e); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 1_000
	for from := 0; from < n; from += batch {
		c := run.Changes{At: at, Actor: "bench"}
		for i := from; i < min(n, from+batch); i++ {
			t := at.Add(time.Duration(i) * time.Second)
			r := run.Run{ID: run.NewID(t), StackID: fmt.Sprintf("s%03d", i%stacks), Type: run.Tracked, State: run.Queued,
				CommitSHA: fmt.Sprintf("c0ffee%034x", i), CommitTitle: fmt.Sprintf("Change number %d", i), Branch: "main",
				Trigger: "push", TriggeredBy: "gitlab/push:ana", CreatedAt: t, UpdatedAt: t}
			if i%3 == 0 {
				r.Type = run.Proposed
			}
			c.Create = append(c.Create, r)
		}
		if _, err := s.ApplyRunChanges(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE runs SET state = CASE
		WHEN rowid % 50 = 0 AND type = 'TRACKED' THEN 'UNCONFIRMED' WHEN rowid % 10 = 1 THEN 'FAILED' ELSE 'FINISHED' END`); err != nil {
		b.Fatal(err)
	}
}
