package sso_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/sso/ssotest"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

const refresh = 2 * time.Second

type fixture struct {
	issuer *ssotest.Issuer
	store  *sqlstore.Store
	ids    *identity.Service
	svc    *sso.Service
	cfg    sso.Config // svc's
	admin  string     // a root-admin principal
	logs   *syncBuffer

	mu  sync.Mutex
	now time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// setup starts a generic issuer (not GitLab) with alice in acme/platform,
// and a store on dialect where that group maps to admin of space platform.
func setup(t *testing.T, dialect string) *fixture {
	t.Helper()
	f := &fixture{issuer: ssotest.New(t), store: dbtest.Open(t, dialect), now: time.Now().UTC(), logs: &syncBuffer{}}
	f.ids = identity.NewService(f.store, f.store, f.clock)
	boot, err := f.ids.EnsureBootstrap(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if f.admin, err = f.ids.Authenticate(t.Context(), boot.APIKey); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateSpace(t.Context(), space.Space{ID: "platform", Name: "platform", ParentID: space.RootID,
		CreatedAt: f.now, UpdatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ids.CreateRoleMapping(t.Context(), f.admin, identity.MappingInput{Issuer: f.issuer.URL, Group: "acme/platform",
		Space: "platform", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Name: "Alice", Email: "alice@example.com",
		Groups: []string{"acme/platform", "acme"}})
	f.issuer.LogInAs("s-alice")
	f.cfg = sso.Config{Settings: sso.Settings{Issuer: f.issuer.URL, ClientID: f.issuer.ClientID,
		ClientSecret: f.issuer.ClientSecret, Name: "Example", RedirectURL: "https://hoist.example/login/oidc/callback", Refresh: refresh},
		Users: f.ids, Grants: f.store, Box: box, Clock: f.clock, Client: f.issuer.Client(),
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	f.svc = sso.New(f.cfg)
	return f
}

// login runs a browser's login: Begin, the issuer's redirect back, and
// Finish with what the callback brought. tamper may change the callback.
func (f *fixture) login(t *testing.T, tamper func(sealed, state, code *string)) (identity.User, error) {
	t.Helper()
	sealed, authURL, err := f.svc.Begin(t.Context(), "/stacks")
	if err != nil {
		t.Fatal(err)
	}
	state, code := f.authorize(t, authURL)
	if tamper != nil {
		tamper(&sealed, &state, &code)
	}
	l, err := f.svc.Finish(t.Context(), sealed, state, code)
	if err == nil && l.Next != "/stacks" {
		t.Errorf("next = %q, want /stacks", l.Next)
	}
	return l.User, err
}

// authorize follows the authorization URL to the issuer and reads the
// callback's state and code.
func (f *fixture) authorize(t *testing.T, authURL string) (state, code string) {
	t.Helper()
	c := f.issuer.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), "https://hoist.example/login/oidc/callback?") {
		t.Fatalf("authorize answered %d to %q (%v)", resp.StatusCode, loc, err)
	}
	return loc.Query().Get("state"), loc.Query().Get("code")
}

func (f *fixture) roles(t *testing.T, userID string) []string {
	t.Helper()
	bs, err := f.store.Bindings(t.Context(), identity.UserPrincipal(userID))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, b := range bs {
		out = append(out, b.SpaceID+":"+string(b.Role))
	}
	return out
}

func TestLoginAndRefreshWithAGenericIssuer(t *testing.T) {
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := setup(t, dialect)
			u, err := f.login(t, nil)
			if err != nil {
				t.Fatal(err)
			}
			if u.Username != "alice" || u.Issuer != f.issuer.URL || u.Subject != "s-alice" || u.Email != "alice@example.com" {
				t.Errorf("user = %+v", u)
			}
			if got := f.roles(t, u.ID); !slices.Equal(got, []string{"platform:admin"}) {
				t.Fatalf("roles after login = %v", got)
			}

			// Not due yet: nothing refreshed.
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 0 {
				t.Errorf("RefreshDue before the interval = %d, %v", n, err)
			}
			// Removed from the group at the issuer: gone within the interval.
			f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Name: "Alice", Email: "alice@example.com", Groups: []string{"acme"}})
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
				t.Fatalf("RefreshDue = %d, %v", n, err)
			}
			if got := f.roles(t, u.ID); len(got) != 0 {
				t.Errorf("roles after leaving the group = %v, want none", got)
			}
			// Back in the group: back at the next refresh (the rotated
			// refresh token was kept).
			f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Groups: []string{"acme/platform"}})
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
				t.Fatalf("RefreshDue = %d, %v", n, err)
			}
			if got := f.roles(t, u.ID); !slices.Equal(got, []string{"platform:admin"}) {
				t.Errorf("roles after rejoining = %v", got)
			}
			// The issuer revokes the grant (user blocked): roles go and the
			// grant is forgotten; only a new login brings them back.
			f.issuer.RevokeRefreshTokens()
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 1 {
				t.Fatalf("RefreshDue = %d, %v", n, err)
			}
			if got := f.roles(t, u.ID); len(got) != 0 {
				t.Errorf("roles after the grant was revoked = %v, want none", got)
			}
			if !strings.Contains(f.logs.String(), "reason=grant_revoked") && !strings.Contains(f.logs.String(), "refused by the issuer") {
				t.Errorf("no log line for the revoked grant: %s", f.logs.String())
			}
			f.advance(refresh)
			if n, err := f.svc.RefreshDue(t.Context()); err != nil || n != 0 {
				t.Errorf("RefreshDue after forgetting = %d, %v", n, err)
			}
			if _, err := f.login(t, nil); err != nil {
				t.Fatal(err)
			}
			if got := f.roles(t, u.ID); !slices.Equal(got, []string{"platform:admin"}) {
				t.Errorf("roles after logging in again = %v", got)
			}
		})
	}
}

func TestForgedLoginsAreRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		forge  ssotest.Forge
		tamper func(sealed, state, code *string)
		reason string
	}{
		{name: "wrong signature", forge: ssotest.Forge{Signature: true}, reason: sso.ReasonIDToken},
		{name: "wrong audience", forge: ssotest.Forge{Audience: "another-client"}, reason: sso.ReasonIDToken},
		{name: "expired", forge: ssotest.Forge{Expired: true}, reason: sso.ReasonIDToken},
		{name: "wrong issuer", forge: ssotest.Forge{Issuer: "https://evil.example"}, reason: sso.ReasonIDToken},
		{name: "wrong nonce", forge: ssotest.Forge{Nonce: "another-login"}, reason: sso.ReasonNonce},
		{name: "no ID token", forge: ssotest.Forge{NoIDToken: true}, reason: sso.ReasonIDToken},
		{name: "oversized userinfo", forge: ssotest.Forge{HugeUserinfo: 2 * sso.MaxResponse}, reason: sso.ReasonUserinfo},
		{name: "state of another login", tamper: func(_, state, _ *string) { *state = "x" + *state }, reason: sso.ReasonState},
		{name: "no pending login (other browser)", tamper: func(sealed, _, _ *string) { *sealed = "" }, reason: sso.ReasonState},
		{name: "pending login tampered", tamper: flipMiddle, reason: sso.ReasonState},
		{name: "no code", tamper: func(_, _, code *string) { *code = "" }, reason: sso.ReasonCode},
		{name: "unknown code", tamper: func(_, _, code *string) { *code = rand.Text() }, reason: sso.ReasonExchange},
	}
	f := setup(t, "sqlite")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.issuer.SetForge(tt.forge)
			defer f.issuer.SetForge(ssotest.Forge{})
			_, err := f.login(t, tt.tamper)
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("err = %v, want an *sso.Error of reason %s", err, tt.reason)
			}
		})
	}
	// Replayed code: the first use logs in, the second is refused by the
	// issuer, even with the same pending login.
	sealed, authURL, err := f.svc.Begin(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	state, code := f.authorize(t, authURL)
	if _, err := f.svc.Finish(t.Context(), sealed, state, code); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Finish(t.Context(), sealed, state, code); sso.ReasonOf(err) != sso.ReasonExchange {
		t.Errorf("replayed code: %v, want %s", err, sso.ReasonExchange)
	}
	// An issuer sending more groups than Hoist considers: refused.
	many := make([]string, identity.MaxGroups+1)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	f.issuer.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Groups: many})
	if _, err := f.login(t, nil); sso.ReasonOf(err) != sso.ReasonProfile {
		t.Errorf("%d groups: %v, want %s", len(many), err, sso.ReasonProfile)
	}
	// A login that took longer than LoginTTL is refused.
	sealed, authURL, err = f.svc.Begin(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	state, code = f.authorize(t, authURL)
	f.advance(sso.LoginTTL)
	if _, err := f.svc.Finish(t.Context(), sealed, state, code); sso.ReasonOf(err) != sso.ReasonExpired {
		t.Errorf("slow login: %v, want %s", err, sso.ReasonExpired)
	}
	// Only the one good login (and the replayed code's first use) made a user.
	users, _, err := f.store.ListUsers(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	external := 0
	for _, u := range users {
		if u.External() {
			external++
		}
	}
	if external != 1 {
		t.Errorf("%d external users, want 1 (alice)", external)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flipMiddle changes one character in the middle of the sealed login.
func flipMiddle(sealed, _, _ *string) {
	b := []byte(*sealed)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	*sealed = string(b)
}
