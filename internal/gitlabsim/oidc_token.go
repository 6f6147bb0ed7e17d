package gitlabsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GitLab's role claims, served by /oauth/userinfo.
const (
	claimOwner      = "https://gitlab.org/claims/groups/owner"
	claimMaintainer = "https://gitlab.org/claims/groups/maintainer"
	claimDeveloper  = "https://gitlab.org/claims/groups/developer"
)

// TokenOAuth is the kind the REST API gives an OAuth access token.
const TokenOAuth = "oauth"

var tokenParams = []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "client_id", "client_secret"}

// serveToken is the token endpoint: the authorization_code grant (with
// PKCE) and the refresh_token grant, for confidential clients.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxOAuthForm)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		writeOAuthError(w, errInvalidRequest("the body must be application/x-www-form-urlencoded"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, errInvalidRequest("the body cannot be read"))
		return
	}
	p, oerr := singleValues(r.PostForm, tokenParams...)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	app, oerr := s.authenticateClient(w, r, p)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	var resp map[string]any
	switch p["grant_type"] {
	case "authorization_code":
		resp, oerr = s.exchangeCode(r, app, p)
	case "refresh_token":
		resp, oerr = s.refreshToken(r, app, p)
	case "":
		oerr = errInvalidRequest("grant_type is required")
	default:
		oerr = &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: "The authorization grant type is not supported by the authorization server."}
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSONNoStore(w, http.StatusOK, resp)
}

// authenticateClient checks client_secret_basic (RFC 6749 2.3.1: the ID
// and secret form-encoded, then Basic) or client_secret_post, not both.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, p map[string]string) (OAuthApp, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if _, ok := p["client_secret"]; ok {
			return OAuthApp{}, errInvalidRequest("use one client authentication method, not two")
		}
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
		if cid, ok := p["client_id"]; ok && cid != id {
			return OAuthApp{}, errInvalidRequest("client_id differs from the authenticated client")
		}
	} else {
		id, secret = p["client_id"], p["client_secret"]
	}
	s.mu.Lock()
	var app OAuthApp
	a := s.st.appByClientID(id)
	if a != nil {
		app = *a
	}
	s.mu.Unlock()
	if a == nil || secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="Doorkeeper"`)
		}
		return OAuthApp{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			desc: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}
	}
	return app, nil
}

// exchangeCode redeems a one-time code. A code presented again revokes
// every token its first redemption started (RFC 6749 4.1.2).
func (s *Server) exchangeCode(r *http.Request, app OAuthApp, p map[string]string) (map[string]any, *oauthError) {
	value := p["code"]
	if value == "" {
		return nil, errInvalidRequest("code is required")
	}
	now, iss := s.now(), s.issuer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oauth.codes[value]
	switch {
	case c == nil || c.appID != app.ID:
		return nil, errInvalidGrant()
	case c.used:
		delete(s.oauth.codes, value)
		n := s.revokeFamilyLocked(c.family)
		if err := s.persistLocked(); err != nil {
			s.log.Error("gitlab-sim oauth revoke", "error", err)
		}
		s.log.Warn("gitlab-sim oauth: authorization code replayed; its tokens are revoked", "app_id", app.ID, "revoked", n)
		return nil, errInvalidGrant()
	case !now.Before(c.expires), p["redirect_uri"] != c.redirectURI, !pkceMatches(p["code_verifier"], c.challenge):
		delete(s.oauth.codes, value) // one attempt only
		return nil, errInvalidGrant()
	}
	u := s.st.userByID(c.userID)
	if u == nil {
		delete(s.oauth.codes, value)
		return nil, errInvalidGrant()
	}
	c.used = true
	t := s.issueTokenLocked(app.ID, u.ID, c.scopes, 0, c.authTime, now)
	c.family = t.Family
	return s.tokenResponseLocked(iss, app, u, t, c.nonce, now)
}

// pkceMatches is RFC 7636's S256 check.
func pkceMatches(verifier, challenge string) bool {
	if !pkceRe.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// refreshToken rotates a refresh token: the old pair is revoked, a new one
// issued with the same (or a narrower) scope.
func (s *Server) refreshToken(r *http.Request, app OAuthApp, p map[string]string) (map[string]any, *oauthError) {
	if p["refresh_token"] == "" {
		return nil, errInvalidRequest("refresh_token is required")
	}
	now, iss := s.now(), s.issuer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.oauth.byRefresh[p["refresh_token"]]
	if old == nil || old.Revoked || old.AppID != app.ID {
		return nil, errInvalidGrant()
	}
	u := s.st.userByID(old.UserID)
	if u == nil {
		return nil, errInvalidGrant()
	}
	scopes := old.Scopes
	if sc, ok := p["scope"]; ok {
		scopes = strings.Fields(sc)
		if len(scopes) == 0 || slices.ContainsFunc(scopes, func(x string) bool { return !slices.Contains(old.Scopes, x) }) {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
				desc: "The requested scope is invalid, unknown, or malformed."}
		}
	}
	old.Revoked = true
	t := s.issueTokenLocked(app.ID, u.ID, scopes, old.Family, old.AuthTime, now)
	return s.tokenResponseLocked(iss, app, u, t, "", now)
}

// issueTokenLocked adds a token pair; family 0 starts a new family.
// Revoked tokens can never be used again, so they are dropped here to keep
// the state from growing with every refresh. Callers hold s.mu and persist.
func (s *Server) issueTokenLocked(appID, userID int, scopes []string, family int, authTime, now time.Time) *OAuthToken {
	s.st.OAuthTokens = slices.DeleteFunc(s.st.OAuthTokens, func(t *OAuthToken) bool {
		if t.Revoked {
			delete(s.oauth.byAccess, t.AccessToken)
			delete(s.oauth.byRefresh, t.RefreshToken)
		}
		return t.Revoked
	})
	t := &OAuthToken{ID: s.st.nextID("oauth_token"), AppID: appID, UserID: userID, Scopes: slices.Clone(scopes),
		AccessToken: randomHex(32), RefreshToken: randomHex(32), Family: family, AuthTime: authTime,
		CreatedAt: now, ExpiresAt: now.Add(accessTokenTTL)}
	if t.Family == 0 {
		t.Family = t.ID
	}
	s.st.OAuthTokens = append(s.st.OAuthTokens, t)
	s.oauth.add(t)
	return t
}

// revokeFamilyLocked revokes every token of a family and says how many.
func (s *Server) revokeFamilyLocked(family int) int {
	n := 0
	for _, t := range s.st.OAuthTokens {
		if family != 0 && t.Family == family && !t.Revoked {
			t.Revoked = true
			n++
		}
	}
	return n
}

// tokenResponseLocked signs the ID token, persists and answers as
// doorkeeper does. Callers hold s.mu (so they compute iss before).
func (s *Server) tokenResponseLocked(iss string, app OAuthApp, u *User, t *OAuthToken, nonce string, now time.Time) (map[string]any, *oauthError) {
	resp := map[string]any{"access_token": t.AccessToken, "token_type": "Bearer", "expires_in": int(accessTokenTTL.Seconds()),
		"refresh_token": t.RefreshToken, "scope": strings.Join(t.Scopes, " "), "created_at": now.Unix()}
	if slices.Contains(t.Scopes, "openid") {
		idt, err := s.idTokenLocked(iss, app, u, t, nonce, now)
		if err != nil {
			s.log.Error("gitlab-sim oauth: sign ID token", "error", err)
			return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "The ID token cannot be signed."}
		}
		resp["id_token"] = idt
	}
	if err := s.persistLocked(); err != nil {
		s.log.Error("gitlab-sim oauth: persist", "error", err)
		return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "The token cannot be saved."}
	}
	return resp, nil
}

// idTokenLocked signs the ID token: GitLab's ID token claims, nonce only
// for the code grant (OpenID Connect Core 12.2).
func (s *Server) idTokenLocked(iss string, app OAuthApp, u *User, t *OAuthToken, nonce string, now time.Time) (string, error) {
	k, kid, err := s.signingKeyLocked()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	claims := map[string]any{"iss": iss, "sub": strconv.Itoa(u.ID), "aud": app.ClientID, "exp": now.Add(idTokenTTL).Unix(),
		"iat": now.Unix(), "auth_time": t.AuthTime.Unix(), "sub_legacy": subLegacy(u.ID), "name": u.Name,
		"nickname": u.Username, "preferred_username": u.Username, "groups_direct": s.st.groupClaims(u.ID).direct}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if slices.Contains(t.Scopes, "email") {
		claims["email"], claims["email_verified"] = u.Email, true
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// subLegacy is a stable opaque identifier, as GitLab's (a hash of the ID).
func subLegacy(id int) string {
	sum := sha256.Sum256([]byte("gitlab-sim user " + strconv.Itoa(id)))
	return hex.EncodeToString(sum[:])
}

// serveUserinfo answers the claims of the access token's user, computed
// from the current group memberships.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	a := r.Header.Get("Authorization")
	if len(a) < 8 || !strings.EqualFold(a[:7], "bearer ") || len(a) > maxParamLen {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Doorkeeper"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The access token is missing."})
		return
	}
	value := strings.TrimSpace(a[7:])
	now := s.now()
	iss := s.issuer(r)
	s.mu.Lock()
	t := s.oauth.byAccess[value]
	var claims map[string]any
	var apiErr *apiError
	switch {
	case t == nil || t.Revoked:
		apiErr = invalidToken("The access token is invalid")
	case !now.Before(t.ExpiresAt):
		apiErr = invalidToken("The access token expired")
	case !slices.Contains(t.Scopes, "openid"):
		apiErr = insufficientScope([]string{"openid"})
	default:
		if u := s.st.userByID(t.UserID); u != nil {
			claims = s.st.userinfo(iss, u, t.Scopes)
		} else {
			apiErr = invalidToken("The access token is invalid")
		}
	}
	s.mu.Unlock()
	if apiErr != nil {
		s.writeError(w, r, apiErr)
		return
	}
	writeJSONNoStore(w, http.StatusOK, claims)
}

func (st *state) userinfo(base string, u *User, scopes []string) map[string]any {
	g := st.groupClaims(u.ID)
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(u.Email))))
	out := map[string]any{"sub": strconv.Itoa(u.ID), "sub_legacy": subLegacy(u.ID), "name": u.Name, "nickname": u.Username,
		"preferred_username": u.Username, "website": "", "profile": base + "/" + u.Username,
		"picture": "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=80&d=identicon",
		"groups":  g.all, claimOwner: g.owner, claimMaintainer: g.maintainer, claimDeveloper: g.developer}
	if slices.Contains(scopes, "email") {
		out["email"], out["email_verified"] = u.Email, true
	}
	return out
}

// groupClaims are the full paths of the user's groups: direct memberships,
// all (direct and below them), and the direct ones by role.
type groupClaims struct {
	direct, all, owner, maintainer, developer []string
}

func (st *state) groupClaims(userID int) groupClaims {
	g := groupClaims{direct: []string{}, all: []string{}, owner: []string{}, maintainer: []string{}, developer: []string{}}
	directIDs := map[int]bool{}
	for _, m := range st.Members {
		if m.UserID != userID || m.SourceKind != "group" {
			continue
		}
		grp := st.groupByID(m.SourceID)
		if grp == nil {
			continue
		}
		directIDs[grp.ID] = true
		g.direct = append(g.direct, grp.FullPath)
		switch m.AccessLevel {
		case Owner:
			g.owner = append(g.owner, grp.FullPath)
		case Maintainer:
			g.maintainer = append(g.maintainer, grp.FullPath)
		case Developer:
			g.developer = append(g.developer, grp.FullPath)
		}
	}
	for _, grp := range st.Groups {
		for a := grp; a != nil; a = st.groupByID(a.ParentID) {
			if directIDs[a.ID] {
				g.all = append(g.all, grp.FullPath)
				break
			}
			if a.ParentID == 0 {
				break
			}
		}
	}
	for _, l := range [][]string{g.direct, g.all, g.owner, g.maintainer, g.developer} {
		slices.Sort(l)
	}
	return g
}
