package storetest

import (
	"reflect"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// testKeyCeilings: a personal key's ceiling is stored with it, read back
// by GetAPIKey, the listings and Ceiling; a listed space that is deleted
// leaves the list but not the limit; other principals have none, and an
// ordinary key cannot have one.
func testKeyCeilings(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	mustSpace(t, s, space.Space{ID: "b"})
	mustUser(t, s, "eve", []space.Binding{{SpaceID: space.RootID, Role: space.Admin}})

	limited := apiKey("pk-lim")
	limited.CreatedBy, limited.Personal = identity.UserPrincipal("eve"), true
	limited.Ceiling = space.Ceiling{Max: space.Read, Limited: true, Spaces: []string{"a", "b"}}
	if err := s.CreateAPIKey(ctx(), limited, nil, idEntry("api_key.create", limited.ID)); err != nil {
		t.Fatal(err)
	}
	capped := apiKey("pk-cap")
	capped.CreatedBy, capped.Personal = identity.UserPrincipal("eve"), true
	capped.Ceiling = space.Ceiling{Max: space.Write}
	if err := s.CreateAPIKey(ctx(), capped, nil, idEntry("api_key.create", capped.ID)); err != nil {
		t.Fatal(err)
	}
	mustPersonalKey(t, s, "pk-free", "eve")

	want := map[string]space.Ceiling{"pk-lim": limited.Ceiling, "pk-cap": capped.Ceiling, "pk-free": {}}
	for id, w := range want {
		c, err := s.Ceiling(ctx(), identity.APIKeyPrincipal(id))
		if err != nil || !reflect.DeepEqual(c, w) {
			t.Errorf("Ceiling(%s) = %+v, %v; want %+v", id, c, err, w)
		}
		k, err := s.GetAPIKey(ctx(), id)
		if err != nil || !reflect.DeepEqual(k.Ceiling, w) {
			t.Errorf("GetAPIKey(%s).Ceiling = %+v, %v; want %+v", id, k.Ceiling, err, w)
		}
	}
	mine, err := s.ListPersonalKeys(ctx(), "eve")
	if err != nil || len(mine) != 3 {
		t.Fatalf("ListPersonalKeys = %d keys, %v", len(mine), err)
	}
	all, _, err := s.ListAPIKeys(ctx(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]identity.APIKey{mine, all} {
		for _, k := range list {
			if w, ok := want[k.ID]; ok && !reflect.DeepEqual(k.Ceiling, w) {
				t.Errorf("listed %s with ceiling %+v, want %+v", k.ID, k.Ceiling, w)
			}
		}
	}
	for _, p := range []string{"user:eve", "apikey:nope", "run:x"} {
		if c, err := s.Ceiling(ctx(), p); err != nil || !c.IsZero() {
			t.Errorf("Ceiling(%s) = %+v, %v; want none", p, c, err)
		}
	}

	// Deleting a listed space narrows the key; deleting the last leaves it
	// limited to nothing.
	for i, id := range []string{"a", "b"} {
		if err := s.DeleteSpace(ctx(), id); err != nil {
			t.Fatal(err)
		}
		c, err := s.Ceiling(ctx(), "apikey:pk-lim")
		if err != nil || !c.Limited || len(c.Spaces) != 1-i || c.Max != space.Read {
			t.Errorf("after deleting space %s: ceiling %+v, %v", id, c, err)
		}
	}

	// An ordinary key takes no ceiling; deleting a key takes its spaces.
	ordinary := apiKey("k-ord")
	ordinary.Ceiling = space.Ceiling{Max: space.Read}
	if err := s.CreateAPIKey(ctx(), ordinary, nil, idEntry("api_key.create", ordinary.ID)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("ordinary key with a ceiling: %v, want Invalid", err)
	}
	mustSpace(t, s, space.Space{ID: "c"})
	scoped := apiKey("pk-c")
	scoped.CreatedBy, scoped.Personal = identity.UserPrincipal("eve"), true
	scoped.Ceiling = space.Ceiling{Limited: true, Spaces: []string{"c"}}
	if err := s.CreateAPIKey(ctx(), scoped, nil, idEntry("api_key.create", scoped.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPIKey(ctx(), "pk-c", idEntry("api_key.delete", "pk-c")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSpace(ctx(), "c"); err != nil {
		t.Errorf("space c after its key was deleted: %v", err)
	}
	// A listed space that does not exist is refused, and nothing is kept.
	ghost := apiKey("pk-ghost")
	ghost.CreatedBy, ghost.Personal = identity.UserPrincipal("eve"), true
	ghost.Ceiling = space.Ceiling{Limited: true, Spaces: []string{"nowhere"}}
	if err := s.CreateAPIKey(ctx(), ghost, nil, idEntry("api_key.create", ghost.ID)); err == nil {
		t.Error("a ceiling naming a missing space was stored")
	}
	if _, err := s.GetAPIKey(ctx(), "pk-ghost"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the refused key is there: %v", err)
	}
}
