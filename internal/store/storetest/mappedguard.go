package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// testMappedAdminGuard: with KeepMappedRootAdmin (password logins off),
// the last enabled user who is root admin through a mapping can lose it
// neither by deleting the mapping nor by being disabled or deleted; with
// another one, each goes; a refresh taking the group away is not refused.
// Without it, nothing is kept.
func testMappedAdminGuard(t *testing.T, h Harness) {
	setupMapped := func(t *testing.T) *sqlstore.Store {
		s := fresh(t, h)
		for _, m := range []identity.RoleMapping{mapping("m1", "", "ops", space.RootID, space.Admin),
			mapping("m2", "", "ops2", space.RootID, space.Admin)} {
			if err := s.CreateRoleMapping(ctx(), m, idEntry("role_mapping.create", m.ID)); err != nil {
				t.Fatal(err)
			}
		}
		for i, name := range []string{"olga", "oskar"} {
			if _, err := s.UpsertExternalUser(ctx(), identity.User{ID: name, Username: name, Issuer: testIssuer,
				Subject: name, CreatedAt: base}, []string{[]string{"ops", "ops2"}[i]}, idEntry("user.sync_roles", name)); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	at := base.Add(time.Hour)

	t.Run("off", func(t *testing.T) {
		s := setupMapped(t)
		for _, id := range []string{"m1", "m2"} {
			if err := s.DeleteRoleMapping(ctx(), id, idEntry("role_mapping.delete", id)); err != nil {
				t.Fatalf("without the guard, deleting %s: %v", id, err)
			}
		}
	})
	t.Run("on", func(t *testing.T) {
		s := setupMapped(t)
		s.KeepMappedRootAdmin()
		// Two mapped root admins: one of them may go.
		if err := s.DeleteRoleMapping(ctx(), "m1", idEntry("role_mapping.delete", "m1")); err != nil {
			t.Fatalf("deleting m1 while oskar is mapped root admin through m2: %v", err)
		}
		err := s.DeleteRoleMapping(ctx(), "m2", idEntry("role_mapping.delete", "m2"))
		wantCode(t, err, apperr.Conflict)
		if err == nil || !strings.Contains(err.Error(), "--local-login=false") {
			t.Errorf("the refusal does not say why: %v", err)
		}
		wantCode(t, s.SetUserDisabled(ctx(), "oskar", &at, idEntry("user.disable", "oskar")), apperr.Conflict)
		wantCode(t, s.DeleteUser(ctx(), "oskar", idEntry("user.delete", "oskar")), apperr.Conflict)
		if n, err := s.CountMappedRootAdmins(ctx()); err != nil || n != 1 {
			t.Fatalf("mapped root admins after the refusals = %d, %v; want 1", n, err)
		}
		// olga, the other one, is free to go; her mapping is gone already.
		if err := s.DeleteUser(ctx(), "olga", idEntry("user.delete", "olga")); err != nil {
			t.Errorf("deleting olga, no mapped root admin: %v", err)
		}
		// The issuer's word is not refused: a refresh out of the group.
		if err := s.SyncMappedRoles(ctx(), "oskar", nil, idEntry("user.sync_roles", "oskar")); err != nil {
			t.Errorf("a refresh taking oskar's group away: %v", err)
		}
		if n, _ := s.CountMappedRootAdmins(ctx()); n != 0 {
			t.Errorf("mapped root admins after the refresh = %d, want 0", n)
		}
		// None left: the guard does not stand in the way of the rest.
		if err := s.DeleteRoleMapping(ctx(), "m2", idEntry("role_mapping.delete", "m2")); err != nil {
			t.Errorf("deleting m2 once nobody holds root admin through it: %v", err)
		}
	})
}
