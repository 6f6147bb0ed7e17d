package identity_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/web/session"
)

// setup opens a fresh SQLite store, bootstraps it and returns the service
// and the bootstrap secrets; the service's clock reads *now (tests move it
// between calls, never during one).
func setup(t *testing.T) (*identity.Service, *sqlstore.Store, *time.Time, identity.Bootstrap) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ids := identity.NewService(st, st, func() time.Time { return now })
	boot, err := ids.EnsureBootstrap(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ids, st, &now, boot
}

func wantErr(t *testing.T, what string, err error, code apperr.Code, msg string) {
	t.Helper()
	if !apperr.Is(err, code) || !strings.Contains(apperr.MessageOf(err), msg) {
		t.Errorf("%s: %v (code %s), want %s saying %q", what, err, apperr.CodeOf(err), code, msg)
	}
}

func TestKeyExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, _, now, boot := setup(t)
	admin, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	past := now.Add(-time.Second)
	_, err = ids.CreateAPIKey(ctx, admin, identity.KeyInput{Name: "old", ExpiresAt: &past})
	if ae := (&apperr.Error{}); !errors.As(err, &ae) || ae.Field != "expires_at" {
		t.Errorf("a key expiring in the past: %v, want invalid expires_at", err)
	}
	soon := now.Add(time.Hour)
	nk, err := ids.CreateAPIKey(ctx, admin, identity.KeyInput{Name: "ci", ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ids.Authenticate(ctx, nk.Secret); err != nil || p != nk.Key.Principal() {
		t.Fatalf("Authenticate before expiry = %q, %v", p, err)
	}
	if _, err := ids.Active(ctx, nk.Key.Principal()); err != nil {
		t.Errorf("Active before expiry: %v", err)
	}
	*now = now.Add(time.Hour)
	_, err = ids.Authenticate(ctx, nk.Secret)
	wantErr(t, "Authenticate at expiry", err, apperr.Unauthorized, `API key "ci" expired at 2026-03-01T13:00:00Z`)
	_, err = ids.Active(ctx, nk.Key.Principal())
	wantErr(t, "Active at expiry", err, apperr.Unauthorized, "expired")
	// A wrong secret for the expired key says nothing about it.
	_, err = ids.Authenticate(ctx, nk.Secret[:len(nk.Secret)-2]+"xx")
	wantErr(t, "Authenticate with a wrong secret", err, apperr.Unauthorized, "invalid API key")

	keys, _, err := ids.ListAPIKeys(ctx, admin, "", 10)
	i := slices.IndexFunc(keys, func(k identity.KeyWithRoles) bool { return k.Key.ID == nk.Key.ID })
	if err != nil || i < 0 || keys[i].Key.ExpiresAt == nil || !keys[i].Key.ExpiresAt.Equal(soon) {
		t.Errorf("ListAPIKeys = %+v, %v; want ci with its expiry", keys, err)
	}
}

func TestDisableAndDeleteUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, st, _, boot := setup(t)
	bootKey, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	rootAdmin := []identity.RoleInput{{Space: "root", Role: "admin"}}
	if _, err := ids.CreateUser(ctx, bootKey, "alice", "alice-password-1", rootAdmin); err != nil {
		t.Fatal(err)
	}
	ci, err := ids.CreateAPIKey(ctx, bootKey, identity.KeyInput{Name: "ci", Roles: rootAdmin})
	if err != nil {
		t.Fatal(err)
	}

	// Yourself, directly or through a key you own, is refused.
	wantErr(t, "admin disabling admin", ids.DisableUser(ctx, "user:admin", "admin"), apperr.Invalid, "yourself")
	wantErr(t, "admin's key disabling admin", ids.DisableUser(ctx, bootKey, "admin"), apperr.Invalid, "API key it owns")
	wantErr(t, "admin's key deleting admin", ids.DeleteUser(ctx, bootKey, "admin"), apperr.Invalid, "API key it owns")
	wantErr(t, "reader", ids.DisableUser(ctx, "user:nobody", "alice"), apperr.Forbidden, "root admins")
	wantErr(t, "missing user", ids.DisableUser(ctx, bootKey, "nobody"), apperr.NotFound, "nobody")

	// Disabled: no login (after the password check), its key stops.
	loggedIn, err := ids.Login(ctx, "admin", boot.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := ids.DisableUser(ctx, ci.Key.Principal(), "admin"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Unchanged after disabling", ids.Unchanged(ctx, loggedIn), apperr.Unauthorized, "changed during the login")
	if err := ids.DisableUser(ctx, ci.Key.Principal(), "admin"); err != nil {
		t.Errorf("disabling twice: %v", err)
	}
	_, err = ids.Login(ctx, "admin", boot.AdminPassword)
	var refused *identity.LoginError
	if !errors.As(err, &refused) || refused.Reason != identity.ReasonDisabled {
		t.Errorf("login of a disabled user = %v, want %s", err, identity.ReasonDisabled)
	}
	wantErr(t, "login of a disabled user", err, apperr.Unauthorized, "disabled")
	if _, err := ids.Login(ctx, "admin", "wrong-password-123"); !errors.As(err, &refused) || refused.Reason != identity.ReasonBadPassword {
		t.Errorf("wrong password of a disabled user = %v, want %s (the state stays hidden)", err, identity.ReasonBadPassword)
	}
	_, err = ids.Authenticate(ctx, boot.APIKey)
	wantErr(t, "key of a disabled user", err, apperr.Unauthorized, "belongs to user admin, who is disabled")
	_, err = ids.Active(ctx, "user:admin")
	wantErr(t, "Active of a disabled user", err, apperr.Unauthorized, "disabled")
	users, _, err := ids.ListUsers(ctx, ci.Key.Principal(), "", 10)
	if err != nil || len(users) != 2 || users[0].User.ID != "admin" || users[0].User.DisabledAt == nil {
		t.Errorf("ListUsers = %+v, %v; want admin disabled", users, err)
	}

	// Enabled again: both work.
	if err := ids.EnableUser(ctx, ci.Key.Principal(), "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Login(ctx, "admin", boot.AdminPassword); err != nil {
		t.Errorf("login after enable: %v", err)
	}
	if _, err := ids.Authenticate(ctx, boot.APIKey); err != nil {
		t.Errorf("key after enable: %v", err)
	}

	// Deleted: the user, its key and its bindings are gone.
	if err := ids.DeleteUser(ctx, ci.Key.Principal(), "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Authenticate(ctx, boot.APIKey); !apperr.Is(err, apperr.Unauthorized) {
		t.Errorf("key of a deleted user: %v", err)
	}
	if _, err := st.GetAPIKey(ctx, strings.TrimPrefix(bootKey, "apikey:")); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("key of a deleted user still stored: %v", err)
	}
	// alice is now the last enabled root-admin user; ci the last key.
	wantErr(t, "deleting the last root admin", ids.DeleteUser(ctx, ci.Key.Principal(), "alice"), apperr.Conflict, "no enabled user with admin on root")
	wantErr(t, "deleting the last root-admin key", ids.DeleteAPIKey(ctx, ci.Key.Principal(), ci.Key.ID), apperr.Conflict, "no usable API key with admin on root")
	wantErr(t, "deleting a missing key", ids.DeleteAPIKey(ctx, ci.Key.Principal(), "nope"), apperr.NotFound, "nope")
}

func TestSetPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, st, _, boot := setup(t)
	if err := st.CreateSession(ctx, sessionOf("user:admin")); err != nil {
		t.Fatal(err)
	}
	u, err := ids.Login(ctx, "admin", boot.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := ids.Unchanged(ctx, u); err != nil {
		t.Errorf("Unchanged right after the login: %v", err)
	}
	if err := ids.SetPassword(ctx, "user:admin", "admin", "a-new-password-1"); err != nil {
		t.Fatal(err)
	}
	// A login that checked the old password must not keep a session it
	// creates after the change committed.
	wantErr(t, "Unchanged after a password change", ids.Unchanged(ctx, u), apperr.Unauthorized, "changed during the login")
	if _, err := st.GetSession(ctx, sessionOf("user:admin").IDHash); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("session after the password change: %v", err)
	}
	if _, err := ids.Login(ctx, "admin", boot.AdminPassword); err == nil {
		t.Error("the old password still works")
	}
}

// sessionOf is a web session row of principal.
func sessionOf(principal string) session.Session {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return session.Session{IDHash: "h-" + principal, Principal: principal, CSRFToken: "c", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

// TestGetUserAndKey: root admins read one user or key with its roles and
// without its hash; others are refused, unknown ids are NotFound.
func TestGetUserAndKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, _, _, boot := setup(t)
	admin, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.CreateUser(ctx, admin, "Ann", "pw-ann-0123456789", []identity.RoleInput{{Space: "root", Role: "read"}}); err != nil {
		t.Fatal(err)
	}
	u, err := ids.GetUser(ctx, admin, "ann")
	if err != nil || u.User.Username != "Ann" || u.User.PasswordHash != "" || len(u.Roles) != 1 || u.Roles[0].Role != "read" {
		t.Errorf("GetUser = %+v, %v; want Ann with read on root and no hash", u, err)
	}
	nk, err := ids.CreateAPIKey(ctx, admin, identity.KeyInput{Name: "ci", Roles: []identity.RoleInput{{Space: "root", Role: "write"}}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ids.GetAPIKey(ctx, admin, nk.Key.ID)
	if err != nil || k.Key.Name != "ci" || k.Key.SecretHash != "" || len(k.Roles) != 1 || k.Roles[0].Role != "write" {
		t.Errorf("GetAPIKey = %+v, %v; want ci with write on root and no hash", k, err)
	}
	_, err = ids.GetUser(ctx, admin, "nobody")
	wantErr(t, "unknown user", err, apperr.NotFound, "")
	_, err = ids.GetAPIKey(ctx, admin, "nokey")
	wantErr(t, "unknown key", err, apperr.NotFound, "")
	reader := identity.UserPrincipal("ann")
	_, err = ids.GetUser(ctx, reader, "admin")
	wantErr(t, "a reader reading a user", err, apperr.Forbidden, "only root admins may see users")
	_, err = ids.GetAPIKey(ctx, reader, nk.Key.ID)
	wantErr(t, "a reader reading a key", err, apperr.Forbidden, "only root admins may see API keys")
}
