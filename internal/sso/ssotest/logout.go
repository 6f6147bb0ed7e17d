package ssotest

import (
	"net/http"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Logout is one RP-initiated logout the issuer served.
type Logout struct {
	Subject  string // from the id_token_hint; "" without one
	Redirect string // the post_logout_redirect_uri it sent the browser to
}

// OfferLogout makes discovery name an end_session_endpoint (OpenID
// Connect RP-Initiated Logout 1.0) that accepts postLogoutRedirect as the
// one registered post_logout_redirect_uri. Call it before the first
// discovery: relying parties keep the document.
func (is *Issuer) OfferLogout(postLogoutRedirect string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.postLogout = postLogoutRedirect
}

// Logouts are the logouts served so far, in order.
func (is *Issuer) Logouts() []Logout {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]Logout(nil), is.logouts...)
}

// logout ends the session at the issuer as the spec says: the
// id_token_hint, when sent, must be one of ours for this client (its
// expiry does not matter: the hint is often old); the redirect must be the
// registered one; then the browser goes there.
func (is *Issuer) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.postLogout == "" {
		http.NotFound(w, r)
		return
	}
	if q.Get("client_id") != is.ClientID || q.Get("post_logout_redirect_uri") != is.postLogout {
		http.Error(w, "bad logout request: unknown client or post_logout_redirect_uri", http.StatusBadRequest)
		return
	}
	var sub string
	if hint := q.Get("id_token_hint"); hint != "" {
		tok, err := jwt.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256})
		var c jwt.Claims
		if err != nil || tok.Claims(&is.key.PublicKey, &c) != nil || c.Issuer != is.URL || !c.Audience.Contains(is.ClientID) {
			http.Error(w, "bad id_token_hint", http.StatusBadRequest)
			return
		}
		sub = c.Subject
	}
	is.logouts = append(is.logouts, Logout{Subject: sub, Redirect: is.postLogout})
	http.Redirect(w, r, is.postLogout, http.StatusFound)
}
