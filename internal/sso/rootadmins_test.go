package sso_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/sso/ssotest"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// TestRefreshLeavingNoMappedRootAdmin: with password logins off, the
// refresh that takes the last mapped root admin's group away is not
// refused (the issuer's word) but logged as an error, once.
func TestRefreshLeavingNoMappedRootAdmin(t *testing.T) {
	t.Parallel()
	f := setup(t, dbtest.Dialects[0])
	f.cfg.WatchRootAdmins = true
	f.svc = sso.New(f.cfg)
	if _, err := f.ids.CreateRoleMapping(t.Context(), f.admin, identity.MappingInput{Issuer: f.issuer.URL, Group: "acme",
		Space: space.RootID, Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(t, nil); err != nil {
		t.Fatal(err)
	}
	const msg = "no enabled user is root admin through a role mapping any more"
	f.advance(refresh)
	if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 || strings.Contains(f.logs.String(), msg) {
		t.Fatalf("a refresh keeping alice root admin = %d, %v; logs:\n%s", n, err, f.logs.String())
	}
	f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Groups: []string{"acme/platform"}})
	for range 2 {
		f.advance(refresh)
		if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
			t.Fatalf("RefreshDue = %d, %v", n, err)
		}
	}
	if got := strings.Count(f.logs.String(), msg); got != 1 {
		t.Errorf("the drop to no mapped root admin logged %d times, want once:\n%s", got, f.logs.String())
	}
	if n, _ := f.ids.MappedRootAdmins(t.Context()); n != 0 {
		t.Errorf("mapped root admins = %d: the refresh was refused", n)
	}
}
