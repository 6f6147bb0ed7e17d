package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// testReadCache: a server keeps a repository's stacks and the
// integrations between reads (sqlstore/readcache.go), and still sees at
// its next read every change another server made — creations, updates,
// tracked commit moves, deletions — and, inside a transaction, the
// transaction's own writes. What a caller gets is its own to change. A
// migration that rebuilt stacks or integrations and lost the generation
// triggers fails here.
// errRollback ends a transaction without committing it.
var errRollback = errors.New("roll back")

func testReadCache(t *testing.T, h Harness) {
	open := h.NewDB(t)
	writer, reader := openStore(t, open), openStore(t, open) // two servers
	mustSpace(t, writer, space.Space{ID: space.RootID, Name: "root"})
	mustSpace(t, writer, space.Space{ID: "a"})
	for _, id := range []string{"gl", "gl-2"} {
		it := testIntegration(id, space.RootID, id == "gl")
		if err := writer.CreateIntegration(ctx(), it, entry("integration.create", it.ID)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(s *sqlstore.Store) []stack.Stack {
		t.Helper()
		got, err := s.ListStacksByRepository(ctx(), "gl", 7, "acme/infra")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ids := func(sts []stack.Stack) string {
		var out []string
		for _, st := range sts {
			out = append(out, st.ID)
		}
		return strings.Join(out, ",")
	}

	x := mustStack(t, writer, testStack("x", "a", "gl"))
	if got := list(reader); ids(got) != "x" || !reflect.DeepEqual(got[0], x) {
		t.Fatalf("first read = %+v\nwant %+v", got, x)
	}
	got := list(reader) // from the cache: shared, not copied
	if again := list(reader); &again[0] != &got[0] {
		t.Error("a repository's stacks were copied for each caller")
	}
	// A caller's append copies: nothing shared has room to grow.
	if cap(got) != len(got) || cap(got[0].Labels) != len(got[0].Labels) {
		t.Errorf("shared stacks with room to grow: list %d of %d, labels %d of %d",
			len(got), cap(got), len(got[0].Labels), cap(got[0].Labels))
	}

	if got, err := reader.GetStack(ctx(), x.ID); err != nil || !reflect.DeepEqual(got, x) {
		t.Fatalf("GetStack = %+v, %v", got, err)
	}
	x.Labels, x.Description = []string{"eu"}, "updated"
	if err := writer.UpdateStack(ctx(), x, stackEntry("stack.update", x.ID)); err != nil {
		t.Fatal(err)
	}
	if got, err := reader.GetStack(ctx(), x.ID); err != nil || got.Description != "updated" {
		t.Errorf("GetStack after another server's update = %+v, %v", got, err)
	}
	if got := list(reader); len(got) != 1 || !slices.Equal(got[0].Labels, []string{"eu"}) || got[0].Description != "updated" {
		t.Errorf("after another server's update: %+v", got)
	}
	moved := stack.TrackedCommit{SHA: strings.Repeat("c", 40), Branch: "main", MovedAt: base}
	if ok, err := writer.MoveTrackedCommit(ctx(), x.ID, moved); err != nil || !ok {
		t.Fatalf("MoveTrackedCommit = %v, %v", ok, err)
	}
	if got := list(reader); got[0].TrackedCommit == nil || got[0].TrackedCommit.SHA != moved.SHA {
		t.Errorf("after another server moved the tracked commit: %+v", got[0].TrackedCommit)
	}
	mustStack(t, writer, testStack("y", "a", "gl"))
	if got := list(reader); ids(got) != "x,y" {
		t.Errorf("after another server's creation: %s", ids(got))
	}
	if err := writer.DeleteStack(ctx(), x.ID, stackEntry("stack.delete", x.ID)); err != nil {
		t.Fatal(err)
	}
	if got := list(reader); ids(got) != "y" {
		t.Errorf("after another server's deletion: %s", ids(got))
	}
	_, err := reader.GetStack(ctx(), x.ID)
	wantCode(t, err, apperr.NotFound)

	t.Run("a transaction reads its own writes", func(t *testing.T) {
		list(reader) // cached
		err := reader.InTx(ctx(), func(ctx context.Context) error {
			z := testStack("z", "a", "gl")
			if err := reader.CreateStack(ctx, z, stackEntry("stack.create", z.ID)); err != nil {
				return err
			}
			got, err := reader.ListStacksByRepository(ctx, "gl", 7, "acme/infra")
			if err != nil {
				return err
			}
			if ids(got) != "y,z" {
				t.Errorf("inside the transaction: %s", ids(got))
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if got := list(reader); ids(got) != "y" {
			t.Errorf("after the rollback: %s", ids(got))
		}
		// The rolled-back transaction's rows were not kept under the
		// generation it had: another change committed now takes that
		// generation, and must be what is read.
		mustStack(t, writer, testStack("w", "a", "gl"))
		if got := list(reader); ids(got) != "w,y" {
			t.Errorf("after a commit that took the rolled-back generation: %s", ids(got))
		}
		// A transaction that changes nothing reads through the cache.
		err = reader.InTx(ctx(), func(ctx context.Context) error {
			got, err := reader.GetStack(ctx, "w")
			if err == nil && got.ID != "w" {
				t.Errorf("GetStack in a transaction = %+v", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a scope", func(t *testing.T) {
		sc := mustStack(t, writer, testStack("scoped", "a", "gl"))
		describe := func(ctx context.Context) string {
			t.Helper()
			got, err := reader.GetStack(ctx, sc.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Description
		}
		describe(ctx()) // cached
		before, err := reader.CacheScope(ctx())
		if err != nil {
			t.Fatal(err)
		}
		sc.Description = "changed after the scope"
		if err := writer.UpdateStack(ctx(), sc, stackEntry("stack.update", sc.ID)); err != nil {
			t.Fatal(err)
		}
		// A scope reads as of when it was taken (here from the cache, no
		// generation read); a later one, or none, sees the change.
		if d := describe(before); d != "" {
			t.Errorf("in a scope taken before the change: %q; want the stack as it was", d)
		}
		after, err := reader.CacheScope(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if d := describe(after); d != sc.Description {
			t.Errorf("in a scope taken after the change: %q", d)
		}
		if d := describe(ctx()); d != sc.Description {
			t.Errorf("without a scope: %q", d)
		}
		// A transaction reads its own writes whatever its scope.
		err = reader.InTx(before, func(ctx context.Context) error {
			sc.Description = "changed in the transaction"
			if err := reader.UpdateStack(ctx, sc, stackEntry("stack.update", sc.ID)); err != nil {
				return err
			}
			if d := describe(ctx); d != sc.Description {
				t.Errorf("in a transaction in a scope: %q", d)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
	})

	t.Run("policies", func(t *testing.T) {
		list := func(s *sqlstore.Store) []policy.Policy {
			t.Helper()
			got, err := s.ListPoliciesOfType(ctx(), policy.Push)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := list(reader); len(got) != 0 {
			t.Fatalf("first read = %+v; want none", got)
		}
		p := testPolicy("guard", "a", policy.Push)
		if err := writer.CreatePolicy(ctx(), p, policyEntry("policy.create", p.ID)); err != nil {
			t.Fatal(err)
		}
		if got := list(reader); len(got) != 1 || !reflect.DeepEqual(got[0], p) {
			t.Fatalf("after another server's creation = %+v\nwant %+v", got, p)
		}
		got := list(reader) // from the cache
		got[0].Labels = append(got[0].Labels, "changed by the caller")
		if again := list(reader); !reflect.DeepEqual(again[0], p) {
			t.Errorf("a caller's change reached the cache: %+v", again[0])
		}
		p.Body, p.Version = "package hoist\n\nignore := true\n", 2
		if err := writer.UpdatePolicy(ctx(), p, policyEntry("policy.update", p.ID)); err != nil {
			t.Fatal(err)
		}
		if got := list(reader); len(got) != 1 || got[0].Version != 2 || got[0].Body != p.Body {
			t.Errorf("after another server's update = %+v", got)
		}
		if err := writer.DeletePolicy(ctx(), p.ID, policyEntry("policy.delete", p.ID)); err != nil {
			t.Fatal(err)
		}
		if got := list(reader); len(got) != 0 {
			t.Errorf("after another server's deletion = %+v", got)
		}
	})

	t.Run("integrations", func(t *testing.T) {
		get := func(s *sqlstore.Store, id string) (string, error) {
			it, err := s.GetIntegration(ctx(), id)
			return it.Description, err
		}
		if d, err := get(reader, "gl-2"); err != nil || d != "" {
			t.Fatalf("first read = %q, %v", d, err)
		}
		it, err := writer.GetIntegration(ctx(), "gl-2")
		if err != nil {
			t.Fatal(err)
		}
		it.Description = "changed elsewhere"
		if err := writer.UpdateIntegration(ctx(), it, entry("integration.update", it.ID)); err != nil {
			t.Fatal(err)
		}
		if d, err := get(reader, "gl-2"); err != nil || d != "changed elsewhere" {
			t.Errorf("after another server's update = %q, %v", d, err)
		}
		if err := writer.DeleteIntegration(ctx(), "gl-2", entry("integration.delete", "gl-2")); err != nil {
			t.Fatal(err)
		}
		_, err = get(reader, "gl-2")
		wantCode(t, err, apperr.NotFound)
	})
}
