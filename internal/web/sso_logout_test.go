package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/apptest"
)

var refreshRe = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

// TestLogoutAtIssuer: a session that began at an issuer offering
// RP-initiated logout ends there too: Log out answers a page that sends
// the browser to the issuer's end_session_endpoint with the login's ID
// token, the client id and <public URL>/login; the issuer accepts it and
// sends the browser back. A password session logs out of Hoist only.
func TestLogoutAtIssuer(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	back := h.App.PublicURL() + "/login"
	is.OfferLogout(back) // before the first discovery, at the login below

	c := h.client()
	if p := ssoLogin(t, c, is); p.status != http.StatusSeeOther {
		t.Fatalf("alice's login = %d", p.status)
	}
	p := c.post("/logout", url.Values{"csrf_token": {csrf(t, c.get("/stacks"))}})
	m := refreshRe.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, `id="issuer-logout"`) || strings.Contains(p.body, `class="who"`) {
		t.Fatalf("logout = %d:\n%.3000s", p.status, p.body)
	}
	to, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || !strings.HasPrefix(to.String(), is.URL+"/logout?") || to.Query().Get("post_logout_redirect_uri") != back ||
		to.Query().Get("client_id") != is.ClientID || to.Query().Get("id_token_hint") == "" {
		t.Fatalf("sent to %q (%v)", m[1], err)
	}
	if p := c.get("/stacks"); p.status != http.StatusSeeOther {
		t.Errorf("after logging out /stacks = %d, want the redirect to the login", p.status)
	}
	browser := is.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := browser.Get(to.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != back {
		t.Errorf("the issuer answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := is.Logouts(); len(got) != 1 || got[0].Subject != "s-alice" {
		t.Errorf("the issuer's logouts = %+v", got)
	}

	// A password session: Hoist's logout only, and the issuer's cookie
	// from an earlier login in this browser does not outlive its use.
	admin := h.client()
	admin.mustLogin("admin", h.AdminPassword)
	if p := admin.post("/logout", url.Values{"csrf_token": {csrf(t, admin.get("/stacks"))}}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/login" {
		t.Errorf("password logout = %d %s", p.status, p.header.Get("Location"))
	}
	if p := c.post("/logout", url.Values{}); p.status == http.StatusOK {
		t.Errorf("a second logout went to the issuer again:\n%.1000s", p.body)
	}

	// A browser whose session from the issuer ended (alice was disabled
	// meanwhile), then logged in with a password: that session logs out
	// of Hoist only.
	both := h.client()
	if p := ssoLogin(t, both, is); p.status != http.StatusSeeOther {
		t.Fatalf("alice's login = %d", p.status)
	}
	var users struct {
		Items []struct{ ID, Username string }
	}
	h.api("GET", "/api/v1/users", nil, http.StatusOK, &users)
	for _, u := range users.Items {
		if u.Username == "alice" {
			h.api("POST", "/api/v1/users/"+u.ID+"/disable", nil, http.StatusNoContent, nil)
			h.api("POST", "/api/v1/users/"+u.ID+"/enable", nil, http.StatusNoContent, nil)
		}
	}
	both.mustLogin("admin", h.AdminPassword)
	if p := both.post("/logout", url.Values{"csrf_token": {csrf(t, both.get("/launchpad"))}}); p.status != http.StatusSeeOther {
		t.Errorf("logging out the password session that followed an SSO one = %d, want a local logout", p.status)
	}
}

// TestLogoutWithoutIssuerLogout: an issuer whose discovery names no
// end_session_endpoint: Log out ends Hoist's session and lands on /login.
func TestLogoutWithoutIssuerLogout(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	c := h.client()
	if p := ssoLogin(t, c, is); p.status != http.StatusSeeOther {
		t.Fatalf("alice's login = %d", p.status)
	}
	if p := c.post("/logout", url.Values{"csrf_token": {csrf(t, c.get("/stacks"))}}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/login" {
		t.Errorf("logout = %d %s", p.status, p.header.Get("Location"))
	}
	if got := is.Logouts(); len(got) != 0 {
		t.Errorf("the issuer's logouts = %+v", got)
	}
}

// TestLogoutAtIssuerInBrowser: in a real browser, Log out takes alice
// through the issuer's logout and back to Hoist's login page (the
// pages' form-action 'self' would stop a plain redirect).
func TestLogoutAtIssuerInBrowser(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	is.OfferLogout(h.App.PublicURL() + "/login")
	x := tabT{t: t, ctx: tab(t)}
	// The test issuer's certificate is its own.
	if err := chromedp.Do(x.ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	if _, err := chromedp.Call(x.ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	x.navigate("/login", h.URL)
	x.click("#sso-login")
	apptest.Eventually(t, 15*time.Second, "alice logged in", func() bool { return strings.Contains(x.text(".who"), "alice") })
	x.click("form[action='/logout'] button")
	apptest.Eventually(t, 15*time.Second, "back on Hoist's login page through the issuer", func() bool {
		return len(is.Logouts()) == 1 && strings.HasPrefix(x.location(), h.URL+"/login")
	})
	if got := is.Logouts(); got[0].Subject != "s-alice" {
		t.Errorf("the issuer's logouts = %+v", got)
	}
	x.navigate("/stacks", h.URL)
	if p := x.path(); !strings.HasPrefix(p, "/login") {
		t.Errorf("after logging out /stacks opened %s", p)
	}
	if n := x.count("#sso-login"); n != 1 {
		t.Errorf("the login page has %d SSO buttons", n)
	}
}
