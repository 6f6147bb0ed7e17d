package ingest

import (
	"slices"
	"testing"

	"github.com/hoistdev/hoist/internal/stack"
)

// TestIndexFollowsTheList: a repository's index is derived again whenever
// the store hands out another list (a stack changed), never reused for
// one it was not derived from.
func TestIndexFollowsTheList(t *testing.T) {
	t.Parallel()
	shared := []stack.Stack{{ID: "a", ProjectRoot: "a"}, {ID: "b", ProjectRoot: "b"}}
	key := repoKey{"gl", 7, "acme/infra"}
	var x indexes
	first := x.of(key, shared)
	for _, tc := range []struct {
		name   string
		key    repoKey
		stacks []stack.Stack
		same   bool // the index derived first
	}{
		{"the same list", key, shared, true},
		{"a copy", key, slices.Clone(shared), false},
		{"a shorter list on the same array", key, shared[:1], false},
		{"the same list of another repository", repoKey{"gl", 8, "acme/other"}, shared, false},
	} {
		if got := x.of(tc.key, tc.stacks); (got == first) != tc.same {
			t.Errorf("%s: the first index reused = %v, want %v", tc.name, got == first, tc.same)
		}
	}
	// The copy replaced the list kept for key: the original is derived again.
	if x.of(key, shared) == first {
		t.Error("an index kept after its repository's list was replaced")
	}
	got := x.of(key, shared).matcher.Match([]string{"b/main.tf"})
	if !slices.Equal(got, []bool{false, true}) {
		t.Errorf("the index matches b/main.tf to %v, want [false true]", got)
	}
}
