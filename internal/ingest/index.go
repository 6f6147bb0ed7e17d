package ingest

import (
	"sync"

	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/trigger"
)

// indexes keeps, per repository, what planning derives from its stacks
// (their trigger view and matcher) for as long as the store hands out the
// same list: sqlstore shares a repository's stacks, unchanged, until one
// of them changes (stack.Store.ListStacksByRepository). With 10,000 stacks
// on one repository, deriving them for each delivery cost more CPU than
// the rest of its planning (docs/benchmarks.md).
type indexes struct {
	mu     sync.Mutex
	byRepo map[repoKey]*repoIndex
}

// repoKey names a repository as a delivery does.
type repoKey struct {
	integrationID string
	projectID     int64
	path          string
}

// repoIndex is derived from one list of stacks.
type repoIndex struct {
	first   *stack.Stack // the list's first stack, and its length: the same list
	n       int
	matcher *trigger.Matcher
}

// maxIndexes bounds the repositories kept: past it the map starts again
// empty (one derivation per repository, not memory without end). Each
// keeps its list alive until replaced, as the store's cache does.
const maxIndexes = 4096

// of returns the index of stacks, the list the store returned for key:
// the kept one when it was derived from this very list, else a new one.
// A list made for one caller alone (read in a transaction) is derived
// again each time, as before there was this cache.
func (x *indexes) of(key repoKey, stacks []stack.Stack) *repoIndex {
	if len(stacks) == 0 {
		return &repoIndex{matcher: trigger.NewMatcher(nil)}
	}
	x.mu.Lock()
	ix := x.byRepo[key]
	x.mu.Unlock()
	if ix != nil && ix.first == &stacks[0] && ix.n == len(stacks) {
		return ix
	}
	ix = &repoIndex{first: &stacks[0], n: len(stacks), matcher: trigger.NewMatcher(triggerStacks(stacks))}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byRepo == nil || len(x.byRepo) >= maxIndexes {
		x.byRepo = map[repoKey]*repoIndex{}
	}
	x.byRepo[key] = ix
	return ix
}
