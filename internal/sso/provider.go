// Package sso logs people in through an OpenID Connect issuer — GitLab
// (gitlab.com or self-managed) or any other — and keeps the roles their
// groups give them current (issue 20, docs/sso.md).
//
// The protocol is the libraries': github.com/coreos/go-oidc/v3 discovers
// the issuer and verifies ID tokens against its JWKS (signature, issuer,
// audience, expiry), golang.org/x/oauth2 runs the authorization code flow
// with PKCE (S256) and refreshes tokens. This package adds what they leave
// to the application: the state, nonce and PKCE verifier of a login,
// bounds on everything the issuer sends, reading the profile and groups
// from the ID token and the userinfo endpoint, and the refresh schedule.
package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hoistdev/hoist/internal/identity"
)

// Settings configure the login (hoist server --oidc-*).
type Settings struct {
	// Issuer is the issuer URL exactly as its discovery document names
	// it: https://gitlab.com, https://gitlab.example.com, … (http only on
	// a loopback host: tests and the demo).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is what the login button says: "Log in with <Name>".
	Name string
	// RedirectURL is the callback the issuer sends the browser back to:
	// <public URL>/login/oidc/callback, registered with the issuer.
	RedirectURL string
	// Refresh is how often a user's mapped roles are recomputed between
	// logins (--oidc-refresh).
	Refresh time.Duration
	// PostLogoutURL is where the issuer sends the browser back after
	// logging it out (RP-initiated logout, when the issuer offers it):
	// <public URL>/login, registered with the issuer. Empty: Hoist never
	// sends a browser to the issuer's logout.
	PostLogoutURL string
}

// Bounds on the issuer's answers and on a login.
const (
	// MaxResponse bounds any answer of the issuer (discovery, JWKS,
	// tokens, userinfo): each is a few KiB.
	MaxResponse = 1 << 20
	// requestTimeout bounds one call to the issuer.
	requestTimeout = 15 * time.Second
	// LoginTTL is how long a started login may take to come back.
	LoginTTL = 10 * time.Minute
	// DefaultRefresh is --oidc-refresh's default.
	DefaultRefresh = 15 * time.Minute
	// MinRefresh is the shortest refresh interval accepted.
	MinRefresh = time.Second
)

// Scopes asked for: OpenID Connect's profile and email; GitLab adds the
// groups claims to the ID token and userinfo under these.
var Scopes = []string{oidc.ScopeOpenID, "profile", "email"}

// Validate checks s as the server starts, without calling the issuer.
func (s Settings) Validate() error {
	if err := identity.ValidateIssuerURL(s.Issuer); err != nil {
		return fmt.Errorf("--oidc-issuer: %w", err)
	}
	switch {
	case strings.TrimSpace(s.ClientID) == "":
		return errors.New("--oidc-client-id is required with --oidc-issuer")
	case s.ClientSecret == "":
		return errors.New("--oidc-client-secret-file is required with --oidc-issuer (GitLab applications are confidential clients)")
	case s.Refresh < MinRefresh:
		return fmt.Errorf("--oidc-refresh must be at least %s", MinRefresh)
	case len(s.Name) > 64:
		return errors.New("--oidc-name must be at most 64 characters")
	}
	return nil
}

// Provider talks to one issuer. Discovery happens at the first login (or
// refresh), not at start: a server whose issuer is down still starts, and
// its local logins work.
type Provider struct {
	set    Settings
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovered
}

// NewProvider returns a provider for s (validated). client, when nil, is a
// client with the package's timeout; either way answers are cut at
// MaxResponse.
func NewProvider(s Settings, client *http.Client, now func() time.Time) *Provider {
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, TLSHandshakeTimeout: 10 * time.Second,
			ResponseHeaderTimeout: requestTimeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	}
	bounded := *client
	if bounded.Timeout == 0 {
		bounded.Timeout = requestTimeout
	}
	bounded.Transport = limitBody{next: transportOf(client)}
	// No redirects: the discovery document and the token endpoint answer
	// directly; following one would take a secret elsewhere.
	bounded.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if now == nil {
		now = time.Now
	}
	return &Provider{set: s, client: &bounded, now: now}
}

// Name is what the login button calls the issuer.
func (p *Provider) Name() string { return p.set.Name }

// Issuer is the issuer URL.
func (p *Provider) Issuer() string { return p.set.Issuer }

// ctx carries the bounded client to go-oidc and oauth2.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, p.client), oauth2.HTTPClient, p.client)
}

// discover fetches the discovery document once; a failure is retried at
// the next call.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	// The JWKS is fetched later with the context given here: not the
	// request's, which ends with the request.
	pr, err := oidc.NewProvider(p.ctx(context.WithoutCancel(ctx)), p.set.Issuer)
	if err != nil {
		return nil, &Error{Reason: ReasonDiscovery, Err: err}
	}
	p.provider = pr
	return pr, nil
}

func (p *Provider) oauth(pr *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.set.ClientID, ClientSecret: p.set.ClientSecret, RedirectURL: p.set.RedirectURL,
		Endpoint: pr.Endpoint(), Scopes: Scopes}
}

func (p *Provider) verifier(pr *oidc.Provider) *oidc.IDTokenVerifier {
	return pr.Verifier(&oidc.Config{ClientID: p.set.ClientID, Now: p.now})
}

// Pending is a login between the redirect to the issuer and its callback:
// kept by the browser (sealed in a cookie), checked at the callback.
type Pending struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"` // PKCE code verifier
	Next     string    `json:"x"` // the local page to return to
	Expires  time.Time `json:"e"`
}

// Begin starts a login: the pending login to keep and the issuer's
// authorization URL to send the browser to.
func (p *Provider) Begin(ctx context.Context, next string) (Pending, string, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return Pending{}, "", err
	}
	pl := Pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier(),
		Next: next, Expires: p.now().Add(LoginTTL)}
	u := p.oauth(pr).AuthCodeURL(pl.State, oidc.Nonce(pl.Nonce), oauth2.S256ChallengeOption(pl.Verifier))
	return pl, u, nil
}

// Identity is who the issuer says logged in, with the refresh token to
// ask again later ("" when the issuer gave none).
type Identity struct {
	Subject      string
	Profile      identity.ExternalProfile
	RefreshToken string
	IDToken      string // the verified ID token as sent, for id_token_hint at logout ("" on a refresh without one)
}

// Finish checks the callback against the pending login: the state, then
// the code exchanged with the PKCE verifier, the ID token (signature,
// issuer, audience, expiry by go-oidc; the nonce here), and the profile.
func (p *Provider) Finish(ctx context.Context, pl Pending, state, code string) (Identity, error) {
	if pl.State == "" || subtle.ConstantTimeCompare([]byte(pl.State), []byte(state)) != 1 {
		return Identity{}, &Error{Reason: ReasonState, Err: errors.New("the state does not match the login this browser started")}
	}
	if !p.now().Before(pl.Expires) {
		return Identity{}, &Error{Reason: ReasonExpired, Err: fmt.Errorf("the login started more than %s ago", LoginTTL)}
	}
	if code == "" || len(code) > 2048 {
		return Identity{}, &Error{Reason: ReasonCode, Err: errors.New("the callback has no usable code")}
	}
	pr, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth(pr).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		return Identity{}, &Error{Reason: ReasonExchange, Err: err}
	}
	return p.identify(ctx, pr, tok, pl.Nonce, "")
}

// Refresh asks the issuer again with a refresh token: the user's current
// profile and groups, and the refresh token to keep (issuers rotate them).
// The issuer refusing the grant (the user was blocked, the application
// revoked) is an *Error of ReasonRevoked.
func (p *Provider) Refresh(ctx context.Context, subject, refreshToken string) (Identity, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := p.oauth(pr).TokenSource(p.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client") {
			return Identity{}, &Error{Reason: ReasonRevoked, Err: err}
		}
		return Identity{}, &Error{Reason: ReasonExchange, Err: err}
	}
	id, err := p.identify(ctx, pr, tok, "", subject)
	if err != nil {
		return Identity{}, err
	}
	if id.RefreshToken == "" {
		id.RefreshToken = refreshToken // the issuer keeps the old one valid
	}
	return id, nil
}

// claims are the ID token's and userinfo's claims Hoist reads. GitLab
// sends groups_direct in the ID token and groups (direct and inherited)
// from userinfo; other issuers commonly send groups in either.
type claims struct {
	Subject           string   `json:"sub"`
	Nonce             string   `json:"nonce"`
	PreferredUsername string   `json:"preferred_username"`
	Nickname          string   `json:"nickname"`
	Name              string   `json:"name"`
	Email             string   `json:"email"`
	Groups            []string `json:"groups"`
	GroupsDirect      []string `json:"groups_direct"`
}

// identify verifies tok's ID token and reads the profile. wantNonce is
// checked on a login; wantSubject on a refresh (the same user).
func (p *Provider) identify(ctx context.Context, pr *oidc.Provider, tok *oauth2.Token, wantNonce, wantSubject string) (Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	var c claims
	switch {
	case raw != "":
		idt, err := p.verifier(pr).Verify(p.ctx(ctx), raw)
		if err != nil {
			return Identity{}, &Error{Reason: ReasonIDToken, Err: err}
		}
		if err := idt.Claims(&c); err != nil {
			return Identity{}, &Error{Reason: ReasonIDToken, Err: err}
		}
		if wantNonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(wantNonce)) != 1 {
			return Identity{}, &Error{Reason: ReasonNonce, Err: errors.New("the ID token's nonce is not the login's")}
		}
		if idt.AccessTokenHash != "" {
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				return Identity{}, &Error{Reason: ReasonIDToken, Err: err}
			}
		}
	case wantSubject == "":
		return Identity{}, &Error{Reason: ReasonIDToken, Err: errors.New("the token answer has no ID token")}
	default:
		// A refresh answer may carry no ID token (OpenID Connect Core
		// 12.2); userinfo below then names the user.
		c.Subject = wantSubject
	}
	if c.Subject == "" || (wantSubject != "" && c.Subject != wantSubject) {
		return Identity{}, &Error{Reason: ReasonIDToken, Err: fmt.Errorf("the ID token names subject %q, not %q", c.Subject, wantSubject)}
	}
	if pr.UserInfoEndpoint() != "" {
		if err := p.userinfo(ctx, pr, tok, &c); err != nil {
			return Identity{}, err
		}
	}
	groups := c.Groups
	if len(groups) == 0 {
		groups = c.GroupsDirect
	}
	username := c.PreferredUsername
	if username == "" {
		username = c.Nickname
	}
	if username == "" {
		username, _, _ = strings.Cut(c.Email, "@")
	}
	return Identity{Subject: c.Subject, RefreshToken: tok.RefreshToken, IDToken: raw,
		Profile: identity.ExternalProfile{Username: username, Name: c.Name, Email: c.Email, Groups: groups}}, nil
}

// LogoutURL is the issuer's end_session_endpoint (OpenID Connect
// RP-Initiated Logout 1.0) with id_token_hint (when idToken is set),
// client_id and post_logout_redirect_uri; "" when the issuer's discovery
// names none, or Settings.PostLogoutURL is empty. An endpoint that is not
// https (http on loopback) with no query is refused: Hoist sends browsers
// there.
func (p *Provider) LogoutURL(ctx context.Context, idToken string) (string, error) {
	if p.set.PostLogoutURL == "" {
		return "", nil
	}
	pr, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	var d struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := pr.Claims(&d); err != nil {
		return "", &Error{Reason: ReasonDiscovery, Err: err}
	}
	if d.EndSession == "" {
		return "", nil
	}
	if err := identity.ValidateIssuerURL(d.EndSession); err != nil {
		return "", &Error{Reason: ReasonDiscovery, Err: fmt.Errorf("end_session_endpoint %w", err)}
	}
	q := url.Values{"client_id": {p.set.ClientID}, "post_logout_redirect_uri": {p.set.PostLogoutURL}}
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	return d.EndSession + "?" + q.Encode(), nil
}

// userinfo reads the userinfo endpoint into c: it must name the same
// subject (OpenID Connect Core 5.3.2); its non-empty claims win, and its
// groups replace the ID token's (GitLab's are the complete list there).
func (p *Provider) userinfo(ctx context.Context, pr *oidc.Provider, tok *oauth2.Token, c *claims) error {
	ui, err := pr.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return &Error{Reason: ReasonUserinfo, Err: err}
	}
	var u claims
	if err := ui.Claims(&u); err != nil {
		return &Error{Reason: ReasonUserinfo, Err: err}
	}
	if u.Subject != c.Subject {
		return &Error{Reason: ReasonUserinfo, Err: fmt.Errorf("userinfo names subject %q, the ID token %q", u.Subject, c.Subject)}
	}
	for _, f := range []struct{ dst, src *string }{{&c.PreferredUsername, &u.PreferredUsername}, {&c.Nickname, &u.Nickname},
		{&c.Name, &u.Name}, {&c.Email, &u.Email}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if u.Groups != nil {
		c.Groups = u.Groups
	}
	return nil
}

// Why a login or a refresh failed: in the server log and the audit log,
// never told to the person logging in beyond "it did not work".
const (
	ReasonDiscovery = "issuer_unreachable" // discovery failed
	ReasonState     = "state_mismatch"     // not the login this browser started (or no cookie)
	ReasonExpired   = "login_expired"      // the login took longer than LoginTTL
	ReasonCode      = "no_code"            // the callback has no code, or an error from the issuer
	ReasonExchange  = "code_refused"       // the token endpoint refused (replayed, expired or stolen code)
	ReasonIDToken   = "id_token_invalid"   // signature, issuer, audience or expiry wrong
	ReasonNonce     = "nonce_mismatch"     // an ID token of another login
	ReasonUserinfo  = "userinfo_failed"
	ReasonRevoked   = "grant_revoked"   // a refresh refused: the user or the application was revoked
	ReasonProfile   = "profile_invalid" // the issuer's profile is unusable (oversized subject, too many groups)
)

// Error is a refused login or refresh.
type Error struct {
	Reason string
	Err    error
}

// Error cuts the cause: oauth2 quotes the issuer's whole answer in its
// errors, and these go to the log.
func (e *Error) Error() string {
	msg := e.Err.Error()
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText], "") + "…"
	}
	return "oidc " + e.Reason + ": " + msg
}

const maxErrorText = 500

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is err's Reason, or "error".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "error"
}

// limitBody cuts every answer at MaxResponse: go-oidc and oauth2 read
// bodies whole, and an issuer (or whatever answers in its name) could send
// gigabytes.
type limitBody struct{ next http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{r: io.LimitReader(resp.Body, MaxResponse+1), c: resp.Body}
	return resp, nil
}

type cappedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > MaxResponse {
		return n, fmt.Errorf("the issuer's answer is larger than %d KiB", MaxResponse>>10)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.c.Close() }

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
