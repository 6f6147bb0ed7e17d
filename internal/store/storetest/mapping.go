package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

const testIssuer = "https://gitlab.example.com"

func mapping(id, issuer, group, spaceID string, r space.Role) identity.RoleMapping {
	return identity.RoleMapping{ID: id, Issuer: issuer, Group: group, SpaceID: spaceID, Role: r, CreatedAt: base, CreatedBy: "user:admin"}
}

func testRoleMappings(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustSpace(t, s, space.Space{ID: "platform"})
	ms := []identity.RoleMapping{
		mapping("m1", testIssuer, "acme/platform", "platform", space.Admin),
		mapping("m2", "", "acme", space.RootID, space.Read),
		mapping("m3", "https://other.example.com", "acme", "platform", space.Write),
	}
	for _, m := range ms {
		if err := s.CreateRoleMapping(ctx(), m, idEntry("role_mapping.create", m.ID)); err != nil {
			t.Fatal(err)
		}
	}
	dup := mapping("m4", testIssuer, "acme/platform", "platform", space.Read)
	wantCode(t, s.CreateRoleMapping(ctx(), dup, idEntry("role_mapping.create", "m4")), apperr.Conflict)
	wantField(t, s.CreateRoleMapping(ctx(), mapping("m5", "", "x", "nope", space.Read), idEntry("role_mapping.create", "m5")), "space")
	wantField(t, s.CreateRoleMapping(ctx(), mapping("m6", "", "x", "platform", space.None), idEntry("role_mapping.create", "m6")), "role")

	got, err := s.ListRoleMappings(ctx())
	want := []identity.RoleMapping{ms[1], ms[2], ms[0]} // by group, issuer, space
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ListRoleMappings = %+v, %v; want %+v", got, err, want)
	}

	// A local user holds "alice": the external alice becomes alice-2.
	if err := s.CreateUser(ctx(), identity.User{ID: "alice", Username: "alice", PasswordHash: "h", CreatedAt: base},
		[]space.Binding{{SpaceID: "platform", Role: space.Read}}, idEntry("user.create", "alice")); err != nil {
		t.Fatal(err)
	}
	in := identity.User{Username: "alice", Issuer: testIssuer, Subject: "42", Name: "Alice A", Email: "a@example.com", CreatedAt: base}
	u, err := s.UpsertExternalUser(ctx(), in, []string{"acme/platform", "acme", "other"}, idEntry("user.sync_roles", ""))
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "alice-2" || u.Username != "alice-2" || u.PasswordHash != "" || !u.External() || u.Name != "Alice A" {
		t.Errorf("created %+v", u)
	}
	if stored, err := s.GetUser(ctx(), "alice-2"); err != nil || !reflect.DeepEqual(stored, u) {
		t.Errorf("GetUser = %+v, %v; want %+v", stored, err, u)
	}
	wantBindings := func(principal string, want ...space.Binding) {
		t.Helper()
		got, err := s.Bindings(ctx(), principal)
		if err != nil || (len(got)+len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Bindings(%s) = %+v, %v; want %+v", principal, got, err, want)
		}
	}
	p := "user:alice-2"
	wantBindings(p, space.Binding{Principal: p, SpaceID: "platform", Role: space.Admin, MappingID: "m1"},
		space.Binding{Principal: p, SpaceID: space.RootID, Role: space.Read, MappingID: "m2"})

	// A hand-given role stays whatever the groups say.
	if err := s.Grant(ctx(), space.Binding{Principal: p, SpaceID: "platform", Role: space.Write}, idEntry("user.grant_role", "alice-2")); err != nil {
		t.Fatal(err)
	}
	in.Name, in.Email = "Alice B", "b@example.com"
	u, err = s.UpsertExternalUser(ctx(), in, []string{"acme"}, idEntry("user.sync_roles", ""))
	if err != nil || u.ID != "alice-2" || u.Name != "Alice B" || u.Email != "b@example.com" {
		t.Errorf("second login = %+v, %v", u, err)
	}
	wantBindings(p, space.Binding{Principal: p, SpaceID: "platform", Role: space.Write},
		space.Binding{Principal: p, SpaceID: space.RootID, Role: space.Read, MappingID: "m2"})

	// Renamed at the issuer: the username follows while the new name is
	// free (the id never changes); a name another user holds is not taken.
	for _, tc := range []struct{ in, want string }{{"alicia", "alicia"}, {"alice", "alicia"}, {"", "alicia"}, {"alice-2", "alice-2"}} {
		in.Username = tc.in
		u, err = s.UpsertExternalUser(ctx(), in, []string{"acme"}, idEntry("user.sync_roles", ""))
		if err != nil || u.ID != "alice-2" || u.Username != tc.want {
			t.Errorf("login as %q = %+v, %v; want username %q", tc.in, u, err, tc.want)
		}
	}

	if err := s.SyncMappedRoles(ctx(), "alice-2", nil, idEntry("user.sync_roles", "alice-2")); err != nil {
		t.Fatal(err)
	}
	wantBindings(p, space.Binding{Principal: p, SpaceID: "platform", Role: space.Write})
	wantCode(t, s.SyncMappedRoles(ctx(), "alice", nil, idEntry("user.sync_roles", "alice")), apperr.Invalid)
	wantCode(t, s.SyncMappedRoles(ctx(), "nobody", nil, idEntry("user.sync_roles", "nobody")), apperr.NotFound)

	// Deleting a mapping takes its roles with it.
	if err := s.SyncMappedRoles(ctx(), "alice-2", []string{"acme/platform"}, idEntry("user.sync_roles", "alice-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoleMapping(ctx(), "m1", idEntry("role_mapping.delete", "m1")); err != nil {
		t.Fatal(err)
	}
	wantBindings(p, space.Binding{Principal: p, SpaceID: "platform", Role: space.Write})
	wantCode(t, s.DeleteRoleMapping(ctx(), "m1", idEntry("role_mapping.delete", "m1")), apperr.NotFound)

	// Root admins through a mapping: counted while enabled.
	wantAdmins := func(want int) {
		t.Helper()
		if n, err := s.CountMappedRootAdmins(ctx()); err != nil || n != want {
			t.Errorf("CountMappedRootAdmins = %d, %v; want %d", n, err, want)
		}
	}
	wantAdmins(0) // m2 gives read on root, and hand-given roles do not count
	if err := s.CreateRoleMapping(ctx(), mapping("m7", testIssuer, "acme", space.RootID, space.Admin), idEntry("role_mapping.create", "m7")); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncMappedRoles(ctx(), "alice-2", []string{"acme"}, idEntry("user.sync_roles", "alice-2")); err != nil {
		t.Fatal(err)
	}
	wantAdmins(1)
	if err := s.DeleteRoleMapping(ctx(), "m7", idEntry("role_mapping.delete", "m7")); err != nil {
		t.Fatal(err)
	}
	wantAdmins(0)
	if err := s.SyncMappedRoles(ctx(), "alice-2", nil, idEntry("user.sync_roles", "alice-2")); err != nil {
		t.Fatal(err)
	}

	// A disabled user comes back unchanged: no new roles, old name.
	at := base.Add(time.Hour)
	if err := s.SetUserDisabled(ctx(), "alice-2", &at, idEntry("user.disable", "alice-2")); err != nil {
		t.Fatal(err)
	}
	in.Name = "Alice C"
	u, err = s.UpsertExternalUser(ctx(), in, []string{"acme"}, idEntry("user.sync_roles", ""))
	if err != nil || u.DisabledAt == nil || u.Name != "Alice B" {
		t.Errorf("disabled login = %+v, %v", u, err)
	}
	wantBindings(p, space.Binding{Principal: p, SpaceID: "platform", Role: space.Write})

	// The audit log holds the creation and each change of mapped roles.
	entries, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "user", ResourceID: "alice-2"}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["user.create_external"] != 1 || actions["user.sync_roles"] != 5 {
		t.Errorf("audit actions = %v", actions)
	}

	// Deleting the user or the space removes mapped roles and mappings.
	if err := s.DeleteSpace(ctx(), "platform"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListRoleMappings(ctx()); err != nil || len(got) != 1 || got[0].ID != "m2" {
		t.Errorf("mappings after deleting the space = %+v, %v", got, err)
	}
	if err := s.SyncMappedRoles(ctx(), "alice-2", []string{"acme"}, idEntry("user.sync_roles", "alice-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx(), "alice-2", idEntry("user.delete", "alice-2")); err != nil {
		t.Fatal(err)
	}
	wantBindings(p)
}
