package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

func testOIDCGrants(t *testing.T, h Harness) {
	s := fresh(t, h)
	for _, id := range []string{"u1", "u2", "u3"} {
		mustUser(t, s, id, nil)
	}
	grant := func(id string, next time.Time) sso.Grant {
		return sso.Grant{UserID: id, Issuer: testIssuer, Subject: "sub-" + id, RefreshToken: []byte("sealed-" + id),
			SyncedAt: base, NextSyncAt: next}
	}
	for _, g := range []sso.Grant{grant("u1", base.Add(time.Minute)), grant("u2", base.Add(2*time.Minute)), grant("u3", base.Add(time.Hour))} {
		if err := s.PutOIDCGrant(ctx(), g); err != nil {
			t.Fatal(err)
		}
	}
	// A login again replaces the grant (no refresh token this time).
	g2 := grant("u2", base.Add(3*time.Minute))
	g2.RefreshToken, g2.Subject = nil, "sub-u2b"
	if err := s.PutOIDCGrant(ctx(), g2); err != nil {
		t.Fatal(err)
	}

	now, until := base.Add(5*time.Minute), base.Add(6*time.Minute)
	got, err := s.ClaimOIDCGrants(ctx(), now, until, 10)
	if err != nil {
		t.Fatal(err)
	}
	w1, w2 := grant("u1", until), g2
	w2.NextSyncAt = until
	if want := []sso.Grant{w1, w2}; !reflect.DeepEqual(sortGrants(got), want) {
		t.Errorf("claimed %+v, want %+v", got, want)
	}
	if again, err := s.ClaimOIDCGrants(ctx(), now, until, 10); err != nil || len(again) != 0 {
		t.Errorf("claimed again: %+v, %v; want none (held until %s)", again, err, until)
	}
	if later, err := s.ClaimOIDCGrants(ctx(), until, until.Add(time.Minute), 1); err != nil || len(later) != 1 || later[0].UserID != "u1" {
		t.Errorf("after the hold, limit 1: %+v, %v; want u1 (the earliest due)", later, err)
	}
	if err := s.DeleteOIDCGrant(ctx(), "u2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOIDCGrant(ctx(), "u2"); err != nil {
		t.Errorf("deleting no grant: %v", err)
	}
	// Deleting the user deletes its grant.
	if err := s.DeleteUser(ctx(), "u3", idEntry("user.delete", "u3")); err != nil {
		t.Fatal(err)
	}
	if left, err := s.ClaimOIDCGrants(ctx(), base.Add(24*time.Hour), base.Add(25*time.Hour), 10); err != nil || len(left) != 1 || left[0].UserID != "u1" {
		t.Errorf("left after deletes: %+v, %v; want u1 only", left, err)
	}
}

// testOIDCGrantRace: two servers refreshing at once take each due grant
// once (a refresh token used twice revokes its family at GitLab).
func testOIDCGrantRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const n = 40
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		mustUser(t, s1, id, nil)
		if err := s1.PutOIDCGrant(ctx(), sso.Grant{UserID: id, Issuer: testIssuer, Subject: id, SyncedAt: base, NextSyncAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	claimRace(t, s1, s2, 4, n, func(s *sqlstore.Store, _ int) ([]string, error) {
		gs, err := s.ClaimOIDCGrants(ctx(), base, base.Add(time.Hour), 3)
		ids := make([]string, 0, len(gs))
		for _, g := range gs {
			ids = append(ids, g.UserID)
		}
		return ids, err
	})
}

func sortGrants(gs []sso.Grant) []sso.Grant {
	out := slices.Clone(gs)
	slices.SortFunc(out, func(a, b sso.Grant) int { return strings.Compare(a.UserID, b.UserID) })
	return out
}
