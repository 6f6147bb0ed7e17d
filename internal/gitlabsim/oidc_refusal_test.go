package gitlabsim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestOIDCAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	cases := []struct {
		name     string
		edit     func(url.Values)
		userID   int
		redirect bool   // the error goes back to the client; else it is shown
		want     string // the OAuth error code
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }, 0, false, "invalid_client"},
		{"wrong redirect URI", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/evil") }, 0, false, "invalid_redirect_uri"},
		{"redirect URI prefix", func(q url.Values) { q.Set("redirect_uri", oidcCallback+"/x") }, 0, false, "invalid_redirect_uri"},
		{"parameter twice", func(q url.Values) { q.Add("state", "second") }, 0, false, "invalid_request"},
		{"huge state", func(q url.Values) { q.Set("state", strings.Repeat("s", maxParamLen+1)) }, 0, false, "invalid_request"},
		{"response type token", func(q url.Values) { q.Set("response_type", "token") }, 0, true, "unsupported_response_type"},
		{"no openid scope", func(q url.Values) { q.Set("scope", "profile email") }, 0, true, "invalid_scope"},
		{"scope the app lacks", func(q url.Values) { q.Set("scope", "openid api") }, 0, true, "invalid_scope"},
		{"no state", func(q url.Values) { q.Del("state") }, 0, true, "invalid_request"},
		{"no nonce", func(q url.Values) { q.Del("nonce") }, 0, true, "invalid_request"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, 0, true, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 0, true, "invalid_request"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, 0, true, "invalid_request"},
		{"unknown user", func(url.Values) {}, 999, false, "invalid_request"},
		{"no user", func(q url.Values) { q.Set("user_id", "root") }, 0, false, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := f.newLogin(t)
			tc.edit(l.params)
			status, q, body := f.choose(t, l.params, tc.userID)
			if tc.redirect {
				if status != http.StatusFound || q.Get("error") != tc.want || q.Get("code") != "" {
					t.Fatalf("answer = %d %v %s; want a redirect with error %s", status, q, body, tc.want)
				}
				if l.params.Get("state") != "" && q.Get("state") != l.params.Get("state") {
					t.Errorf("state = %q, want %q", q.Get("state"), l.params.Get("state"))
				}
				return
			}
			if status != http.StatusBadRequest || q != nil || !strings.Contains(body, tc.want) {
				t.Fatalf("answer = %d %v %s; want a 400 page saying %s", status, q, body, tc.want)
			}
			if tc.userID == 0 && tc.name != "no user" { // the GET page refuses the same way
				resp, err := noFollow.Get(f.url + "/oauth/authorize?" + l.params.Encode())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("GET = %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
}

func TestOIDCTokenRefusals(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	other, err := f.sim.CreateOAuthApp(ctx, OAuthAppOptions{Name: "Other", RedirectURIs: []string{oidcCallback}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(conf *oauth2.Config, verifier *string)
		want string
	}{
		{"PKCE verifier mismatch", func(_ *oauth2.Config, v *string) { *v = oauth2.GenerateVerifier() }, "invalid_grant"},
		{"no PKCE verifier", func(_ *oauth2.Config, v *string) { *v = "" }, "invalid_grant"},
		{"other registered redirect URI", func(c *oauth2.Config, _ *string) { c.RedirectURL = oidcCallback + "2" }, "invalid_grant"},
		{"wrong client secret (basic)", func(c *oauth2.Config, _ *string) {
			c.ClientSecret, c.Endpoint.AuthStyle = "gloas-wrong", oauth2.AuthStyleInHeader
		}, "invalid_client"},
		{"wrong client secret (post)", func(c *oauth2.Config, _ *string) {
			c.ClientSecret, c.Endpoint.AuthStyle = "gloas-wrong", oauth2.AuthStyleInParams
		}, "invalid_client"},
		{"no client secret", func(c *oauth2.Config, _ *string) { c.ClientSecret, c.Endpoint.AuthStyle = "", oauth2.AuthStyleInParams }, "invalid_client"},
		{"code of another client", func(c *oauth2.Config, _ *string) { c.ClientID, c.ClientSecret = other.ClientID, other.Secret }, "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := f.newLogin(t)
			code := f.code(t, l)
			conf, verifier := f.conf, l.verifier
			tc.edit(&conf, &verifier)
			var opts []oauth2.AuthCodeOption
			if verifier != "" {
				opts = append(opts, oauth2.VerifierOption(verifier))
			}
			tok, err := conf.Exchange(ctx, code, opts...)
			if got := oauthErrorCode(err); got != tc.want {
				t.Fatalf("exchange = %+v, %v; want %s", tok, err, tc.want)
			}
		})
	}
	t.Run("code redeemed after a failed attempt", func(t *testing.T) {
		t.Parallel()
		l := f.newLogin(t)
		code := f.code(t, l)
		if _, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("wrong verifier: %v", err)
		}
		if _, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(l.verifier)); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("the code survived a failed attempt: %v", err)
		}
	})
	t.Run("hostile bodies", func(t *testing.T) {
		t.Parallel()
		for body, want := range map[string]string{
			"grant_type=password&username=a&password=b": "unsupported_grant_type",
			"code=x": "invalid_request",
			"grant_type=authorization_code&grant_type=refresh_token":            "invalid_request",
			"grant_type=refresh_token&refresh_token=" + randomHex(32):           "invalid_grant",
			"grant_type=authorization_code&code=%zz":                            "invalid_request",
			"grant_type=authorization_code&code=" + strings.Repeat("c", 70<<10): "invalid_request",
		} {
			req, _ := http.NewRequest(http.MethodPost, f.url+"/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(f.app.ClientID, f.app.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			decodeJSON(t, resp, &e)
			if resp.StatusCode != http.StatusBadRequest || e.Error != want || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%.60s = %d %q, want 400 %s", body, resp.StatusCode, e.Error, want)
			}
		}
	})
}

func TestOIDCCodeReplayRevokesItsTokens(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	l := f.newLogin(t)
	code := f.code(t, l)
	tok, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	// The token is refreshed once, so the revocation must follow the chain.
	refreshed, err := f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(l.verifier)); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replayed code: %v, want invalid_grant", err)
	}
	if _, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("userinfo after replay: %v, want 401", err)
	}
	if _, err := f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after replay: %v, want invalid_grant", err)
	}
}

func TestOIDCExpiredCode(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	f := setupOIDC(t, Config{Clock: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	l := f.newLogin(t)
	code := f.code(t, l)
	mu.Lock()
	now = now.Add(authCodeTTL)
	mu.Unlock()
	if _, err := f.conf.Exchange(context.Background(), code, oauth2.VerifierOption(l.verifier)); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("expired code: %v, want invalid_grant", err)
	}
}

func TestOIDCRefreshRotates(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	tok := f.signIn(t)
	next, err := f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
		t.Fatalf("refresh did not rotate: %+v after %+v", next, tok)
	}
	raw, _ := next.Extra("id_token").(string)
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: f.app.ClientID}).Verify(ctx, raw)
	if err != nil || idt.Subject != itoa(f.alice.ID) || idt.Nonce != "" {
		t.Errorf("refreshed ID token = %+v, %v", idt, err)
	}
	if _, err := f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("old refresh token: %v, want invalid_grant", err)
	}
	if _, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the rotated-away access token still works")
	}
	if _, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(next)); err != nil {
		t.Errorf("userinfo with the new token: %v", err)
	}
}

func TestOIDCUserinfoFollowsMemberships(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	tok := f.signIn(t)
	if err := f.sim.RemoveMember(ctx, MemberOptions{Group: "acme/platform", UserID: f.alice.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.RemoveMember(ctx, MemberOptions{Group: "acme/platform", UserID: f.alice.ID}); err == nil {
		t.Error("removing a membership twice succeeded")
	}
	info, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var ui struct {
		Groups     []string `json:"groups"`
		Maintainer []string `json:"https://gitlab.org/claims/groups/maintainer"`
		Developer  []string `json:"https://gitlab.org/claims/groups/developer"`
	}
	if err := info.Claims(&ui); err != nil {
		t.Fatal(err)
	}
	if len(ui.Maintainer) != 0 || strings.Join(ui.Groups, ",") != "acme/apps" || strings.Join(ui.Developer, ",") != "acme/apps" {
		t.Errorf("userinfo after removal = %+v", ui)
	}
}

// The access token also works on the REST API, within its scopes.
func TestOIDCAccessTokenOnRESTAPI(t *testing.T) {
	t.Parallel()
	f := setupOIDC(t, Config{})
	ctx := context.Background()
	app, err := f.sim.CreateOAuthApp(ctx, OAuthAppOptions{Name: "API", RedirectURIs: []string{oidcCallback}, Scopes: []string{"openid", "read_user"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scopes []string
		want   int
	}{{[]string{"openid", "read_user"}, http.StatusOK}, {[]string{"openid"}, http.StatusForbidden}} {
		conf := f.conf
		conf.ClientID, conf.ClientSecret, conf.Scopes = app.ClientID, app.Secret, tc.scopes
		fa := *f
		fa.conf = conf
		tok := fa.signIn(t)
		req, _ := http.NewRequest(http.MethodGet, f.url+"/api/v4/user", nil)
		tok.SetAuthHeader(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var u struct{ Username string }
		decodeJSON(t, resp, &u)
		if resp.StatusCode != tc.want || (tc.want == http.StatusOK && u.Username != "alice") {
			t.Errorf("scopes %v: GET /user = %d %+v, want %d", tc.scopes, resp.StatusCode, u, tc.want)
		}
	}
}

// A restarted simulator on the same data dir keeps its signing key and its
// applications, so tokens and clients survive.
func TestOIDCKeySurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := setupOIDC(t, Config{DataDir: dir})
	ctx := context.Background()
	tok := f.signIn(t)
	f.sim.Close()
	sim2, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim2.Close() })
	sim2.SetURL(f.url) // the same issuer; served by hand on a new port
	srv := startHandler(t, sim2.Handler())
	keys := oidc.NewRemoteKeySet(ctx, srv+"/oauth/discovery/keys")
	raw, _ := tok.Extra("id_token").(string)
	if _, err := keys.VerifySignature(ctx, raw); err != nil {
		t.Fatalf("the restarted simulator's JWKS does not verify the old ID token: %v", err)
	}
	conf := f.conf
	conf.Endpoint = oauth2.Endpoint{TokenURL: srv + "/oauth/token", AuthURL: srv + "/oauth/authorize"}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh after restart: %v", err)
	}
}
