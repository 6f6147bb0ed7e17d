package identity_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := identity.NewService(st, st, nil)
	boot, err := ids.EnsureBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pw := boot.AdminPassword

	u, err := ids.Login(ctx, "ADMIN", pw)
	if err != nil || u.Principal() != "user:admin" {
		t.Fatalf("Login(ADMIN, right password) = %q, %v", u.Principal(), err)
	}
	for _, tc := range []struct{ name, username, password, reason string }{
		{"wrong password", "admin", pw + "x", identity.ReasonBadPassword},
		{"unknown user", "nobody", pw, identity.ReasonUnknownUser},
		{"no password", "admin", "", identity.ReasonMissingOrOversized},
		{"no username", "", pw, identity.ReasonMissingOrOversized},
		{"long password", "admin", strings.Repeat("p", identity.MaxPasswordLen+1), identity.ReasonMissingOrOversized},
		{"long username", strings.Repeat("a", identity.MaxUsernameLen+1), pw, identity.ReasonMissingOrOversized},
	} {
		_, err := ids.Login(ctx, tc.username, tc.password)
		var refused *identity.LoginError
		if !errors.As(err, &refused) || refused.Reason != tc.reason {
			t.Errorf("%s: err %v, want reason %s", tc.name, err, tc.reason)
		}
		if !apperr.Is(err, apperr.Unauthorized) {
			t.Errorf("%s: %v is not Unauthorized", tc.name, err)
		}
	}

	st.Close()
	if _, err := ids.Login(ctx, "admin", pw); err == nil || errors.As(err, new(*identity.LoginError)) {
		t.Errorf("Login on a closed store = %v, want a store error", err)
	}
}
