package trigger

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMatcherAgreesWithAffectedOnCases(t *testing.T) {
	t.Parallel()
	stacks := make([]Stack, len(affectedCases))
	for i, tt := range affectedCases {
		stacks[i] = Stack{ID: tt.name, ProjectRoot: tt.root, AdditionalGlobs: tt.globs}
	}
	m := NewMatcher(stacks)
	// Each case alone: only its stack may be judged on its files.
	for i, tt := range affectedCases {
		if got := m.Match(tt.files)[i]; got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestMatcherAgreesWithAffectedRandom builds random repositories, stacks and
// pushes and checks the index gives, for every stack, what Affected gives.
func TestMatcherAgreesWithAffectedRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "infra", "infrastructure", "modules", "x.tf", "y.tfvars"}
	path := func(maxDepth int) string {
		n := 1 + rng.IntN(maxDepth)
		p := segs[rng.IntN(len(segs))]
		for range n - 1 {
			p += "/" + segs[rng.IntN(len(segs))]
		}
		return p
	}
	globs := []string{"**/*.tf", "a/**", "infra/*.tf", "modules/", "{a,b}/x.tf", "*.tfvars", "a/b", "[", "/b/**/x.tf",
		"{a,{b,infra}}/**", "{infra,modules}/{x.tf,a}", "a/{b,}", "{a,a}/**"}
	for round := range 300 {
		stacks := make([]Stack, 1+rng.IntN(30))
		for i := range stacks {
			root := ""
			if rng.IntN(8) > 0 {
				root = path(3)
			}
			var gs []string
			for range rng.IntN(3) {
				gs = append(gs, globs[rng.IntN(len(globs))])
			}
			stacks[i] = Stack{ID: fmt.Sprint(i), ProjectRoot: root, AdditionalGlobs: gs}
		}
		files := make([]string, rng.IntN(12))
		for i := range files {
			files[i] = path(5)
		}
		got := NewMatcher(stacks).Match(files)
		for i, st := range stacks {
			if want := Affected(st.ProjectRoot, st.AdditionalGlobs, files); got[i] != want {
				t.Fatalf("round %d: stack root %q globs %q files %q: Match = %v, Affected = %v",
					round, st.ProjectRoot, st.AdditionalGlobs, files, got[i], want)
			}
		}
	}
}

func TestMatcherKeepsStackOrder(t *testing.T) {
	t.Parallel()
	stacks := []Stack{{ID: "app", ProjectRoot: "app"}, {ID: "infra", ProjectRoot: "infra"}, {ID: "all"}}
	m := NewMatcher(stacks)
	if got, want := m.Match([]string{"infra/main.tf"}), []bool{false, true, true}; !slices.Equal(got, want) {
		t.Errorf("Match = %v, want %v", got, want)
	}
	if got := m.Match(nil); slices.Contains(got, true) {
		t.Errorf("Match(nil) = %v, want nothing affected", got)
	}
	if got := m.Stacks(); len(got) != 3 || got[1].ID != "infra" {
		t.Errorf("Stacks() = %v", got)
	}
}
