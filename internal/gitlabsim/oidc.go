package gitlabsim

// The simulator as an OpenID Connect provider, like GitLab (which uses
// doorkeeper-openid_connect): OAuth applications, discovery, the JWKS, and
// the routes of oidc_authorize.go and oidc_token.go.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OAuth lifetimes, as GitLab's defaults.
const (
	accessTokenTTL = 2 * time.Hour    // expires_in 7200
	idTokenTTL     = 2 * time.Minute  // doorkeeper-openid_connect's expiration in GitLab
	authCodeTTL    = 60 * time.Second // how long a one-time code may be redeemed
	usedCodeGrace  = 10 * time.Minute // how long a redeemed code is remembered after that
)

// Bounds on what clients send.
const (
	maxParamLen    = 2048 // any single OAuth parameter
	maxRedirectURI = 20   // registered per application
	maxPendingCode = 10000
	maxOAuthForm   = 64 << 10
)

// OAuthApp is an OAuth application (a confidential client). The JSON names
// are those of GitLab's Applications API.
type OAuthApp struct {
	ID           int       `json:"id"`
	Name         string    `json:"application_name"`
	ClientID     string    `json:"application_id"`
	Secret       string    `json:"secret"`
	RedirectURIs []string  `json:"redirect_uris"` // matched exactly
	Scopes       []string  `json:"scopes"`
	Confidential bool      `json:"confidential"`
	CreatedAt    time.Time `json:"created_at"`
}

// OAuthAppOptions creates an OAuth application. Scopes default to openid,
// profile and email.
type OAuthAppOptions struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
}

// OAuthToken is an access token and its refresh token, issued by
// /oauth/token. Family is the ID of the first token of the chain that an
// authorization code started; refreshing keeps it.
type OAuthToken struct {
	ID           int       `json:"id"`
	AppID        int       `json:"app_id"`
	UserID       int       `json:"user_id"`
	Scopes       []string  `json:"scopes"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Family       int       `json:"family"`
	AuthTime     time.Time `json:"auth_time"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Revoked      bool      `json:"revoked"`
}

var oidcScopes = []string{"openid", "profile", "email"}

// CreateOAuthApp registers an OAuth application; the result carries the
// client ID and secret.
func (s *Server) CreateOAuthApp(ctx context.Context, o OAuthAppOptions) (OAuthApp, error) {
	if o.Name == "" || len(o.Name) > 255 {
		return OAuthApp{}, fmt.Errorf("application name %q: %w", o.Name, ErrInvalid)
	}
	if len(o.RedirectURIs) == 0 || len(o.RedirectURIs) > maxRedirectURI {
		return OAuthApp{}, fmt.Errorf("want 1 to %d redirect URIs: %w", maxRedirectURI, ErrInvalid)
	}
	for _, ru := range o.RedirectURIs {
		if err := checkRedirectURI(ru); err != nil {
			return OAuthApp{}, err
		}
	}
	if len(o.Scopes) == 0 {
		o.Scopes = oidcScopes
	}
	for _, sc := range o.Scopes {
		if !slices.Contains(oidcScopes, sc) && !slices.Contains(knownScopes, sc) {
			return OAuthApp{}, fmt.Errorf("scope %q: %w", sc, ErrInvalid)
		}
	}
	var app OAuthApp
	err := s.mutate(func(st *state) error {
		app = OAuthApp{ID: st.nextID("oauth_app"), Name: o.Name, ClientID: randomHex(32), Secret: "gloas-" + randomHex(32),
			RedirectURIs: slices.Clone(o.RedirectURIs), Scopes: slices.Clone(o.Scopes), Confidential: true, CreatedAt: s.now()}
		st.OAuthApps = append(st.OAuthApps, &app)
		return nil
	})
	return app, err
}

// SetOAuthRedirectURIs replaces the redirect URIs of the application with
// clientID, as an admin edits an application's callback URL in GitLab
// (a server started on a free port learns its URL only once listening).
func (s *Server) SetOAuthRedirectURIs(ctx context.Context, clientID string, uris []string) error {
	if len(uris) == 0 || len(uris) > maxRedirectURI {
		return fmt.Errorf("want 1 to %d redirect URIs: %w", maxRedirectURI, ErrInvalid)
	}
	for _, ru := range uris {
		if err := checkRedirectURI(ru); err != nil {
			return err
		}
	}
	return s.mutate(func(st *state) error {
		app := st.appByClientID(clientID)
		if app == nil {
			return fmt.Errorf("OAuth application %q: %w", clientID, ErrNotFound)
		}
		app.RedirectURIs = slices.Clone(uris)
		return nil
	})
}

// checkRedirectURI accepts absolute http(s) URLs without a fragment.
func checkRedirectURI(ru string) error {
	u, err := url.Parse(ru)
	if err != nil || len(ru) > maxParamLen || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("redirect URI %q: want an absolute http(s) URL without a fragment: %w", ru, ErrInvalid)
	}
	return nil
}

// oauthIndex finds OAuth objects by their secrets; it lives beside the
// state and is guarded by s.mu. Authorization codes are in memory only.
type oauthIndex struct {
	byAccess  map[string]*OAuthToken
	byRefresh map[string]*OAuthToken
	codes     map[string]*authCode
	key       *rsa.PrivateKey // parsed from state.OIDCKey
	keyID     string
}

func newOAuthIndex(st *state) oauthIndex {
	ix := oauthIndex{byAccess: map[string]*OAuthToken{}, byRefresh: map[string]*OAuthToken{}, codes: map[string]*authCode{}}
	for _, t := range st.OAuthTokens {
		ix.add(t)
	}
	return ix
}

func (ix *oauthIndex) add(t *OAuthToken) {
	ix.byAccess[t.AccessToken] = t
	ix.byRefresh[t.RefreshToken] = t
}

// appByClientID returns the application, or nil. Callers hold s.mu.
func (st *state) appByClientID(id string) *OAuthApp {
	for _, a := range st.OAuthApps {
		if a.ClientID == id {
			return a
		}
	}
	return nil
}

// signingKeyLocked returns the RS256 key, making and persisting it on first
// use (a 2048-bit key takes a noticeable moment, so simulators that never
// act as an OpenID provider skip it). Callers hold s.mu.
func (s *Server) signingKeyLocked() (*rsa.PrivateKey, string, error) {
	if s.oauth.key != nil {
		return s.oauth.key, s.oauth.keyID, nil
	}
	if s.st.OIDCKey == "" {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", fmt.Errorf("gitlabsim: generate OIDC key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, "", fmt.Errorf("gitlabsim: encode OIDC key: %w", err)
		}
		s.st.OIDCKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err := s.persistLocked(); err != nil {
			s.st.OIDCKey = ""
			return nil, "", err
		}
	}
	block, _ := pem.Decode([]byte(s.st.OIDCKey))
	if block == nil {
		return nil, "", errors.New("gitlabsim: state holds no PEM OIDC key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("gitlabsim: parse OIDC key: %w", err)
	}
	k, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, "", errors.New("gitlabsim: the OIDC key is not RSA")
	}
	thumb, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", fmt.Errorf("gitlabsim: OIDC key thumbprint: %w", err)
	}
	s.oauth.key, s.oauth.keyID = k, fmt.Sprintf("%x", thumb[:16])
	return k, s.oauth.keyID, nil
}

// oidcHandler serves the provider's routes; handler.go sends /oauth/ and
// /.well-known/openid-configuration here.
func (s *Server) oidcHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET /oauth/discovery/keys", s.serveJWKS)
	mux.HandleFunc("GET /oauth/authorize", s.serveAuthorizePage)
	mux.HandleFunc("POST /oauth/authorize", s.serveAuthorizeDecision)
	mux.HandleFunc("POST /oauth/token", s.serveToken)
	mux.HandleFunc("GET /oauth/userinfo", s.serveUserinfo)
	mux.HandleFunc("POST /oauth/userinfo", s.serveUserinfo)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
	return mux
}

// issuer is the base URL, or the request's host when the caller serves the
// handler without SetURL.
func (s *Server) issuer(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	return "http://" + r.Host
}

var idTokenClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sub_legacy", "name", "nickname",
	"preferred_username", "email", "email_verified", "website", "profile", "picture", "groups", "groups_direct",
	claimOwner, claimMaintainer, claimDeveloper}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := s.issuer(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth/authorize",
		"token_endpoint":                        iss + "/oauth/token",
		"userinfo_endpoint":                     iss + "/oauth/userinfo",
		"jwks_uri":                              iss + "/oauth/discovery/keys",
		"scopes_supported":                      append(slices.Clone(oidcScopes), knownScopes...),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claim_types_supported":                 []string{"normal"},
		"claims_supported":                      idTokenClaims,
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	k, kid, err := s.signingKeyLocked()
	s.mu.Unlock()
	if err != nil {
		s.log.Error("gitlab-sim oidc key", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

// oauthError is an RFC 6749 error answer (section 5.2 at the token
// endpoint, 4.1.2.1 in a redirect).
type oauthError struct {
	status int
	code   string // invalid_request, invalid_client, invalid_grant, ...
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: desc}
}

func errInvalidGrant() *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: "The provided authorization grant is invalid, " +
		"expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Pragma", "no-cache")
	writeJSONNoStore(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// writeJSONNoStore is writeJSON for answers carrying tokens (RFC 6749 5.1).
func writeJSONNoStore(w http.ResponseWriter, status int, v any) {
	writeJSON(noStoreWriter{w}, status, v)
}

// noStoreWriter turns writeJSON's Cache-Control into no-store.
type noStoreWriter struct{ http.ResponseWriter }

func (n noStoreWriter) WriteHeader(status int) {
	n.Header().Set("Cache-Control", "no-store")
	n.ResponseWriter.WriteHeader(status)
}

// singleValues reads OAuth parameters, refusing any given twice (RFC 6749
// 3.1) or longer than maxParamLen.
func singleValues(v url.Values, names ...string) (map[string]string, *oauthError) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		vs := v[n]
		switch {
		case len(vs) > 1:
			return nil, errInvalidRequest("parameter " + n + " is given more than once")
		case len(vs) == 1 && len(vs[0]) > maxParamLen:
			return nil, errInvalidRequest(fmt.Sprintf("parameter %s is longer than %d bytes", n, maxParamLen))
		case len(vs) == 1:
			out[n] = vs[0]
		}
	}
	return out, nil
}
