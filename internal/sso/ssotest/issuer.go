// Package ssotest is a minimal, generic OpenID Connect issuer for tests,
// built on go-jose: discovery, JWKS, an authorization endpoint that logs in
// whichever user the test chose (no page), a token endpoint with the code
// (PKCE S256) and refresh grants, and userinfo. Unlike the GitLab
// simulator it can be told to misbehave: sign with another key, name
// another audience, send expired tokens or another nonce. It proves that
// the login is not GitLab-only and that forged tokens are refused.
package ssotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is someone the issuer can log in.
type User struct {
	Subject  string
	Username string
	Name     string
	Email    string
	Groups   []string
}

// Issuer is a running test issuer (HTTPS on loopback).
type Issuer struct {
	URL          string
	ClientID     string
	ClientSecret string

	srv   *httptest.Server
	key   *rsa.PrivateKey
	rogue *rsa.PrivateKey // signs when Forge.Signature is set

	mu      sync.Mutex
	users   map[string]User
	current string // the subject /authorize logs in
	codes   map[string]*code
	refresh map[string]string // refresh token → subject
	access  map[string]string // access token → subject
	forge   Forge
	now     func() time.Time
	// postLogout is the registered post_logout_redirect_uri; "" while
	// the issuer offers no end_session_endpoint (OfferLogout).
	postLogout string
	logouts    []Logout
}

// Forge makes the next ID tokens wrong in one way.
type Forge struct {
	Signature    bool          // signed with a key the JWKS does not hold
	Audience     string        // another audience than the client
	Expired      bool          // exp in the past
	Nonce        string        // another nonce than the login's
	Issuer       string        // another iss
	NoIDToken    bool          // the code grant answers without an ID token
	HugeUserinfo int64         // userinfo answers this many bytes of JSON (a hostile or broken issuer)
	Lifetime     time.Duration // ID token lifetime (default 5 minutes)
}

type code struct {
	subject, nonce, challenge, redirect string
	used                                bool
}

// New starts an issuer; it stops with the test.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{ClientID: "test-client", ClientSecret: rand.Text(), users: map[string]User{}, codes: map[string]*code{},
		refresh: map[string]string{}, access: map[string]string{}, now: time.Now}
	var err error
	if is.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if is.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("GET /userinfo", is.userinfo)
	mux.HandleFunc("GET /logout", is.logout)
	is.srv = httptest.NewTLSServer(mux)
	is.URL = is.srv.URL
	t.Cleanup(is.srv.Close)
	return is
}

// Client is an HTTP client that trusts the issuer's certificate.
func (is *Issuer) Client() *http.Client { return is.srv.Client() }

// SetUser adds or replaces a user (its groups change at once for
// userinfo and later tokens).
func (is *Issuer) SetUser(u User) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.users[u.Subject] = u
}

// LogInAs makes /authorize log in subject from now on.
func (is *Issuer) LogInAs(subject string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.current = subject
}

// SetForge makes the following ID tokens wrong as f says (Forge{} for
// right ones again).
func (is *Issuer) SetForge(f Forge) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.forge = f
}

// RevokeRefreshTokens makes every refresh token invalid (a blocked user).
func (is *Issuer) RevokeRefreshTokens() {
	is.mu.Lock()
	defer is.mu.Unlock()
	clear(is.refresh)
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	d := map[string]any{"issuer": is.URL, "authorization_endpoint": is.URL + "/authorize",
		"token_endpoint": is.URL + "/token", "jwks_uri": is.URL + "/jwks", "userinfo_endpoint": is.URL + "/userinfo",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"}}
	is.mu.Lock()
	if is.postLogout != "" {
		d["end_session_endpoint"] = is.URL + "/logout"
	}
	is.mu.Unlock()
	writeJSON(w, http.StatusOK, d)
}

func (is *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

// authorize logs in the current user at once and redirects back with a
// code, as an issuer does after its login page.
func (is *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	is.mu.Lock()
	defer is.mu.Unlock()
	if q.Get("client_id") != is.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || is.current == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	c := rand.Text()
	is.codes[c] = &code{subject: is.current, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := back.Query()
	v.Set("code", c)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != is.ClientID || sec != is.ClientSecret {
		oauthError(w, "invalid_client")
		return
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c := is.codes[r.PostForm.Get("code")]
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if c == nil || c.used || c.redirect != r.PostForm.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			oauthError(w, "invalid_grant")
			return
		}
		c.used = true // a replayed code is refused
		is.answer(w, c.subject, c.nonce, !is.forge.NoIDToken)
	case "refresh_token":
		sub, ok := is.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			oauthError(w, "invalid_grant")
			return
		}
		delete(is.refresh, r.PostForm.Get("refresh_token")) // rotated
		is.answer(w, sub, "", true)
	default:
		oauthError(w, "unsupported_grant_type")
	}
}

// answer mints tokens for subject; callers hold is.mu.
func (is *Issuer) answer(w http.ResponseWriter, subject, nonce string, withID bool) {
	u := is.users[subject]
	access, refresh := "at-"+rand.Text(), "rt-"+rand.Text()
	is.refresh[refresh] = subject
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}
	if withID {
		idt, err := is.idToken(u, nonce)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp["id_token"] = idt
	}
	is.access[access] = subject
	writeJSON(w, http.StatusOK, resp)
}

func (is *Issuer) idToken(u User, nonce string) (string, error) {
	f := is.forge
	key := is.key
	if f.Signature {
		key = is.rogue
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now, life := is.now(), f.Lifetime
	if life == 0 {
		life = 5 * time.Minute
	}
	exp := now.Add(life)
	if f.Expired {
		exp = now.Add(-time.Minute)
	}
	c := map[string]any{"iss": is.URL, "sub": u.Subject, "aud": is.ClientID, "iat": now.Unix(), "exp": exp.Unix(),
		"preferred_username": u.Username, "name": u.Name, "email": u.Email, "groups": u.Groups}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if f.Nonce != "" {
		c["nonce"] = f.Nonce
	}
	if f.Audience != "" {
		c["aud"] = f.Audience
	}
	if f.Issuer != "" {
		c["iss"] = f.Issuer
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

func (is *Issuer) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	is.mu.Lock()
	sub, known := is.access[tok]
	u := is.users[sub]
	huge := is.forge.HugeUserinfo
	is.mu.Unlock()
	if !ok || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	if huge > 0 {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sub":"`+u.Subject+`","name":"`)
		_, _ = io.CopyN(w, letters{}, huge)
		_, _ = io.WriteString(w, `"}`)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": u.Subject, "preferred_username": u.Username, "name": u.Name,
		"email": u.Email, "groups": u.Groups})
}

// letters reads as an endless run of 'a'.
type letters struct{}

func (letters) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func bearer(r *http.Request) (string, bool) {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

func oauthError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
