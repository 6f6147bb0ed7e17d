package sqlstore

import (
	"context"
	"slices"
	"sync"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/stack"
)

// readCache keeps the rows that every webhook reads and that rarely
// change: a repository's stacks (ListStacksByRepository) and the
// integrations (GetIntegration). An entry holds while its table's
// generation (table_generations, bumped by triggers on every insert,
// update and delete, whoever writes) is the one read before the rows, so
// a change made by any server is seen at the next read, as without the
// cache. Reading the generation is one single-column row; the rows it
// saves are tens of columns each, and on SQLite every column read is
// several calls into the driver. Reads inside a transaction bypass it:
// they must see the transaction's own writes.
type readCache struct {
	mu           sync.Mutex
	stacks       map[repoKey]cachedStacks
	integrations map[string]cachedIntegration
}

type repoKey struct {
	integrationID string
	projectID     int64
	path          string
}

type cachedStacks struct {
	generation int64
	stacks     []stack.Stack
}

type cachedIntegration struct {
	generation int64
	it         integration.Integration
}

// maxCachedRepositories bounds the stacks entries (and the integrations):
// past it the cache starts again empty, which costs one read per
// repository, not memory without end.
const maxCachedRepositories = 4096

const (
	stacksTable       = "stacks"
	integrationsTable = "integrations"
)

// generation reads a table's generation; ok false inside a transaction
// (no caching there).
func (s *Store) generation(ctx context.Context, table string) (gen int64, ok bool, err error) {
	if s.ambient(ctx) != nil {
		return 0, false, nil
	}
	if err := s.hotQueryRow(ctx, "SELECT generation FROM table_generations WHERE name = ?", table).Scan(&gen); err != nil {
		return 0, false, wrapInternal(err, "read the generation of %s", table)
	}
	return gen, true, nil
}

// cachedListStacks is ListStacksByRepository through the cache; load
// reads the rows.
func (s *Store) cachedListStacks(ctx context.Context, key repoKey, load func() ([]stack.Stack, error)) ([]stack.Stack, error) {
	gen, ok, err := s.generation(ctx, stacksTable)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return load()
	}
	c := &s.cache
	c.mu.Lock()
	e, hit := c.stacks[key]
	c.mu.Unlock()
	if hit && e.generation == gen {
		return cloneStacks(e.stacks), nil
	}
	out, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.stacks == nil || len(c.stacks) >= maxCachedRepositories {
		c.stacks = map[repoKey]cachedStacks{}
	}
	// Rows read after gen are at least as new as gen: keeping them under
	// gen can only cause one read too many, never a stale answer.
	c.stacks[key] = cachedStacks{generation: gen, stacks: cloneStacks(out)}
	c.mu.Unlock()
	return out, nil
}

// cachedGetIntegration is GetIntegration through the cache.
func (s *Store) cachedGetIntegration(ctx context.Context, id string, load func() (integration.Integration, error)) (integration.Integration, error) {
	gen, ok, err := s.generation(ctx, integrationsTable)
	if err != nil || !ok {
		if err != nil {
			return integration.Integration{}, err
		}
		return load()
	}
	c := &s.cache
	c.mu.Lock()
	e, hit := c.integrations[id]
	c.mu.Unlock()
	if hit && e.generation == gen {
		return cloneIntegration(e.it), nil
	}
	it, err := load()
	if err != nil {
		return integration.Integration{}, err
	}
	c.mu.Lock()
	if c.integrations == nil || len(c.integrations) >= maxCachedRepositories {
		c.integrations = map[string]cachedIntegration{}
	}
	c.integrations[id] = cachedIntegration{generation: gen, it: cloneIntegration(it)}
	c.mu.Unlock()
	return it, nil
}

// cloneStacks copies stacks deeply: callers own what they get and may
// change it. readcache_test.go checks every reference field is copied.
func cloneStacks(in []stack.Stack) []stack.Stack {
	out := make([]stack.Stack, len(in))
	for i, st := range in {
		st.AdditionalProjectGlobs = slices.Clone(st.AdditionalProjectGlobs)
		st.Labels = slices.Clone(st.Labels)
		st.ApplyRequirements = slices.Clone(st.ApplyRequirements)
		st.DriftIssueLabels = slices.Clone(st.DriftIssueLabels)
		if st.TrackedCommit != nil {
			tc := *st.TrackedCommit
			st.TrackedCommit = &tc
		}
		out[i] = st
	}
	return out
}

// cloneIntegration copies an integration deeply.
func cloneIntegration(it integration.Integration) integration.Integration {
	it.Labels = slices.Clone(it.Labels)
	it.TokenSealed = slices.Clone(it.TokenSealed)
	it.WebhookSecretSealed = slices.Clone(it.WebhookSecretSealed)
	it.TokenScopes = slices.Clone(it.TokenScopes)
	if it.TokenExpiresAt != nil {
		t := *it.TokenExpiresAt
		it.TokenExpiresAt = &t
	}
	return it
}
