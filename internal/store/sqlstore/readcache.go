package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/stack"
)

// readCache keeps the rows that every webhook reads and that rarely
// change: a repository's stacks (ListStacksByRepository), a stack
// (GetStack), the integrations (GetIntegration) and the policies of a type
// (ListPoliciesOfType). An entry holds while
// its table's generation (table_generations, bumped by triggers on every
// insert, update and delete, whoever writes) is the one read before the
// rows, so a change made by any server is seen at the next read, as
// without the cache. Reading the generation is one single-column row; the
// rows it saves are tens of columns each, and on SQLite every column read
// is several calls into the driver. Reads inside a transaction must see
// the transaction's own writes: see throughCache.
type readCache struct {
	loads        singleflight.Group
	mu           sync.Mutex
	repositories map[repoKey]cached[[]stack.Stack]
	stacks       map[string]cached[stack.Stack]
	integrations map[string]cached[integration.Integration]
	policies     map[policy.Type]cached[[]policy.Policy]
}

type repoKey struct {
	integrationID string
	projectID     int64
	path          string
}

// cached is a value and the generation of its table read before it.
type cached[V any] struct {
	generation int64
	value      V
}

// maxCachedEntries bounds each map: past it the map starts again empty,
// which costs one read per key, not memory without end.
const maxCachedEntries = 4096

const (
	stacksTable       = "stacks"
	integrationsTable = "integrations"
	policiesTable     = "policies"
)

// throughCache answers key from *m while table's generation stands, else
// from load, and keeps load's answer (errors are not kept). clone copies a
// value deeply: callers own what they get.
//
// Inside a transaction it reads the generation in the transaction and
// never keeps what it loads: a transaction that changed the table sees
// its own, uncommitted generation, which no kept entry has (entries are
// read outside transactions, from committed states, and while the
// transaction holds its bump no other can commit one), so it loads its
// own writes; one that did not sees the committed generation and may use
// the entry, as it would read the committed rows.
func throughCache[K comparable, V any](ctx context.Context, s *Store, table string, m *map[K]cached[V], key K,
	clone func(V) V, load func() (V, error)) (V, error) {
	return throughCacheAlso(ctx, s, table, m, key, clone, load, nil)
}

// throughCacheAlso is throughCache that, when it keeps a loaded value, also
// calls also with it and its generation under the cache's lock (to keep
// what the value holds under other keys).
func throughCacheAlso[K comparable, V any](ctx context.Context, s *Store, table string, m *map[K]cached[V], key K,
	clone func(V) V, load func() (V, error), also func(c *readCache, gen int64, v V)) (V, error) {
	inTx := s.ambient(ctx) != nil
	gen, scoped := scopedGeneration(ctx, s, table)
	if inTx || !scoped {
		if err := s.hotQueryRow(ctx, "SELECT generation FROM table_generations WHERE name = ?", table).Scan(&gen); err != nil {
			var zero V
			return zero, wrapInternal(err, "read the generation of %s", table)
		}
	}
	c := &s.cache
	c.mu.Lock()
	e, hit := (*m)[key]
	c.mu.Unlock()
	if hit && e.generation == gen {
		return clone(e.value), nil
	}
	if inTx {
		return load()
	}
	// Callers that miss the same entry at once share one load: after a
	// change every worker processing a delivery misses its repository's
	// stacks together, and with thousands of stacks a load each held
	// hundreds of megabytes at once (docs/benchmarks.md). The generation is
	// in the key: a caller that read a newer one does not take an older
	// load's rows.
	loaded, err, _ := c.loads.Do(fmt.Sprintf("%s\x00%v\x00%d", table, key, gen), func() (any, error) {
		v, err := load()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if *m == nil || len(*m) >= maxCachedEntries {
			*m = map[K]cached[V]{}
		}
		// Rows read after gen are at least as new as gen: keeping them
		// under gen can only cause one read too many, never a stale answer.
		kept := clone(v)
		(*m)[key] = cached[V]{generation: gen, value: kept}
		if also != nil {
			also(c, gen, kept)
		}
		return kept, nil
	})
	if err != nil {
		if ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return load() // the caller that loaded gave up; this one did not
		}
		var zero V
		return zero, err
	}
	return clone(loaded.(V)), nil
}

// scopeKey is the context key of a Store's CacheScope.
type scopeKey struct{ s *Store }

// CacheScope returns ctx carrying the generations of the read cache's
// tables as they are now, read in one statement: cached reads made with it
// outside a transaction compare their entries with these instead of each
// reading its table's generation (on SQLite a read of the read pool
// re-reads its pages after every commit). It is for one short piece of
// work that reads several cached tables (a delivery's processing, a round
// of GitLab writes): what it reads is at least as new as the moment the
// scope was taken, as if it had all been read then. A row loaded under a
// scope is kept under the scope's generation: a newer reader reads it once
// more, none reads anything older.
func (s *Store) CacheScope(ctx context.Context) (context.Context, error) {
	gens := map[string]int64{}
	_, err := queryAll(ctx, s, s.r, func(row rowScanner) (struct{}, error) {
		var name string
		var gen int64
		err := row.Scan(&name, &gen)
		gens[name] = gen
		return struct{}{}, err
	}, "SELECT name, generation FROM table_generations")
	if err != nil {
		return ctx, wrapInternal(err, "read the generations of the cached tables")
	}
	return context.WithValue(ctx, scopeKey{s}, gens), nil
}

// scopedGeneration is table's generation in ctx's CacheScope, if any.
func scopedGeneration(ctx context.Context, s *Store, table string) (int64, bool) {
	gens, ok := ctx.Value(scopeKey{s}).(map[string]int64)
	if !ok {
		return 0, false
	}
	gen, ok := gens[table]
	return gen, ok
}

// cloneAll copies each of in with clone.
func cloneAll[T any](in []T, clone func(T) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = clone(v)
	}
	return out
}

// shared is the clone of values that readers share and only read.
func shared[V any](v V) V { return v }

// sealStacks clips stacks and each stack's slices to their length before
// they are shared: a reader that appends to one then copies it instead of
// writing into the array the others read.
func sealStacks(in []stack.Stack) []stack.Stack {
	for i := range in {
		st := &in[i]
		st.AdditionalProjectGlobs = slices.Clip(st.AdditionalProjectGlobs)
		st.Labels = slices.Clip(st.Labels)
		st.ApplyRequirements = slices.Clip(st.ApplyRequirements)
		st.DriftIssueLabels = slices.Clip(st.DriftIssueLabels)
	}
	return slices.Clip(in)
}

// cloneStack copies a stack deeply. readcache_test.go checks every
// reference field is copied.
func cloneStack(st stack.Stack) stack.Stack {
	st.AdditionalProjectGlobs = slices.Clone(st.AdditionalProjectGlobs)
	st.Labels = slices.Clone(st.Labels)
	st.ApplyRequirements = slices.Clone(st.ApplyRequirements)
	st.DriftIssueLabels = slices.Clone(st.DriftIssueLabels)
	if st.TrackedCommit != nil {
		tc := *st.TrackedCommit
		st.TrackedCommit = &tc
	}
	return st
}

// clonePolicies copies policies deeply.
func clonePolicies(in []policy.Policy) []policy.Policy {
	return cloneAll(in, func(p policy.Policy) policy.Policy {
		p.Labels = slices.Clone(p.Labels)
		return p
	})
}

// cloneIntegration copies an integration deeply.
func cloneIntegration(it integration.Integration) integration.Integration {
	it.Labels = slices.Clone(it.Labels)
	it.TokenSealed = slices.Clone(it.TokenSealed)
	it.WebhookSecretSealed = slices.Clone(it.WebhookSecretSealed)
	it.TokenScopes = slices.Clone(it.TokenScopes)
	it.DriftIssueLabels = slices.Clone(it.DriftIssueLabels)
	if it.TokenExpiresAt != nil {
		t := *it.TokenExpiresAt
		it.TokenExpiresAt = &t
	}
	return it
}

// keepStacksByID keeps a repository's stacks, just read at gen, as GetStack
// answers too: every run event's GitLab writes read their stack by id, in
// the delivery's transaction, where nothing is kept.
func keepStacksByID(c *readCache, gen int64, sts []stack.Stack) {
	if c.stacks == nil || len(c.stacks)+len(sts) > maxCachedEntries {
		c.stacks = map[string]cached[stack.Stack]{}
	}
	for _, st := range sts {
		c.stacks[st.ID] = cached[stack.Stack]{generation: gen, value: cloneStack(st)}
	}
}
