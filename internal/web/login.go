package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/web/session"
)

// Cookie names. With https the session cookie takes the __Host- prefix,
// which browsers only accept Secure, host-only and for Path=/.
const (
	sessionCookie = "hoist_session"
	loginCookie   = "hoist_login_csrf"
)

func (u *UI) cookieName() string {
	if u.secure {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

// loginForm is the content of login.html.
type loginForm struct {
	Next     string
	Username string
	Error    string
	Method   string // "password", "api_key" or "oidc": which form the error is about
	// SSOName names the issuer on the "Log in with …" button ("" without
	// single sign-on); NoPassword hides the password form
	// (--local-login=false).
	SSOName    string
	NoPassword bool
}

// loginPage shows the login forms; the login CSRF token is a random value
// in both a cookie and a hidden field (the double-submit pattern), because
// there is no session yet to hold it.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) error {
	if _, ok := sessionOf(r); ok {
		http.Redirect(w, r, u.afterLogin(r.Context(), r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return u.showLogin(w, r, http.StatusOK, loginForm{Next: localPath(r.URL.Query().Get("next"))})
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) error {
	if u.cfg.SSO != nil {
		f.SSOName = u.cfg.SSO.Name()
	}
	f.NoPassword = u.cfg.NoLocalLogin
	token := session.NewToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: token, Path: "/login", HttpOnly: true,
		Secure: u.secure, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return u.render(w, r, status, "login", view{Title: "Log in", CSRF: token, Content: f})
}

// login checks a username and password, or an API key, under the rate
// limit, and starts a session. Failures are audited without the secret.
func (u *UI) login(w http.ResponseWriter, r *http.Request) error {
	ck, err := r.Cookie(loginCookie)
	if err != nil {
		return errCSRF
	}
	if err := u.checkForm(w, r, ck.Value); err != nil {
		return err
	}
	addr := clientAddress(r)
	f := loginForm{Next: localPath(r.PostForm.Get("next")), Username: strings.TrimSpace(r.PostForm.Get("username")), Method: "password"}
	if key := strings.TrimSpace(r.PostForm.Get("api_key")); key != "" {
		f.Method, f.Username = "api_key", ""
		return u.loginWithKey(w, r, f, key, addr)
	}
	if u.cfg.NoLocalLogin {
		f.Error = "Logging in with a password is switched off on this server."
		if u.cfg.SSO != nil {
			f.Error += " Log in with " + u.cfg.SSO.Name() + "."
		}
		return u.loginFailed(w, r, f, addr, reasonNoLocalLogin)
	}
	userKey := "user:" + slug.Make(clipUsername(f.Username))
	a, err := u.reserve(r.Context(), f, addr, userKey, session.AddressKey(addr))
	if err != nil {
		return err
	}
	usr, reason := u.checkPassword(r.Context(), f.Username, r.PostForm.Get("password"))
	if reason != "" {
		return u.loginFailed(w, r, f, addr, reason)
	}
	if err := u.limiter.Succeeded(r.Context(), a, userKey); err != nil {
		return err
	}
	return u.startSession(w, r, usr.Principal(), f, addr, "", func(ctx context.Context) error {
		return u.cfg.Identity.Unchanged(ctx, usr)
	})
}

func (u *UI) loginWithKey(w http.ResponseWriter, r *http.Request, f loginForm, key, addr string) error {
	a, err := u.reserve(r.Context(), f, addr, session.AddressKey(addr))
	if err != nil {
		return err
	}
	p, err := u.cfg.Identity.Authenticate(r.Context(), key)
	if apperr.Is(err, apperr.Unauthorized) {
		f.Error = "That API key is not valid."
		if !errors.Is(err, identity.ErrInvalidKey) {
			f.Error = apperr.MessageOf(err) // expired or its owner disabled: told only to the holder of the secret
		}
		return u.loginFailed(w, r, f, addr, "bad_api_key")
	}
	if err != nil {
		return err
	}
	if err := u.limiter.Succeeded(r.Context(), a); err != nil {
		return err
	}
	return u.startSession(w, r, p, f, addr, "", nil)
}

// reserve takes this attempt's slot under every key before any secret is
// checked, or refuses with 429 (and audits it) once a key used up its
// failures in the window: parallel guesses cannot all slip past a count
// taken before any of them failed, and refused ones cost no bcrypt.
func (u *UI) reserve(ctx context.Context, f loginForm, addr string, keys ...string) (session.Attempt, error) {
	a, ok, err := u.limiter.Begin(ctx, keys...)
	if err != nil || ok {
		return a, err
	}
	if err := u.auditLogin(ctx, "login.rate_limited", "", f, addr, "rate_limited"); err != nil {
		return session.Attempt{}, err
	}
	return session.Attempt{}, &tooManyError{window: u.limiter.Window()}
}

// checkPassword returns the user, or why the login failed
// (identity.Reason*, or "error" when the store failed, which is logged).
func (u *UI) checkPassword(ctx context.Context, username, password string) (identity.User, string) {
	usr, err := u.cfg.Identity.Login(ctx, username, password)
	var refused *identity.LoginError
	switch {
	case errors.As(err, &refused):
		return identity.User{}, refused.Reason
	case err != nil:
		u.log.ErrorContext(ctx, "login: load user", "error", err.Error())
		return identity.User{}, "error"
	}
	return usr, ""
}

// reasonNoLocalLogin is a password login on a server with
// --local-login=false.
const reasonNoLocalLogin = "local_login_disabled"

// loginFailed audits the failure (the limiter already counts it: the
// attempt's reservation stays) and shows the form again with one message
// whatever went wrong, unless the right secret earned a precise one.
func (u *UI) loginFailed(w http.ResponseWriter, r *http.Request, f loginForm, addr, reason string) error {
	if err := u.auditLogin(r.Context(), "login.failed", "", f, addr, reason); err != nil {
		return err
	}
	status := http.StatusUnauthorized
	switch {
	case reason == identity.ReasonDisabled:
		status, f.Error = http.StatusForbidden, "This user is disabled. Ask a root admin to enable it."
	case reason == reasonNoLocalLogin:
		status = http.StatusForbidden
	case f.Error == "":
		f.Error = "Wrong username or password."
	}
	return u.showLogin(w, r, status, f)
}

// startSession starts a session for principal and sends the browser on.
// keep, when set, runs once the session exists and ends it again when it
// fails (identity.Service.Unchanged says why). issuerHint is the sealed ID
// token of a login at the issuer, for logging out there ("" for others).
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, principal string, f loginForm, addr, issuerHint string,
	keep func(context.Context) error) error {
	if err := u.limiter.Prune(r.Context()); err != nil {
		u.log.WarnContext(r.Context(), "prune sessions", "error", err.Error())
	}
	id, s, err := u.sessions.Create(r.Context(), principal)
	if err != nil {
		return err
	}
	if keep != nil {
		if err := keep(r.Context()); err != nil {
			if derr := u.sessions.Delete(r.Context(), id); derr != nil {
				return derr
			}
			if !apperr.Is(err, apperr.Unauthorized) {
				return err
			}
			return u.loginFailed(w, r, f, addr, "changed_during_login")
		}
	}
	if err := u.auditLogin(r.Context(), "login.succeeded", principal, f, addr, ""); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: u.cookieName(), Value: id, Path: "/", HttpOnly: true, Secure: u.secure,
		SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt, MaxAge: int(u.sessions.TTL().Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: u.secure})
	// Only a session that began at the issuer logs out there: any other
	// login drops an earlier one's hint.
	logout := &http.Cookie{Name: oidcLogoutCookie, Value: issuerHint, Path: "/logout", HttpOnly: true, Secure: u.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(u.sessions.TTL().Seconds())}
	if issuerHint == "" {
		logout.MaxAge = -1
	}
	http.SetCookie(w, logout)
	http.Redirect(w, r, u.afterLogin(r.Context(), f.Next), http.StatusSeeOther)
	return nil
}

// afterLogin is where a fresh login goes: the page that asked for it (/
// when next= was anything but a local path), else the LaunchPad while
// setup is incomplete, else Source control.
func (u *UI) afterLogin(ctx context.Context, next string) string {
	if p := localPath(next); p != "" {
		return p
	}
	if u.cfg.Launchpad == nil {
		return "/source-control"
	}
	if st, err := u.cfg.Launchpad.Compute(ctx); err == nil && st.Complete() {
		return "/source-control"
	}
	return "/launchpad"
}

// auditLogin writes a login event: who tried (the username as typed, cut
// to a sane length), from where, and why it failed — never the password
// or key.
func (u *UI) auditLogin(ctx context.Context, action, actor string, f loginForm, addr, reason string) error {
	detail := map[string]any{"client_address": addr, "method": f.Method}
	if f.Username != "" {
		detail["username"] = clipUsername(f.Username)
	}
	if reason != "" {
		detail["reason"] = reason
	}
	resType, resID := "user", slug.Make(clipUsername(f.Username))
	if f.Method == "api_key" {
		resType, resID = "api_key", ""
		if _, id, err := identity.ParsePrincipal(actor); err == nil {
			resID = id
		}
	}
	if actor == "" {
		actor = "anonymous"
	}
	e := audit.Entry{At: u.now().UTC(), Actor: actor, Action: action, ResourceType: resType, ResourceID: resID, Detail: detail}
	if err := u.cfg.Audit.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// clipUsername cuts a username as typed to the longest one a login looks
// up, so that a megabyte of form field never becomes a limiter key or an
// audit record.
func clipUsername(name string) string {
	if utf8.RuneCountInString(name) > identity.MaxUsernameLen {
		return string([]rune(name)[:identity.MaxUsernameLen])
	}
	return name
}

// logout ends the session, and the issuer's too when the session began
// there and the issuer offers RP-initiated logout.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(u.cookieName()); err == nil {
		if err := u.sessions.Delete(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: u.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: u.secure, SameSite: http.SameSiteLaxMode})
	if to := u.issuerLogout(w, r); to != "" {
		return u.render(w, noSession(r), http.StatusOK, "logged_out", view{Title: "Logged out", Refresh: to,
			Content: loggedOutPage{Issuer: u.cfg.SSO.Name(), URL: to}})
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// clientAddress is the peer's IP. Hoist does not trust X-Forwarded-For: a
// client could forge it to dodge the rate limit.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath vets a next= value: it returns p when p names a path on this
// server, "" when p is empty, and "/" for anything else. Browsers read a
// Location leniently: they drop tabs and newlines, treat \ as /, and read
// //host (or /\host) as another host, so "/\t/evil.example" leads to
// http://evil.example/. Only a path that starts with exactly one "/", with
// no backslash and no control character anywhere, also once
// percent-decoded ("/%2F/host" is "//host" to some servers and proxies),
// is kept.
func localPath(p string) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") || len(p) > maxNextLen {
		return "/"
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "/"
	}
	for _, s := range []string{p, dec} {
		if strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') || strings.ContainsFunc(s, unicode.IsControl) {
			return "/"
		}
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return p
}

// maxNextLen bounds a next= value: a page address, not a payload.
const maxNextLen = 2048
