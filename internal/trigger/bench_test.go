package trigger

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/vcs"
)

// benchRepo is a large monorepo (SPEC §7): 10,000 stacks rooted at
// stacks/<team>/<n> (50 teams of 200), one in ten with an additional glob of
// one of four shapes, and a push of 5,000 files spread over stacks, modules,
// per-stack config and unrelated code.
func benchRepo(tb testing.TB) ([]Stack, []string) {
	tb.Helper()
	const teams, perTeam = 50, 200
	stacks := make([]Stack, 0, teams*perTeam)
	for team := range teams {
		for n := range perTeam {
			st := Stack{ID: fmt.Sprintf("team-%02d-%03d", team, n), Branch: "main",
				ProjectRoot: fmt.Sprintf("stacks/team-%02d/%03d", team, n)}
			if n%10 == 0 {
				st.AdditionalGlobs = []string{[]string{
					fmt.Sprintf("modules/team-%02d/**", team),                    // shared by the team
					fmt.Sprintf("stacks/team-%02d/shared/*.tf", team),            // shared by the team
					fmt.Sprintf("config/team-%02d/%03d/*.yaml", team, n),         // one stack's own
					fmt.Sprintf("env/{dev,prod}/team-%02d/%03d.tfvars", team, n), // alternation, wide prefix
				}[n/10%4]}
			}
			stacks = append(stacks, st)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	files := make([]string, 0, 5000)
	for len(files) < 5000 {
		team, n, k := rng.IntN(teams), rng.IntN(perTeam), rng.IntN(1000)
		switch r := rng.IntN(100); {
		case r < 60:
			files = append(files, fmt.Sprintf("stacks/team-%02d/%03d/sub/dir/file-%d.tf", team, n, k))
		case r < 70:
			files = append(files, fmt.Sprintf("modules/team-%02d/mod-%d/main.tf", team, k))
		case r < 76:
			files = append(files, fmt.Sprintf("env/prod/team-%02d/%03d.tfvars", team, n))
		case r < 80:
			files = append(files, fmt.Sprintf("config/team-%02d/%03d/app.yaml", team, n))
		default:
			files = append(files, fmt.Sprintf("app/service-%d/internal/pkg/file-%d.go", team, k))
		}
	}
	slices.Sort(files)
	return stacks, slices.Compact(files)
}

// BenchmarkMatch5000Files10000Stacks measures the SPEC §7 target (< 20 ms on
// 2 cores) with a prebuilt Matcher, as the server keeps one per repository.
func BenchmarkMatch5000Files10000Stacks(b *testing.B) {
	stacks, files := benchRepo(b)
	m := NewMatcher(stacks)
	affected := 0
	for _, a := range m.Match(files) {
		if a {
			affected++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Match(files)
	}
	b.ReportMetric(float64(affected), "affected")
}

// BenchmarkBuildAndMatch5000Files10000Stacks adds building the Matcher, for
// callers that build one per event.
func BenchmarkBuildAndMatch5000Files10000Stacks(b *testing.B) {
	stacks, files := benchRepo(b)
	b.ReportAllocs()
	for b.Loop() {
		NewMatcher(stacks).Match(files)
	}
}

// BenchmarkPlanRuns5000Files10000Stacks is the whole pure step of one push:
// match, decide every stack, plan the runs.
func BenchmarkPlanRuns5000Files10000Stacks(b *testing.B) {
	stacks, files := benchRepo(b)
	m := NewMatcher(stacks)
	ev := &vcs.Event{Kind: vcs.KindPush, Branch: "feature", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PlanRuns(Request{Event: ev, ChangedFiles: files, Matcher: m, RunCap: 1 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchRepoMatchesAffected keeps the benchmark honest: on its data the
// index agrees with the plain definition.
func TestBenchRepoMatchesAffected(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: the plain definition is quadratic")
	}
	stacks, files := benchRepo(t)
	got := NewMatcher(stacks).Match(files)
	for i := 0; i < len(stacks); i += 37 { // a spread sample keeps it quick
		st := stacks[i]
		if want := Affected(st.ProjectRoot, st.AdditionalGlobs, files); got[i] != want {
			t.Errorf("stack %s: Match = %v, Affected = %v", st.ID, got[i], want)
		}
	}
}
