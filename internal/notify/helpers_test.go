package notify_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// clock is the time the tests control.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// access resolves principals from fixed bindings over the store's space
// tree (space.Resolve, the real rule), the edge of this package.
type access struct {
	store    *sqlstore.Store
	bindings map[string][]space.Binding
}

func (a access) Access(ctx context.Context, principal string) (space.Access, space.Tree, error) {
	spaces, err := a.store.ListSpaces(ctx)
	if err != nil {
		return space.Access{}, space.Tree{}, err
	}
	tree := space.NewTree(spaces)
	return space.Resolve(tree, a.bindings[principal]), tree, nil
}

// env is a notify.Service on a fresh database holding spaces root, a,
// a-child (in a) and b, an integration, and stacks in a-child and b.
type env struct {
	store *sqlstore.Store
	svc   *notify.Service
	clock *clock
	cfg   notify.Config // svc's, for a second server on the same database
}

const (
	admin  = "user:admin"  // root admin
	reader = "user:reader" // reads a
	aAdmin = "user:a-admin"
)

func setup(t testing.TB, dialect string, tweaks ...func(*notify.Config)) *env {
	t.Helper()
	s := dbtest.Open(t, dialect)
	ctx := context.Background()
	for _, sp := range []space.Space{{ID: space.RootID}, {ID: "a", ParentID: space.RootID, Inherit: true},
		{ID: "a-child", ParentID: "a", Inherit: true}, {ID: "b", ParentID: space.RootID}} {
		sp.Name, sp.CreatedAt, sp.UpdatedAt = sp.ID, start, start
		if err := s.CreateSpace(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	it := integration.Integration{ID: "gl", Provider: integration.GitLab, Name: "GitLab", IsDefault: true, SpaceID: space.RootID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com", Labels: []string{},
		TokenScopes: []string{"api"}, TokenSealed: []byte{1}, WebhookSecretSealed: []byte{2}, CreatedAt: start, UpdatedAt: start, CreatedBy: admin}
	if err := s.CreateIntegration(ctx, it, audit.Entry{At: start, Actor: admin, Action: "integration.create", ResourceType: "integration", ResourceID: "gl"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct{ id, space string }{{"net", "a-child"}, {"web", "b"}} {
		if err := s.CreateStack(ctx, stack.Stack{ID: st.id, Name: st.id, SpaceID: st.space, IntegrationID: "gl", Repository: "acme/infra",
			ProjectID: 7, Branch: "main", AdditionalProjectGlobs: []string{}, Labels: []string{}, ApplyRequirements: []string{},
			Tool: stack.OpenTofu, WorkerPool: stack.DefaultWorkerPool, CreatedAt: start, UpdatedAt: start, CreatedBy: admin},
			audit.Entry{At: start, Actor: admin, Action: "stack.create", ResourceType: "stack", ResourceID: st.id}); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: start}
	acc := access{store: s, bindings: map[string][]space.Binding{
		admin:  {{Principal: admin, SpaceID: space.RootID, Role: space.Admin}},
		reader: {{Principal: reader, SpaceID: "a", Role: space.Read}},
		aAdmin: {{Principal: aAdmin, SpaceID: "a", Role: space.Admin}},
	}}
	cfg := notify.Config{Store: s, Access: acc, Spaces: s, Stacks: s, Integrations: s, Box: box,
		PublicURL: "https://hoist.example.com", Clock: c.Now}
	for _, tw := range tweaks {
		tw(&cfg)
	}
	return &env{store: s, svc: notify.NewService(cfg), clock: c, cfg: cfg}
}

// target creates a webhook target as the root admin.
func (e *env) target(t testing.TB, name, spaceID, url string, events ...string) notify.Target {
	t.Helper()
	tg, err := e.svc.Create(context.Background(), admin, notify.CreateInput{Name: name, Space: spaceID, Kind: "webhook",
		URL: url, Secret: testSecret, Events: events})
	if err != nil {
		t.Fatalf("create target %s: %v", name, err)
	}
	return tg
}

const testSecret = "a-shared-secret-of-32-bytes-long"

// deliveries returns a target's deliveries, oldest first.
func (e *env) deliveries(t testing.TB, targetID string) []notify.DeliveryView {
	t.Helper()
	ds, _, err := e.svc.Deliveries(context.Background(), admin, targetID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}
