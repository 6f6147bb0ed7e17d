package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/web/session"
)

// oidcCookie holds a login between the redirect to the issuer and its
// callback, sealed with the server's key (any replica can open it). It
// is SameSite=Lax: the callback is a top-level navigation from the
// issuer's site, which Strict would strip the cookie from.
const oidcCookie = "hoist_oidc_login"

const oidcPath = "/login/oidc"

// oidcLogoutCookie marks a session that began at the issuer, for logging
// out there too (RP-initiated logout): it holds the login's ID token
// sealed with the server's key ("-" when it was too big for a cookie).
// Only /logout reads it.
const oidcLogoutCookie = "hoist_oidc_logout"

// reasonIssuerError is a callback carrying the issuer's error instead of
// a code (the person canceled, or the application is misconfigured).
const reasonIssuerError = "issuer_error"

func (u *UI) oidcRoutes() {
	u.handle("GET "+oidcPath, u.public(u.beginOIDC))
	u.handle("GET "+oidcPath+"/callback", u.public(u.finishOIDC))
}

// ssoFailed is all the person logging in is told about a failed login
// through the issuer: the reason goes to the server log and the audit log.
func ssoFailed(name string) string {
	return "Logging in with " + name + " did not work. Try again; if it keeps failing, an admin can find the reason in the server log."
}

// beginOIDC sends the browser to the issuer, keeping the login's state,
// nonce and PKCE verifier in a sealed cookie.
func (u *UI) beginOIDC(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if _, ok := sessionOf(r); ok {
		http.Redirect(w, r, u.afterLogin(r.Context(), next), http.StatusSeeOther)
		return nil
	}
	f := loginForm{Next: next, Method: "oidc"}
	sealed, authURL, err := u.cfg.SSO.Begin(r.Context(), next)
	if err != nil {
		u.log.WarnContext(r.Context(), "oidc login: cannot start", "issuer", u.cfg.SSO.Issuer(), "reason", sso.ReasonOf(err), "error", err.Error())
		if aerr := u.auditLogin(r.Context(), "login.failed", "", f, clientAddress(r), sso.ReasonOf(err)); aerr != nil {
			return aerr
		}
		f.Error = ssoFailed(u.cfg.SSO.Name())
		return u.showLogin(w, r, http.StatusBadGateway, f)
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: sealed, Path: oidcPath, HttpOnly: true, Secure: u.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sso.LoginTTL.Seconds())})
	http.Redirect(w, r, authURL, http.StatusSeeOther)
	return nil
}

// finishOIDC is the issuer's callback: the login is checked (sso.Service
// Finish), under the login rate limit of the client's address, and a
// session starts.
func (u *UI) finishOIDC(w http.ResponseWriter, r *http.Request) error {
	// The pending login is for one use, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Path: oidcPath, MaxAge: -1, HttpOnly: true, Secure: u.secure,
		SameSite: http.SameSiteLaxMode})
	addr := clientAddress(r)
	f := loginForm{Method: "oidc"}
	a, err := u.reserve(r.Context(), f, addr, session.AddressKey(addr))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		// The issuer refused (the person canceled, or the application
		// is misconfigured): its words are logged, cut, never shown.
		u.log.WarnContext(r.Context(), "oidc login refused", "issuer", u.cfg.SSO.Issuer(), "reason", reasonIssuerError,
			"client_address", addr, "error", strings.ToValidUTF8(cutUTF8(e, 100), ""), "description", strings.ToValidUTF8(cutUTF8(q.Get("error_description"), 300), ""))
		return u.ssoLoginFailed(w, r, f, addr, reasonIssuerError)
	}
	sealed := ""
	if ck, err := r.Cookie(oidcCookie); err == nil {
		sealed = ck.Value
	}
	l, err := u.cfg.SSO.Finish(r.Context(), sealed, q.Get("state"), q.Get("code"))
	usr, next := l.User, l.Next
	var refused *sso.Error
	switch {
	case identity.IsExternalDisabled(err):
		return u.loginFailed(w, r, f, addr, identity.ReasonDisabled)
	case errors.As(err, &refused):
		u.log.WarnContext(r.Context(), "oidc login refused", "issuer", u.cfg.SSO.Issuer(), "reason", refused.Reason,
			"client_address", addr, "error", err.Error())
		return u.ssoLoginFailed(w, r, f, addr, refused.Reason)
	case err != nil:
		return err
	}
	if err := u.limiter.Succeeded(r.Context(), a); err != nil {
		return err
	}
	f.Next, f.Username = next, usr.Username
	hint := l.LogoutHint
	if hint == "" {
		hint = "-" // too big for a cookie: log out at the issuer without it
	}
	return u.startSession(w, r, usr.Principal(), f, addr, hint, func(ctx context.Context) error {
		return u.cfg.Identity.Unchanged(ctx, usr)
	})
}

func (u *UI) ssoLoginFailed(w http.ResponseWriter, r *http.Request, f loginForm, addr, reason string) error {
	f.Error = ssoFailed(u.cfg.SSO.Name())
	return u.loginFailed(w, r, f, addr, reason)
}

// issuerLogout is where a browser logging out goes next when its session
// began at the issuer and the issuer offers RP-initiated logout: the
// issuer's end_session_endpoint, which sends it back to /login. "" for a
// local logout (no such session, no such endpoint, or the issuer could not
// be asked: Hoist's own session is over either way).
func (u *UI) issuerLogout(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(oidcLogoutCookie)
	if err != nil || u.cfg.SSO == nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: oidcLogoutCookie, Path: "/logout", MaxAge: -1, HttpOnly: true, Secure: u.secure,
		SameSite: http.SameSiteLaxMode})
	to, err := u.cfg.SSO.LogoutURL(r.Context(), ck.Value)
	if err != nil {
		u.log.WarnContext(r.Context(), "oidc logout: logged out of Hoist only", "issuer", u.cfg.SSO.Issuer(),
			"reason", sso.ReasonOf(err), "error", err.Error())
		return ""
	}
	return to
}

// loggedOutPage is the page that sends the browser on to the issuer's
// logout. A redirect would not do: the logout is a form POST, and the
// pages' Content-Security-Policy (form-action 'self') stops a form's
// navigation from being redirected to another site.
type loggedOutPage struct {
	Issuer string // the issuer's name
	URL    string
}

// noSession hides the session that just ended from the layout.
func noSession(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sessionKey, false))
}
