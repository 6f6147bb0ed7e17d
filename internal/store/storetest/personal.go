package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func mustPersonalKey(t *testing.T, s *sqlstore.Store, id, owner string) {
	t.Helper()
	k := apiKey(id)
	k.CreatedBy, k.Personal = identity.UserPrincipal(owner), true
	if err := s.CreateAPIKey(ctx(), k, nil, idEntry("api_key.create", id)); err != nil {
		t.Fatalf("create personal key %s: %v", id, err)
	}
}

// testPersonalKeys: a personal key holds no bindings of its own and reads
// its owner's, hand-given and mapped, as they are now; it cannot be given
// roles, and it never counts as the root-admin key the guard keeps.
func testPersonalKeys(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "platform"})
	if err := s.CreateRoleMapping(ctx(), mapping("m1", "", "acme/platform", "platform", space.Write),
		idEntry("role_mapping.create", "m1")); err != nil {
		t.Fatal(err)
	}
	eve, err := s.UpsertExternalUser(ctx(), identity.User{Username: "eve", Issuer: testIssuer, Subject: "7", CreatedAt: base},
		[]string{"acme/platform"}, idEntry("user.sync_roles", ""))
	if err != nil {
		t.Fatal(err)
	}
	owner := eve.Principal()
	if err := s.Grant(ctx(), space.Binding{Principal: owner, SpaceID: space.RootID, Role: space.Read}, idEntry("user.grant_role", eve.ID)); err != nil {
		t.Fatal(err)
	}
	mustPersonalKey(t, s, "pk1", eve.ID)
	mustKey(t, s, "own", owner, nil, nil) // an ordinary key of eve's: its own (no) roles

	ownerRoles := func() []space.Binding {
		t.Helper()
		bs, err := s.Bindings(ctx(), owner)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	wantSame := func(what string) {
		t.Helper()
		got, err := s.Bindings(ctx(), "apikey:pk1")
		if want := ownerRoles(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the personal key's bindings = %+v, %v; want the owner's %+v", what, got, err, want)
		}
	}
	if bs := ownerRoles(); len(bs) != 2 || bs[0].MappingID != "m1" {
		t.Fatalf("eve's roles = %+v, want read on root and mapped write on platform", bs)
	}
	wantSame("at creation")
	if bs, err := s.Bindings(ctx(), "apikey:own"); err != nil || len(bs) != 0 {
		t.Errorf("an ordinary key of eve's has bindings %+v, %v", bs, err)
	}

	k, err := s.GetAPIKey(ctx(), "pk1")
	if err != nil || !k.Personal || k.Owner() != eve.ID {
		t.Errorf("GetAPIKey = %+v, %v", k, err)
	}
	keys, err := s.ListPersonalKeys(ctx(), eve.ID)
	if err != nil || len(keys) != 1 || keys[0].ID != "pk1" {
		t.Errorf("ListPersonalKeys = %+v, %v; want pk1 only (not the ordinary key)", keys, err)
	}
	if keys, err := s.ListPersonalKeys(ctx(), "nobody"); err != nil || len(keys) != 0 {
		t.Errorf("ListPersonalKeys(nobody) = %+v, %v", keys, err)
	}

	// Roles of its own are refused, at creation and later.
	bad := apiKey("pk2")
	bad.CreatedBy, bad.Personal = owner, true
	wantCode(t, s.CreateAPIKey(ctx(), bad, []space.Binding{{SpaceID: space.RootID, Role: space.Admin}}, idEntry("api_key.create", "pk2")), apperr.Invalid)
	bad.CreatedBy = "apikey:own"
	wantCode(t, s.CreateAPIKey(ctx(), bad, nil, idEntry("api_key.create", "pk2")), apperr.Invalid)
	wantCode(t, s.Grant(ctx(), space.Binding{Principal: "apikey:pk1", SpaceID: space.RootID, Role: space.Admin},
		idEntry("api_key.grant_role", "pk1")), apperr.Invalid)
	if _, err := s.GetAPIKey(ctx(), "pk2"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a refused personal key was stored: %v", err)
	}

	// The owner's roles change: the key follows at once.
	if err := s.SyncMappedRoles(ctx(), eve.ID, nil, idEntry("user.sync_roles", eve.ID)); err != nil {
		t.Fatal(err)
	}
	wantSame("after the owner left the group")
	if bs, _ := s.Bindings(ctx(), "apikey:pk1"); len(bs) != 1 || bs[0].Role != space.Read {
		t.Errorf("after the owner left the group the key holds %+v", bs)
	}
	if err := s.SyncMappedRoles(ctx(), eve.ID, []string{"acme/platform"}, idEntry("user.sync_roles", eve.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoleMapping(ctx(), "m1", idEntry("role_mapping.delete", "m1")); err != nil {
		t.Fatal(err)
	}
	wantSame("after the mapping was deleted")
	if err := s.Revoke(ctx(), owner, space.RootID, idEntry("user.revoke_role", eve.ID)); err != nil {
		t.Fatal(err)
	}
	if bs, err := s.Bindings(ctx(), "apikey:pk1"); err != nil || len(bs) != 0 {
		t.Errorf("the owner holds no role, the key %+v, %v", bs, err)
	}

	// At most MaxPersonalKeys per user.
	for i := 2; i <= identity.MaxPersonalKeys; i++ {
		mustPersonalKey(t, s, fmt.Sprintf("pk-more-%02d", i), eve.ID)
	}
	more := apiKey("pk-too-many")
	more.CreatedBy, more.Personal = owner, true
	wantCode(t, s.CreateAPIKey(ctx(), more, nil, idEntry("api_key.create", more.ID)), apperr.Conflict)
	if keys, err := s.ListPersonalKeys(ctx(), eve.ID); err != nil || len(keys) != identity.MaxPersonalKeys {
		t.Errorf("ListPersonalKeys = %d keys, %v", len(keys), err)
	}

	// The guard: a root admin's personal key acts as root admin but is not
	// the usable root-admin key the guard keeps.
	mustUser(t, s, "admin", rootAdmin)
	mustKey(t, s, "root-key", "user:admin", nil, rootAdmin)
	mustPersonalKey(t, s, "pk-admin", "admin")
	if bs, _ := s.Bindings(ctx(), "apikey:pk-admin"); !space.IsRootAdmin(bs) {
		t.Errorf("the root admin's personal key holds %+v", bs)
	}
	wantCode(t, s.DeleteAPIKey(ctx(), "root-key", idEntry("api_key.delete", "root-key")), apperr.Conflict)
	expires := base.Add(time.Hour)
	mustKey(t, s, "root-key-2", "user:admin", &expires, rootAdmin)
	if err := s.DeleteAPIKey(ctx(), "root-key", idEntry("api_key.delete", "root-key")); err != nil {
		t.Errorf("deleting one of two root-admin keys: %v", err)
	}

	// Deleting the owner deletes its personal keys.
	if err := s.DeleteUser(ctx(), eve.ID, idEntry("user.delete", eve.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAPIKey(ctx(), "pk1"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("eve's personal key outlived her: %v", err)
	}
}
