package identity_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// Personal keys: any user makes them for themselves with a bounded expiry,
// they act with the owner's roles, the owner (or one of its personal keys)
// alone sees and deletes them, and they cannot mint keys with roles.
func TestPersonalKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, st, now, boot := setup(t)
	adminKey, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.CreateUser(ctx, adminKey, "bob", "", []identity.RoleInput{{Space: space.RootID, Role: "read"}}); err != nil {
		t.Fatal(err)
	}
	bob := identity.UserPrincipal("bob")
	month := now.Add(30 * 24 * time.Hour)

	for _, tt := range []struct {
		what, name string
		expires    time.Time
		field, msg string
	}{
		{"no expiry", "cli", time.Time{}, "expires_at", "is required"},
		{"an expiry in the past", "cli", now.Add(-time.Second), "expires_at", "must be in the future"},
		{"an expiry past 366 days", "cli", now.Add(367 * 24 * time.Hour), "expires_at", "at most 366 days"},
		{"no name", " ", month, "name", "required"},
	} {
		_, err := ids.CreatePersonalKey(ctx, bob, identity.PersonalKeyInput{Name: tt.name, ExpiresAt: tt.expires})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != tt.field || !strings.Contains(ae.Message, tt.msg) {
			t.Errorf("%s: %v, want invalid %s saying %q", tt.what, err, tt.field, tt.msg)
		}
	}
	wantErr(t, "an ordinary key creating a personal key", func() error {
		_, err := ids.CreatePersonalKey(ctx, adminKey, identity.PersonalKeyInput{Name: "mine", ExpiresAt: month})
		return err
	}(), apperr.Forbidden, "personal API keys belong to a user")

	nk, err := ids.CreatePersonalKey(ctx, bob, identity.PersonalKeyInput{Name: "laptop", ExpiresAt: now.Add(identity.MaxPersonalKeyLifetime)})
	if err != nil {
		t.Fatal(err)
	}
	if !nk.Key.Personal || nk.Key.Owner() != "bob" || len(nk.Roles) != 1 || nk.Roles[0].Role != space.Read {
		t.Errorf("created %+v with roles %+v", nk.Key, nk.Roles)
	}
	pk, err := ids.Authenticate(ctx, nk.Secret)
	if err != nil || pk != nk.Key.Principal() {
		t.Fatalf("Authenticate = %q, %v", pk, err)
	}
	if ok, err := ids.IsRootAdmin(ctx, pk); ok || err != nil {
		t.Errorf("a reader's personal key is root admin: %v, %v", ok, err)
	}
	// The key itself makes a second key for its owner, and lists both.
	second, err := ids.CreatePersonalKey(ctx, pk, identity.PersonalKeyInput{Name: "ci", ExpiresAt: month})
	if err != nil || second.Key.Owner() != "bob" {
		t.Fatalf("a personal key creating one: %+v, %v", second.Key, err)
	}
	mine, err := ids.ListPersonalKeys(ctx, pk)
	if err != nil || mine.Owner != "bob" || len(mine.Keys) != 2 || mine.Keys[0].SecretHash != "" || mine.Keys[1].SecretHash != "" || len(mine.Roles) != 1 {
		t.Errorf("ListPersonalKeys = %+v, %v", mine, err)
	}
	if keys, err := ids.ListPersonalKeys(ctx, "user:admin"); err != nil || len(keys.Keys) != 0 || keys.Owner != "admin" {
		t.Errorf("admin sees %+v, %v", keys, err)
	}

	// Nobody else's keys: not admin's, not the bootstrap key.
	wantErr(t, "admin deleting bob's key", ids.DeletePersonalKey(ctx, "user:admin", nk.Key.ID), apperr.NotFound, "no personal API key")
	_, bootID, _ := identity.ParsePrincipal(adminKey)
	wantErr(t, "bob deleting the bootstrap key", ids.DeletePersonalKey(ctx, bob, bootID), apperr.NotFound, "no personal API key")
	if err := ids.DeletePersonalKey(ctx, pk, second.Key.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete again", ids.DeletePersonalKey(ctx, bob, second.Key.ID), apperr.NotFound, "no personal API key")

	// A root admin's personal key acts as root admin, but mints no keys
	// with roles.
	adminPK, err := ids.CreatePersonalKey(ctx, "user:admin", identity.PersonalKeyInput{Name: "admin laptop", ExpiresAt: month})
	if err != nil {
		t.Fatal(err)
	}
	apk := adminPK.Key.Principal()
	if ok, _ := ids.IsRootAdmin(ctx, apk); !ok {
		t.Error("the root admin's personal key is not root admin")
	}
	_, err = ids.CreateAPIKey(ctx, apk, identity.KeyInput{Name: "escape", Roles: []identity.RoleInput{{Space: space.RootID, Role: "admin"}}})
	wantErr(t, "a personal key creating a key with roles", err, apperr.Forbidden, "cannot create API keys with roles")
	wantErr(t, "granting a personal key a role", ids.Grant(ctx, adminKey, pk, identity.RoleInput{Space: space.RootID, Role: "admin"}),
		apperr.Invalid, "is personal")

	// A disabled owner stops the key.
	if err := ids.DisableUser(ctx, adminKey, "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = ids.Authenticate(ctx, nk.Secret)
	wantErr(t, "the key of a disabled owner", err, apperr.Unauthorized, "disabled")

	// An expired personal key says where to make a new one.
	*now = month.Add(time.Second)
	_, err = ids.Authenticate(ctx, adminPK.Secret)
	wantErr(t, "an expired personal key", err, apperr.Unauthorized, "create a new one under Your API keys")

	es, _, err := st.ListAudit(ctx, audit.Filter{ResourceType: "api_key", ResourceID: second.Key.ID}, "", 10)
	if err != nil || len(es) != 2 || es[0].Action != "api_key.delete" || es[1].Action != "api_key.create" ||
		es[1].Actor != pk || es[1].Detail["personal"] != true || es[1].Detail["owner"] != "bob" {
		t.Errorf("audit of the second key = %+v, %v", es, err)
	}
}
