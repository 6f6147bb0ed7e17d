package identity_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

const gitlab = "https://gitlab.example.com"

func TestRoleMappingValidation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, st, now, boot := setup(t)
	if err := st.CreateSpace(ctx, space.Space{ID: "platform", Name: "platform", ParentID: space.RootID, CreatedAt: *now, UpdatedAt: *now}); err != nil {
		t.Fatal(err)
	}
	admin, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    identity.MappingInput
		field string // "" when valid
	}{
		{"group to admin", identity.MappingInput{Issuer: gitlab, Group: "Acme/Platform", Space: "platform", Role: "admin"}, ""},
		{"any issuer", identity.MappingInput{Group: "acme", Space: space.RootID, Role: "read"}, ""},
		{"http issuer", identity.MappingInput{Issuer: "http://gitlab.example.com", Group: "acme", Space: "platform", Role: "read"}, "issuer"},
		{"issuer with query", identity.MappingInput{Issuer: gitlab + "?x=1", Group: "acme", Space: "platform", Role: "read"}, "issuer"},
		{"issuer not a URL", identity.MappingInput{Issuer: "gitlab", Group: "acme", Space: "platform", Role: "read"}, "issuer"},
		{"empty group", identity.MappingInput{Group: " ", Space: "platform", Role: "read"}, "group"},
		{"empty segment", identity.MappingInput{Group: "acme//x", Space: "platform", Role: "read"}, "group"},
		{"leading slash", identity.MappingInput{Group: "/acme", Space: "platform", Role: "read"}, "group"},
		{"odd character", identity.MappingInput{Group: "acme/plat form", Space: "platform", Role: "read"}, "group"},
		{"too long", identity.MappingInput{Group: strings.Repeat("a", identity.MaxGroupPathLen+1), Space: "platform", Role: "read"}, "group"},
		{"unknown role", identity.MappingInput{Group: "acme", Space: "platform", Role: "owner"}, "role"},
		{"no role", identity.MappingInput{Group: "acme", Space: "platform", Role: "none"}, "role"},
		{"missing space", identity.MappingInput{Group: "acme", Space: "nope", Role: "read"}, "role"},
	}
	for _, tt := range tests {
		m, err := ids.CreateRoleMapping(ctx, admin, tt.in)
		if tt.field == "" {
			if err != nil || m.ID == "" || m.Group != strings.ToLower(tt.in.Group) || m.CreatedBy != admin {
				t.Errorf("%s: %+v, %v", tt.name, m, err)
			}
			continue
		}
		if ae := (&apperr.Error{}); !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != tt.field {
			t.Errorf("%s: %v, want invalid %s", tt.name, err, tt.field)
		}
	}
	_, err = ids.CreateRoleMapping(ctx, admin, identity.MappingInput{Issuer: gitlab, Group: "ACME/platform", Space: "platform", Role: "read"})
	wantErr(t, "same group in another case", err, apperr.Conflict, "already mapped")
	ms, err := ids.ListRoleMappings(ctx, admin)
	if err != nil || len(ms) != 2 || ms[0].Group != "acme" || ms[1].Group != "acme/platform" || ms[1].Role != space.Admin {
		t.Errorf("ListRoleMappings = %+v, %v", ms, err)
	}
	wantErr(t, "delete unknown", ids.DeleteRoleMapping(ctx, admin, "nope"), apperr.NotFound, "not found")
	if err := ids.DeleteRoleMapping(ctx, admin, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := ids.ListRoleMappings(ctx, admin); len(ms) != 1 {
		t.Errorf("after delete: %+v", ms)
	}
}

func TestRoleMappingsNeedRootAdmin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, _, _, boot := setup(t)
	admin, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ids.CreateRoleMapping(ctx, admin, identity.MappingInput{Group: "acme", Space: space.RootID, Role: "read"})
	if err != nil {
		t.Fatal(err)
	}
	nk, err := ids.CreateAPIKey(ctx, admin, identity.KeyInput{Name: "writer", Roles: []identity.RoleInput{{Space: space.RootID, Role: "write"}}})
	if err != nil {
		t.Fatal(err)
	}
	writer := nk.Key.Principal()
	_, err = ids.CreateRoleMapping(ctx, writer, identity.MappingInput{Group: "acme", Space: space.RootID, Role: "admin"})
	wantErr(t, "create", err, apperr.Forbidden, "only root admins")
	_, err = ids.ListRoleMappings(ctx, writer)
	wantErr(t, "list", err, apperr.Forbidden, "only root admins")
	wantErr(t, "delete", ids.DeleteRoleMapping(ctx, writer, m.ID), apperr.Forbidden, "only root admins")
}

func TestExternalUserRoles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ids, st, now, boot := setup(t)
	if err := st.CreateSpace(ctx, space.Space{ID: "platform", Name: "platform", ParentID: space.RootID, CreatedAt: *now, UpdatedAt: *now}); err != nil {
		t.Fatal(err)
	}
	admin, err := ids.Authenticate(ctx, boot.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []identity.MappingInput{
		{Issuer: gitlab, Group: "acme/platform", Space: "platform", Role: "admin"},
		{Group: "acme", Space: space.RootID, Role: "read"},
		{Issuer: "https://elsewhere.example.com", Group: "acme", Space: "platform", Role: "write"},
	} {
		if _, err := ids.CreateRoleMapping(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
	}
	// "admin" is the bootstrap user's: the external admin becomes admin-2
	// and gets nothing of the local admin's rights.
	u, err := ids.UpsertExternalUser(ctx, gitlab, "7", identity.ExternalProfile{Username: "admin", Name: "Ada", Email: "ada@example.com",
		Groups: []string{"ACME/Platform", "acme", "bad group", "acme/other"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "admin-2" || u.Username != "admin-2" || u.Issuer != gitlab || u.Subject != "7" {
		t.Errorf("created %+v", u)
	}
	roles := func() map[string]string {
		t.Helper()
		got, err := ids.GetUser(ctx, admin, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, b := range got.Roles {
			src := "local"
			if b.MappingID != "" {
				src = "mapping"
			}
			out[b.SpaceID+"/"+src] = string(b.Role)
		}
		return out
	}
	want := func(what string, w map[string]string) {
		t.Helper()
		if got := roles(); len(got) != len(w) || func() bool {
			for k, v := range w {
				if got[k] != v {
					return true
				}
			}
			return false
		}() {
			t.Errorf("%s: roles = %v, want %v", what, got, w)
		}
	}
	want("first login", map[string]string{"platform/mapping": "admin", "root/mapping": "read"})
	if ok, err := ids.IsRootAdmin(ctx, u.Principal()); err != nil || ok {
		t.Errorf("IsRootAdmin = %v, %v", ok, err)
	}
	// Access checks see mapped roles like hand-given ones.
	acc, _, err := space.NewService(st, st, nil).Access(ctx, u.Principal())
	if err != nil || acc.Role("platform") != space.Admin || acc.Role(space.RootID) != space.Read {
		t.Errorf("Access: platform %s, root %s, %v", acc.Role("platform"), acc.Role(space.RootID), err)
	}

	// A local role given by hand survives every recompute.
	if err := ids.Grant(ctx, admin, u.Principal(), identity.RoleInput{Space: "platform", Role: "read"}); err != nil {
		t.Fatal(err)
	}
	u2, err := ids.UpsertExternalUser(ctx, gitlab, "7", identity.ExternalProfile{Username: "ignored", Name: "Ada L", Email: "ada@l.example", Groups: []string{"acme"}})
	if err != nil || u2.ID != u.ID || u2.Name != "Ada L" || u2.Email != "ada@l.example" {
		t.Errorf("second login = %+v, %v", u2, err)
	}
	want("left acme/platform", map[string]string{"platform/local": "read", "root/mapping": "read"})
	if err := ids.SyncMappedRoles(ctx, u.ID, []string{"acme/platform"}); err != nil {
		t.Fatal(err)
	}
	want("refresh: back in acme/platform, out of acme", map[string]string{"platform/local": "read", "platform/mapping": "admin"})
	wantErr(t, "sync a local user", ids.SyncMappedRoles(ctx, "admin", nil), apperr.Invalid, "local user")
	wantErr(t, "too many groups", ids.SyncMappedRoles(ctx, u.ID, make([]string, identity.MaxGroups+1)), apperr.Invalid, "groups")

	// Disabled: refused with the typed error, nothing recomputed.
	if err := ids.DisableUser(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ids.UpsertExternalUser(ctx, gitlab, "7", identity.ExternalProfile{Username: "ada", Groups: []string{"acme"}})
	if !identity.IsExternalDisabled(err) || !apperr.Is(err, apperr.Unauthorized) || !strings.Contains(apperr.MessageOf(err), "disabled") {
		t.Errorf("disabled login: %v", err)
	}
	want("after a disabled login", map[string]string{"platform/local": "read", "platform/mapping": "admin"})

	// Hostile profiles: no subject, endless fields.
	_, err = ids.UpsertExternalUser(ctx, gitlab, "", identity.ExternalProfile{Username: "x"})
	wantErr(t, "no subject", err, apperr.Invalid, "subject")
	long, err := ids.UpsertExternalUser(ctx, gitlab, "8", identity.ExternalProfile{Username: strings.Repeat("a", 300), Name: strings.Repeat("n", 5000)})
	if err != nil || long.Username != "user" || len(long.Name) != 255 {
		t.Errorf("oversized profile = %q %d, %v", long.Username, len(long.Name), err)
	}
}

func TestValidateIssuerURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer string
		ok     bool
	}{
		{"https://gitlab.com", true},
		{"https://gitlab.example.com/gitlab", true}, // a self-managed GitLab under a path
		{"http://127.0.0.1:8929", true},             // loopback: tests and the demo's simulator
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://gitlab.example.com", false},
		{"http://10.0.0.1", false},
		{"https://user@gitlab.com", false},
		{"https://gitlab.com?x=1", false},
		{"https://gitlab.com#f", false},
		{"gitlab.com", false},
		{"https://" + strings.Repeat("a", identity.MaxIssuerLen), false},
	}
	for _, tt := range tests {
		if err := identity.ValidateIssuerURL(tt.issuer); (err == nil) != tt.ok {
			t.Errorf("ValidateIssuerURL(%.40q) = %v, want ok %v", tt.issuer, err, tt.ok)
		}
	}
}
