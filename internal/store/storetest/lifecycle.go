package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/web/session"
)

var rootAdmin = []space.Binding{{SpaceID: space.RootID, Role: space.Admin}}

func mustUser(t *testing.T, s *sqlstore.Store, id string, roles []space.Binding) {
	t.Helper()
	u := identity.User{ID: id, Username: id, PasswordHash: "h", CreatedAt: base}
	if err := s.CreateUser(ctx(), u, roles, idEntry("user.create", id)); err != nil {
		t.Fatalf("create user %s: %v", id, err)
	}
}

func mustKey(t *testing.T, s *sqlstore.Store, id, createdBy string, expires *time.Time, roles []space.Binding) {
	t.Helper()
	k := apiKey(id)
	k.CreatedBy, k.ExpiresAt = createdBy, expires
	if err := s.CreateAPIKey(ctx(), k, roles, idEntry("api_key.create", id)); err != nil {
		t.Fatalf("create key %s: %v", id, err)
	}
}

// mustSession starts a web session of principal and returns its id hash.
func mustSession(t *testing.T, s *sqlstore.Store, principal string) string {
	t.Helper()
	ws := session.Session{IDHash: "h-" + principal, Principal: principal, CSRFToken: "c", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx(), ws); err != nil {
		t.Fatal(err)
	}
	return ws.IDHash
}

// alive reports whether each session still exists, in order.
func alive(t *testing.T, s *sqlstore.Store, hashes ...string) []bool {
	t.Helper()
	out := make([]bool, len(hashes))
	for i, h := range hashes {
		_, err := s.GetSession(ctx(), h)
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			t.Fatal(err)
		}
		out[i] = err == nil
	}
	return out
}

// actions lists the audit actions on one resource, oldest first.
func actions(t *testing.T, s *sqlstore.Store, typ, id string) []string {
	t.Helper()
	es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: typ, ResourceID: id}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(es) {
		out = append(out, e.Action)
	}
	return out
}

// testUserLifecycle: passwords, disabling and deleting end the right
// sessions, take the user's keys with them, write the audit log, and never
// leave Hoist without a root admin.
func testUserLifecycle(t *testing.T, h Harness) {
	s := fresh(t, h)
	mustUser(t, s, "admin", rootAdmin)
	mustUser(t, s, "alice", rootAdmin)
	mustKey(t, s, "boot", "user:admin", nil, rootAdmin)
	mustKey(t, s, "alicekey", "user:alice", nil, []space.Binding{{SpaceID: space.RootID, Role: space.Read}})
	aliceSess, aliceKeySess, adminSess := mustSession(t, s, "user:alice"), mustSession(t, s, "apikey:alicekey"), mustSession(t, s, "user:admin")

	// A new password ends the user's sessions, not its keys' or others'.
	if err := s.SetPasswordHash(ctx(), "alice", "h2", idEntry("user.set_password", "alice")); err != nil {
		t.Fatal(err)
	}
	if got := alive(t, s, aliceSess, aliceKeySess, adminSess); fmt.Sprint(got) != "[false true true]" {
		t.Errorf("after the password change, sessions alive = %v", got)
	}

	// Disabling ends the sessions of the user's keys too.
	aliceSess = mustSession(t, s, "user:alice")
	at := base.Add(time.Minute)
	if err := s.SetUserDisabled(ctx(), "alice", &at, idEntry("user.disable", "alice")); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx(), "alice"); err != nil || u.DisabledAt == nil || !u.DisabledAt.Equal(at) {
		t.Errorf("disabled user = %+v, %v", u, err)
	}
	if got := alive(t, s, aliceSess, aliceKeySess, adminSess); fmt.Sprint(got) != "[false false true]" {
		t.Errorf("after disabling, sessions alive = %v", got)
	}
	// Alice disabled, admin is the last enabled root-admin user.
	wantCode(t, s.SetUserDisabled(ctx(), "admin", &at, idEntry("user.disable", "admin")), apperr.Conflict)
	wantCode(t, s.DeleteUser(ctx(), "admin", idEntry("user.delete", "admin")), apperr.Conflict)
	if u, _ := s.GetUser(ctx(), "admin"); u.DisabledAt != nil {
		t.Error("a refused disable was stored")
	}
	if err := s.SetUserDisabled(ctx(), "alice", nil, idEntry("user.enable", "alice")); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.GetUser(ctx(), "alice"); u.DisabledAt != nil {
		t.Errorf("enabled user still disabled at %v", u.DisabledAt)
	}
	// boot, owned by admin, is the only usable root-admin key: disabling
	// admin would stop it, deleting it would remove it.
	wantCode(t, s.SetUserDisabled(ctx(), "admin", &at, idEntry("user.disable", "admin")), apperr.Conflict)
	wantCode(t, s.DeleteAPIKey(ctx(), "boot", idEntry("api_key.delete", "boot")), apperr.Conflict)
	expired := base.Add(-time.Second)
	mustKey(t, s, "old", "apikey:boot", &expired, rootAdmin)
	wantCode(t, s.DeleteAPIKey(ctx(), "boot", idEntry("api_key.delete", "boot")), apperr.Conflict)
	mustKey(t, s, "ci", "apikey:boot", nil, rootAdmin)
	if err := s.SetUserDisabled(ctx(), "admin", &at, idEntry("user.disable", "admin")); err != nil {
		t.Fatalf("disable admin with alice and ci left: %v", err)
	}
	// Now ci is the only usable one (boot's owner is disabled).
	wantCode(t, s.DeleteAPIKey(ctx(), "ci", idEntry("api_key.delete", "ci")), apperr.Conflict)

	// Deleting a user deletes its keys, their bindings and every session.
	bootSess, adminSess := mustSession(t, s, "apikey:boot"), mustSession(t, s, "user:admin")
	if err := s.DeleteUser(ctx(), "admin", idEntry("user.delete", "admin")); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetUser(ctx(), "admin")
	wantCode(t, err, apperr.NotFound)
	_, err = s.GetAPIKey(ctx(), "boot")
	wantCode(t, err, apperr.NotFound)
	for _, p := range []string{"user:admin", "apikey:boot"} {
		if bs, _ := s.Bindings(ctx(), p); len(bs) != 0 {
			t.Errorf("bindings of %s survive: %v", p, bs)
		}
	}
	if got := alive(t, s, bootSess, adminSess); fmt.Sprint(got) != "[false false]" {
		t.Errorf("after deleting admin, sessions alive = %v", got)
	}
	if got := actions(t, s, "user", "admin"); fmt.Sprint(got) != "[user.create user.disable user.delete]" {
		t.Errorf("audit of admin = %v", got)
	}
	if got := actions(t, s, "api_key", "boot"); fmt.Sprint(got) != "[api_key.create api_key.delete]" {
		t.Errorf("audit of boot = %v", got)
	}
	if got := actions(t, s, "user", "alice"); fmt.Sprint(got) != "[user.create user.set_password user.disable user.enable]" {
		t.Errorf("audit of alice = %v", got)
	}

	// Taking the role away is the same as taking the principal away.
	wantCode(t, s.Revoke(ctx(), "user:alice", space.RootID, idEntry("user.revoke_role", "alice")), apperr.Conflict)
	wantCode(t, s.Grant(ctx(), space.Binding{Principal: "user:alice", SpaceID: space.RootID, Role: space.Read},
		idEntry("user.grant_role", "alice")), apperr.Conflict)
	wantCode(t, s.Revoke(ctx(), "apikey:ci", space.RootID, idEntry("api_key.revoke_role", "ci")), apperr.Conflict)
	if bs, _ := s.Bindings(ctx(), "user:alice"); len(bs) != 1 || bs[0].Role != space.Admin {
		t.Errorf("a refused role change was stored: %v", bs)
	}
	if err := s.Grant(ctx(), space.Binding{Principal: "apikey:alicekey", SpaceID: space.RootID, Role: space.Admin},
		idEntry("api_key.grant_role", "alicekey")); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx(), "apikey:ci", space.RootID, idEntry("api_key.revoke_role", "ci")); err != nil {
		t.Errorf("revoking one of two root-admin keys: %v", err)
	}

	// A key without an owner or root-admin role goes freely, once.
	if err := s.DeleteAPIKey(ctx(), "old", idEntry("api_key.delete", "old")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteAPIKey(ctx(), "old", idEntry("api_key.delete", "old")), apperr.NotFound)
	wantCode(t, s.DeleteUser(ctx(), "nobody", idEntry("user.delete", "nobody")), apperr.NotFound)
	wantCode(t, s.SetUserDisabled(ctx(), "nobody", &at, idEntry("user.disable", "nobody")), apperr.NotFound)
}

// testAdminsRace: two root admins disabling each other at the same moment
// cannot both succeed.
func testAdminsRace(t *testing.T, h Harness) {
	for round := range 3 {
		s := fresh(t, h)
		mustKey(t, s, "ci", "", nil, rootAdmin)
		mustUser(t, s, "x", rootAdmin)
		mustUser(t, s, "y", rootAdmin)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"x", "y"} {
			wg.Go(func() {
				at := base.Add(time.Minute)
				errs[i] = s.SetUserDisabled(ctx(), id, &at, idEntry("user.disable", id))
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: disabling the two root admins at once: %v, %v; want exactly one refused", round, errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil {
				wantCode(t, err, apperr.Conflict)
			}
		}
	}
}

// testLoginAttempts: reserving a login attempt checks and records in one
// step, per key and window, also when many arrive at once.
func testLoginAttempts(t *testing.T, h Harness) {
	s := fresh(t, h)
	since := base.Add(-15 * time.Minute)
	reserve := func(attempt string, keys ...string) bool {
		t.Helper()
		ok, err := s.ReserveLoginAttempt(ctx(), attempt, keys, base, since, 3)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i := range 3 {
		if !reserve(fmt.Sprint("a", i), "user:bob", "addr:10.0.0.1") {
			t.Fatalf("attempt %d refused under the limit", i)
		}
	}
	if reserve("a3", "user:bob", "addr:10.0.0.2") || reserve("a4", "user:carol", "addr:10.0.0.1") {
		t.Error("a key at its limit did not refuse")
	}
	if !reserve("a5", "user:carol", "addr:10.0.0.2") {
		t.Error("unrelated keys refused")
	}
	// A refused reservation recorded nothing: user:carol has one failure.
	if err := s.ForgetLoginAttempt(ctx(), "a0"); err != nil {
		t.Fatal(err)
	}
	if !reserve("a6", "user:bob", "user:bob") || reserve("a7", "user:bob") {
		t.Error("forgetting an attempt did not free exactly one slot")
	}
	if err := s.ClearLoginFailures(ctx(), "user:bob"); err != nil {
		t.Fatal(err)
	}
	if !reserve("a8", "user:bob") {
		t.Error("cleared key still limited")
	}
	// Failures before the window do not count, and Prune removes them.
	if ok, err := s.ReserveLoginAttempt(ctx(), "a9", []string{"addr:10.0.0.1"}, base, base.Add(time.Second), 3); err != nil || !ok {
		t.Errorf("failures before the window counted: %v, %v", ok, err)
	}
	if err := s.Prune(ctx(), base, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if !reserve("a10", "addr:10.0.0.1") {
		t.Error("pruned failures still count")
	}

	// Many attempts at once: exactly max get through.
	const n, max = 40, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for i := range n {
		wg.Go(func() {
			ok, err := s.ReserveLoginAttempt(ctx(), fmt.Sprint("p", i), []string{"user:dave", fmt.Sprint("addr:10.1.0.", i)}, base, since, max)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				passed++
			}
		})
	}
	wg.Wait()
	if passed != max {
		t.Errorf("%d of %d parallel attempts passed a limit of %d", passed, n, max)
	}
}
