package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// idEntry is the audit entry of an identity change by the admin.
func idEntry(action, id string) audit.Entry {
	typ, _, _ := strings.Cut(action, ".")
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: typ, ResourceID: id, SpaceID: space.RootID}
}

func apiKey(id string) identity.APIKey {
	return identity.APIKey{ID: id, Name: "key " + id, SecretHash: "hash-" + id, CreatedAt: base, CreatedBy: "user:admin"}
}

func testUsers(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	u := identity.User{ID: "alice", Username: "Alice", PasswordHash: "$2a$10$x", CreatedAt: base}
	if err := s.CreateUser(ctx(), u, []space.Binding{{SpaceID: "a", Role: space.Admin}, {SpaceID: space.RootID, Role: space.Read}}, idEntry("user.create", "alice")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx(), "alice")
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
	bs, err := s.Bindings(ctx(), "user:alice")
	want := []space.Binding{{Principal: "user:alice", SpaceID: "a", Role: space.Admin}, {Principal: "user:alice", SpaceID: space.RootID, Role: space.Read}}
	if err != nil || !reflect.DeepEqual(bs, want) {
		t.Errorf("Bindings = %+v, %v", bs, err)
	}
	_, err = s.GetUser(ctx(), "bob")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.CreateUser(ctx(), u, nil, idEntry("user.create", "alice")), apperr.Conflict)
	wantCode(t, s.CreateUser(ctx(), identity.User{ID: "alice2", Username: "Alice", PasswordHash: "h", CreatedAt: base}, nil, idEntry("user.create", "alice2")), apperr.Conflict)

	// All or nothing: a role on a missing space leaves no user behind.
	err = s.CreateUser(ctx(), identity.User{ID: "carol", Username: "carol", PasswordHash: "h", CreatedAt: base},
		[]space.Binding{{SpaceID: "a", Role: space.Read}, {SpaceID: "nope", Role: space.Read}}, idEntry("user.create", "carol"))
	wantField(t, err, "space")
	_, err = s.GetUser(ctx(), "carol")
	wantCode(t, err, apperr.NotFound)

	if err := s.SetPasswordHash(ctx(), "alice", "$2a$10$y", idEntry("user.set_password", "alice")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx(), "alice"); got.PasswordHash != "$2a$10$y" {
		t.Errorf("password hash = %q", got.PasswordHash)
	}
	wantCode(t, s.SetPasswordHash(ctx(), "bob", "h", idEntry("user.set_password", "bob")), apperr.NotFound)

	// Paging by id.
	for i := range 4 {
		id := fmt.Sprintf("user%d", i)
		if err := s.CreateUser(ctx(), identity.User{ID: id, Username: id, PasswordHash: "h", CreatedAt: base}, nil, idEntry("user.create", id)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := s.ListUsers(ctx(), cursor, 2)
		if err != nil || pages > 5 || len(page) > 2 {
			t.Fatalf("ListUsers page %d: %d items, %v", pages, len(page), err)
		}
		for _, u := range page {
			ids = append(ids, u.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(ids) != "[alice user0 user1 user2 user3]" {
		t.Errorf("paged users = %v", ids)
	}
	_, _, err = s.ListUsers(ctx(), "%%%", 2)
	wantField(t, err, "cursor")
}

func testAPIKeys(t *testing.T, h Harness) {
	s := fresh(t, h)
	k := apiKey("k1")
	if err := s.CreateAPIKey(ctx(), k, []space.Binding{{SpaceID: space.RootID, Role: space.Write}}, idEntry("api_key.create", k.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPIKey(ctx(), "k1")
	if err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("GetAPIKey = %+v, %v", got, err)
	}
	boot := identity.APIKey{ID: "boot", Name: "bootstrap", SecretHash: "h", CreatedAt: base}
	if err := s.CreateAPIKey(ctx(), boot, nil, idEntry("api_key.create", boot.ID)); err != nil {
		t.Errorf("key without creator: %v", err)
	}
	_, err = s.GetAPIKey(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.CreateAPIKey(ctx(), k, nil, idEntry("api_key.create", k.ID)), apperr.Conflict)
	err = s.CreateAPIKey(ctx(), apiKey("k2"), []space.Binding{{SpaceID: "nope", Role: space.Read}}, idEntry("api_key.create", "k2"))
	wantField(t, err, "space")
	_, err = s.GetAPIKey(ctx(), "k2")
	wantCode(t, err, apperr.NotFound)

	// Newest first, ties on created_at broken by id, across pages.
	for i := range 5 {
		k := apiKey(fmt.Sprintf("p%d", i))
		k.CreatedAt = base.Add(time.Duration(i/2) * time.Minute) // pairs share a timestamp
		if err := s.CreateAPIKey(ctx(), k, nil, idEntry("api_key.create", k.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := s.ListAPIKeys(ctx(), cursor, 2)
		if err != nil || pages > 5 {
			t.Fatalf("ListAPIKeys: %v", err)
		}
		for _, k := range page {
			ids = append(ids, k.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(ids) != "[p4 p3 p2 p1 p0 k1 boot]" {
		t.Errorf("paged keys = %v", ids)
	}
	_, _, err = s.ListAPIKeys(ctx(), "not a cursor!", 2)
	wantField(t, err, "cursor")

	if err := s.DeleteAPIKey(ctx(), "k1", idEntry("api_key.delete", "k1")); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAPIKey(ctx(), "k1")
	wantCode(t, err, apperr.NotFound)
	if bs, _ := s.Bindings(ctx(), "apikey:k1"); len(bs) != 0 {
		t.Errorf("bindings survive key deletion: %v", bs)
	}
	wantCode(t, s.DeleteAPIKey(ctx(), "k1", idEntry("api_key.delete", "k1")), apperr.NotFound)
}

func testBindings(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "a"})
	if err := s.CreateAPIKey(ctx(), apiKey("k"), nil, idEntry("api_key.create", "k")); err != nil {
		t.Fatal(err)
	}
	p := identity.APIKeyPrincipal("k")
	if err := s.Grant(ctx(), space.Binding{Principal: p, SpaceID: "a", Role: space.Read}, idEntry("api_key.grant_role", "k")); err != nil {
		t.Fatal(err)
	}
	// Granting again replaces the role.
	if err := s.Grant(ctx(), space.Binding{Principal: p, SpaceID: "a", Role: space.Write}, idEntry("api_key.grant_role", "k")); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx(), space.Binding{Principal: p, SpaceID: space.RootID, Role: space.Read}, idEntry("api_key.grant_role", "k")); err != nil {
		t.Fatal(err)
	}
	bs, err := s.Bindings(ctx(), p)
	want := []space.Binding{{Principal: p, SpaceID: "a", Role: space.Write}, {Principal: p, SpaceID: space.RootID, Role: space.Read}}
	if err != nil || !reflect.DeepEqual(bs, want) {
		t.Errorf("Bindings = %+v, %v", bs, err)
	}
	wantCode(t, s.Grant(ctx(), space.Binding{Principal: "apikey:ghost", SpaceID: "a", Role: space.Read}, idEntry("api_key.grant_role", "k")), apperr.NotFound)
	wantCode(t, s.Grant(ctx(), space.Binding{Principal: "user:ghost", SpaceID: "a", Role: space.Read}, idEntry("api_key.grant_role", "k")), apperr.NotFound)
	wantCode(t, s.Grant(ctx(), space.Binding{Principal: "robot:x", SpaceID: "a", Role: space.Read}, idEntry("api_key.grant_role", "k")), apperr.Invalid)
	wantField(t, s.Grant(ctx(), space.Binding{Principal: p, SpaceID: "nope", Role: space.Read}, idEntry("api_key.grant_role", "k")), "space")
	wantField(t, s.Grant(ctx(), space.Binding{Principal: p, SpaceID: "a", Role: "owner"}, idEntry("api_key.grant_role", "k")), "role")

	if err := s.Revoke(ctx(), p, "a", idEntry("api_key.revoke_role", "k")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Revoke(ctx(), p, "a", idEntry("api_key.revoke_role", "k")), apperr.NotFound)
	if bs, _ := s.Bindings(ctx(), p); len(bs) != 1 || bs[0].SpaceID != space.RootID {
		t.Errorf("after revoke: %+v", bs)
	}
	if bs, err := s.Bindings(ctx(), "user:nobody"); err != nil || len(bs) != 0 {
		t.Errorf("bindings of unknown principal = %v, %v", bs, err)
	}
}
