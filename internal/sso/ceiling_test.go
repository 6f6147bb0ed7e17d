package sso_test

import (
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/sso/ssotest"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// TestLimitedKeyFollowsRefresh: a personal key limited to write acts with
// the lower of that and its owner's role; when a refresh demotes the
// owner (out of the admin group, still in the read one), the key is
// demoted with it at once.
func TestLimitedKeyFollowsRefresh(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := setup(t, dialect)
			if _, err := f.ids.CreateRoleMapping(t.Context(), f.admin, identity.MappingInput{Issuer: f.issuer.URL, Group: "acme",
				Space: "platform", Role: "read"}); err != nil {
				t.Fatal(err)
			}
			u, err := f.login(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			nk, err := f.ids.CreatePersonalKey(t.Context(), u.Principal(), identity.PersonalKeyInput{Name: "ci",
				ExpiresAt: f.clock().Add(24 * time.Hour), MaxRole: "write", Spaces: []string{"platform"}})
			if err != nil {
				t.Fatal(err)
			}
			spaces := space.NewService(f.store, f.store, f.clock)
			role := func(principal, spaceID string) space.Role {
				t.Helper()
				a, _, err := spaces.Access(t.Context(), principal)
				if err != nil {
					t.Fatal(err)
				}
				return a.Role(spaceID)
			}
			key := nk.Key.Principal()
			if got := role(u.Principal(), "platform"); got != space.Admin {
				t.Fatalf("alice on platform = %q, want admin", got)
			}
			if got := role(key, "platform"); got != space.Write {
				t.Errorf("her write-limited key on platform = %q, want write", got)
			}
			if got := role(key, space.RootID); got != space.None {
				t.Errorf("her platform-limited key on root = %q, want nothing (alice reads root through platform)", got)
			}

			f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Groups: []string{"acme"}})
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
				t.Fatalf("RefreshDue = %d, %v", n, err)
			}
			if got := role(key, "platform"); got != space.Read {
				t.Errorf("after the refresh demoted alice to read, her key on platform = %q, want read", got)
			}
			f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice"})
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
				t.Fatalf("RefreshDue = %d, %v", n, err)
			}
			if got := role(key, "platform"); got != space.None {
				t.Errorf("after alice left every group, her key on platform = %q, want nothing", got)
			}
		})
	}
}
