package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// BenchmarkStacksOfRepository loads every stack of one repository, as
// webhook processing does for each delivery, with 10,000 stacks on that
// repository and 1,000 on another (SPEC §7's scale): full rows
// (ListStacksByRepository) and only what the push policy needs
// (ListTriggerStacks).
func BenchmarkStacksOfRepository(b *testing.B) {
	const n = 10_000
	lookups := map[string]func(ctx context.Context, s *sqlstore.Store) (int, error){
		"full": func(ctx context.Context, s *sqlstore.Store) (int, error) {
			got, err := s.ListStacksByRepository(ctx, "gl", 7, "acme/monorepo")
			return len(got), err
		},
		"trigger": func(ctx context.Context, s *sqlstore.Store) (int, error) {
			got, err := s.ListTriggerStacks(ctx, "gl", 7, "acme/monorepo")
			return len(got), err
		},
	}
	for _, dialect := range dbtest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := dbtest.Open(b, dialect)
			seedStacks(b, s, n, 1_000)
			for name, lookup := range lookups {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if got, err := lookup(context.Background(), s); err != nil || got != n {
							b.Fatalf("got %d stacks, %v", got, err)
						}
					}
				})
			}
		})
	}
}

// seedStacks creates root, a default integration gl, n stacks on project 7
// and others on project 8.
func seedStacks(b *testing.B, s *sqlstore.Store, n, others int) {
	b.Helper()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.CreateSpace(ctx, space.Space{ID: space.RootID, Name: "root", CreatedAt: at, UpdatedAt: at}); err != nil {
		b.Fatal(err)
	}
	it := integration.Integration{ID: "gl", Provider: integration.GitLab, Name: "gl", IsDefault: true, SpaceID: space.RootID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com", TokenSealed: []byte{1},
		WebhookSecretSealed: []byte{2}, CreatedAt: at, UpdatedAt: at}
	e := audit.Entry{At: at, Actor: "bench", Action: "create", ResourceType: "bench"}
	if err := s.CreateIntegration(ctx, it, e); err != nil {
		b.Fatal(err)
	}
	for i := range n + others {
		st := stack.Stack{ID: fmt.Sprintf("s%05d", i), Name: fmt.Sprintf("s%05d", i), SpaceID: space.RootID, IntegrationID: "gl",
			Repository: "acme/monorepo", ProjectID: 7, Branch: "main", ProjectRoot: fmt.Sprintf("stacks/%05d", i),
			AdditionalProjectGlobs: []string{"modules/**"}, Labels: []string{"bench"}, Tool: stack.OpenTofu,
			WorkerPool: stack.DefaultWorkerPool, CreatedAt: at, UpdatedAt: at}
		if i >= n {
			st.Repository, st.ProjectID = "acme/other", 8
		}
		if err := s.CreateStack(ctx, st, e); err != nil {
			b.Fatal(err)
		}
	}
}
