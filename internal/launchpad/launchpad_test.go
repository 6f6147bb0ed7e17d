package launchpad_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/launchpad"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

func TestComputeFollowsTheStores(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := identity.NewService(st, st, nil)
	if _, err := ids.EnsureBootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	stacks := false
	lp := launchpad.New(launchpad.Config{Integrations: st, Identity: st,
		StacksExistFunc: func(context.Context) (bool, error) { return stacks, nil }})

	done := func() map[string]bool {
		t.Helper()
		s, err := lp.Compute(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{launchpad.FirstRun: s.Next.Done}
		for i, step := range s.Steps {
			if step.Number != i+1 {
				t.Errorf("step %q has number %d at position %d", step.Key, step.Number, i)
			}
			out[step.Key] = step.Done
		}
		return out
	}
	if d := done(); d[launchpad.SourceCode] || d[launchpad.CloudAccount] || d[launchpad.FirstStack] || d[launchpad.Teammate] || d[launchpad.FirstRun] {
		t.Fatalf("fresh account: %v, want nothing done (the bootstrap admin and key are not teammates)", d)
	}

	now := time.Now().UTC()
	it := integration.Integration{ID: "acme", Provider: integration.GitLab, Name: "acme", SpaceID: space.RootID,
		APIHost: "https://gitlab.example.com", UserFacingHost: "https://gitlab.example.com",
		TokenSealed: []byte{1}, WebhookSecretSealed: []byte{2}, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateIntegration(ctx, it, audit.Entry{At: now, Action: "integration.create", ResourceType: "integration", ResourceID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if d := done(); !d[launchpad.SourceCode] || d[launchpad.Teammate] {
		t.Fatalf("after a GitLab integration: %v", d)
	}

	if _, err := ids.CreateUser(ctx, identity.UserPrincipal("admin"), "alice", "", nil); err != nil {
		t.Fatal(err)
	}
	stacks = true
	if d := done(); !d[launchpad.Teammate] || !d[launchpad.FirstStack] || d[launchpad.CloudAccount] {
		t.Fatalf("after a second user and a stack: %v", d)
	}
}

func TestSecondAPIKeyIsATeammate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := identity.NewService(st, st, nil)
	if _, err := ids.EnsureBootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.CreateAPIKey(ctx, identity.UserPrincipal("admin"), identity.KeyInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	s, err := launchpad.New(launchpad.Config{Integrations: st, Identity: st}).Compute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Steps[3].Done || s.Steps[2].Available || s.Complete() {
		t.Errorf("steps %+v", s.Steps)
	}
}
