package gitlabsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const oidcCallback = "http://127.0.0.1:9/auth/callback"

// oidcFixture is a started simulator with an OAuth application, the
// client libraries Hoist's server uses pointed at it, and "alice", a
// Maintainer of acme/platform and a Developer of acme/apps.
type oidcFixture struct {
	sim      *Server
	url      string
	app      OAuthApp
	provider *oidc.Provider
	conf     oauth2.Config
	alice    User
}

func setupOIDC(t *testing.T, cfg Config) *oidcFixture {
	t.Helper()
	ctx := context.Background()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	base, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := sim.CreateUser(ctx, UserOptions{Username: "alice", Name: "Alice Doe"})
	if err != nil {
		t.Fatal(err)
	}
	for group, level := range map[string]int{"acme/platform": Maintainer, "acme/apps": Developer} {
		if _, err := sim.CreateGroup(ctx, group); err != nil {
			t.Fatal(err)
		}
		if err := sim.AddMember(ctx, MemberOptions{Group: group, UserID: alice.ID, AccessLevel: level}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.CreateGroup(ctx, "acme/platform/net"); err != nil {
		t.Fatal(err)
	}
	app, err := sim.CreateOAuthApp(ctx, OAuthAppOptions{Name: "Hoist", RedirectURIs: []string{oidcCallback, oidcCallback + "2"}})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &oidcFixture{sim: sim, url: base, app: app, provider: provider, alice: alice, conf: oauth2.Config{
		ClientID: app.ClientID, ClientSecret: app.Secret, Endpoint: provider.Endpoint(), RedirectURL: oidcCallback,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}}
}

// login is one flow's client side up to the code: the authorization
// request's parameters, and its PKCE verifier.
type login struct {
	params   url.Values
	verifier string
}

func (f *oidcFixture) newLogin(t *testing.T) login {
	t.Helper()
	v := oauth2.GenerateVerifier()
	u, err := url.Parse(f.conf.AuthCodeURL("st-"+randomHex(4), oidc.Nonce("n-"+randomHex(4)), oauth2.S256ChallengeOption(v)))
	if err != nil {
		t.Fatal(err)
	}
	return login{params: u.Query(), verifier: v}
}

var noFollow = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// choose posts the authorize page's form as userID; it returns the status,
// the redirect's query (nil without one) and the body.
func (f *oidcFixture) choose(t *testing.T, params url.Values, userID int) (int, url.Values, string) {
	t.Helper()
	form := url.Values{}
	for k, v := range params {
		form[k] = slices.Clone(v)
	}
	if userID != 0 {
		form.Set("user_id", itoa(userID))
	}
	resp, err := noFollow.PostForm(f.url+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return answer(t, resp)
}

func answer(t *testing.T, resp *http.Response) (int, url.Values, string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if loc == "" {
		return resp.StatusCode, nil, string(body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; !strings.HasPrefix(got, oidcCallback) {
		t.Fatalf("redirected to %s, not to the client", loc)
	}
	return resp.StatusCode, u.Query(), string(body)
}

// code logs alice in and returns the code.
func (f *oidcFixture) code(t *testing.T, l login) string {
	t.Helper()
	status, q, body := f.choose(t, l.params, f.alice.ID)
	if status != http.StatusFound || q.Get("code") == "" || q.Get("state") != l.params.Get("state") {
		t.Fatalf("authorize = %d %v %s", status, q, body)
	}
	return q.Get("code")
}

// signIn runs the whole flow as alice and returns the token.
func (f *oidcFixture) signIn(t *testing.T) *oauth2.Token {
	t.Helper()
	l := f.newLogin(t)
	tok, err := f.conf.Exchange(context.Background(), f.code(t, l), oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestOIDCFlow(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := f.conf
		conf.Endpoint.AuthStyle = style
		l := f.newLogin(t)
		resp, err := http.Get(f.url + "/oauth/authorize?" + l.params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-username="alice"`) ||
			!strings.Contains(string(page), `name="code_challenge" value="`+l.params.Get("code_challenge")+`"`) {
			t.Fatalf("authorize page = %d\n%s", resp.StatusCode, page)
		}
		tok, err := conf.Exchange(ctx, f.code(t, l), oauth2.VerifierOption(l.verifier))
		if err != nil {
			t.Fatalf("auth style %d: exchange: %v", style, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := f.provider.Verifier(&oidc.Config{ClientID: f.app.ClientID}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		var claims struct {
			Sub, SubLegacy, Name, Nickname, PreferredUsername, Email string
			EmailVerified                                            bool     `json:"email_verified"`
			GroupsDirect                                             []string `json:"groups_direct"`
			AuthTime                                                 int64    `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != itoa(f.alice.ID) || idt.Nonce != l.params.Get("nonce") || idt.Issuer != f.url ||
			!slices.Equal(idt.Audience, []string{f.app.ClientID}) || !slices.Equal(claims.GroupsDirect, []string{"acme/apps", "acme/platform"}) ||
			claims.Email != "alice@example.com" || !claims.EmailVerified || claims.AuthTime == 0 {
			t.Errorf("ID token = %+v, claims %+v", idt, claims)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < time.Hour {
			t.Errorf("token = %+v", tok)
		}
		info, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var ui map[string]any
		if err := info.Claims(&ui); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"sub": itoa(f.alice.ID), "nickname": "alice", "preferred_username": "alice", "name": "Alice Doe",
			"email": "alice@example.com", "email_verified": true, "profile": f.url + "/alice",
			"groups":        []any{"acme/apps", "acme/platform", "acme/platform/net"},
			claimMaintainer: []any{"acme/platform"}, claimDeveloper: []any{"acme/apps"}, claimOwner: []any{}}
		for k, v := range want {
			if !equalJSON(ui[k], v) {
				t.Errorf("userinfo %s = %#v, want %#v", k, ui[k], v)
			}
		}
	}
}

func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

func itoa(n int) string { return strconv.Itoa(n) }

func decodeJSON(t *testing.T, resp *http.Response, out any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		t.Fatalf("%s %s: decode: %v", resp.Request.Method, resp.Request.URL.Path, err)
	}
}

// startHandler serves h on loopback and returns its URL.
func startHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestControlOAuthAppsAndMemberships(t *testing.T) {
	t.Parallel()
	sim, base := newSim(t)
	var app OAuthApp
	if code := control(t, sim, base, "POST", "/-/sim/oauth_apps", map[string]any{"name": "Hoist",
		"redirect_uris": []string{oidcCallback}}, &app); code != http.StatusCreated || app.ClientID == "" ||
		!strings.HasPrefix(app.Secret, "gloas-") || strings.Join(app.Scopes, " ") != "openid profile email" || !app.Confidential {
		t.Fatalf("create app = %d %+v", code, app)
	}
	for _, bad := range []map[string]any{
		{"name": "x", "redirect_uris": []string{"javascript:alert(1)"}},
		{"name": "x", "redirect_uris": []string{oidcCallback + "#frag"}},
		{"name": "x"},
		{"name": "x", "redirect_uris": []string{oidcCallback}, "scopes": []string{"openid", "everything"}},
	} {
		if code := control(t, sim, base, "POST", "/-/sim/oauth_apps", bad, nil); code != http.StatusBadRequest {
			t.Errorf("create app %v = %d, want 400", bad, code)
		}
	}
	var u User
	control(t, sim, base, "POST", "/-/sim/users", map[string]any{"username": "bob"}, &u)
	control(t, sim, base, "POST", "/-/sim/groups", map[string]any{"path": "acme/platform"}, nil)
	member := map[string]any{"group": "acme/platform", "user_id": u.ID, "access_level": Owner}
	if code := control(t, sim, base, "POST", "/-/sim/members", member, nil); code != http.StatusCreated {
		t.Fatalf("add member = %d", code)
	}
	var ms []GroupMember
	if code := control(t, sim, base, "GET", "/-/sim/members?group=acme/platform", nil, &ms); code != http.StatusOK ||
		len(ms) != 1 || ms[0] != (GroupMember{UserID: u.ID, Username: "bob", AccessLevel: Owner}) {
		t.Fatalf("members = %d %+v", code, ms)
	}
	if code := control(t, sim, base, "POST", "/-/sim/members/remove", member, nil); code != http.StatusCreated {
		t.Fatalf("remove member = %d", code)
	}
	if code := control(t, sim, base, "POST", "/-/sim/members/remove", member, nil); code != http.StatusNotFound {
		t.Errorf("remove again = %d, want 404", code)
	}
	if code := control(t, sim, base, "GET", "/-/sim/members?group=acme/platform", nil, &ms); code != http.StatusOK || len(ms) != 0 {
		t.Errorf("members after removal = %d %+v", code, ms)
	}
	var disc map[string]any
	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, resp, &disc)
	if disc["issuer"] != base || disc["jwks_uri"] != base+"/oauth/discovery/keys" || !equalJSON(disc["code_challenge_methods_supported"], []any{"S256"}) {
		t.Errorf("discovery = %v", disc)
	}
}
