package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/sso"
	"github.com/hoistdev/hoist/internal/sso/ssotest"
)

// genericSetup runs a server whose single sign-on is a generic OpenID
// Connect issuer (not GitLab: issue 20, acceptance 3), where alice is in
// acme/platform, mapped to admin of root.
func genericSetup(t *testing.T, tweak func(*app.Config)) (*harness, *ssotest.Issuer) {
	t.Helper()
	is := ssotest.New(t)
	is.SetUser(ssotest.User{Subject: "s-alice", Username: "alice", Name: "Alice", Email: "alice@example.com", Groups: []string{"acme/platform"}})
	is.LogInAs("s-alice")
	s := inproc.StartServer(t, func(c *app.Config) {
		c.OIDC = sso.Settings{Issuer: is.URL, ClientID: is.ClientID, ClientSecret: is.ClientSecret, Name: "Example SSO"}
		c.OIDCClient = is.Client()
		if tweak != nil {
			tweak(c)
		}
	})
	h := &harness{Server: s, t: t}
	h.api("POST", "/api/v1/role-mappings", map[string]any{"issuer": is.URL, "group": "acme/platform", "space": "root", "role": "admin"},
		http.StatusCreated, nil)
	return h, is
}

// ssoLogin runs the browser's part of a login through the issuer: the
// button, the issuer's authorization (which logs in at once), and the
// callback, whose answer it returns.
func ssoLogin(t *testing.T, c *client, is *ssotest.Issuer) resp {
	t.Helper()
	start := c.get("/login/oidc?next=/stacks")
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.header.Get("Location"), is.URL+"/authorize?") {
		t.Fatalf("the login button answered %d to %q: %.300s", start.status, start.header.Get("Location"), start.body)
	}
	browser := is.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := browser.Get(start.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || back.Path != "/login/oidc/callback" {
		t.Fatalf("the issuer answered %d to %q (%v)", res.StatusCode, res.Header.Get("Location"), err)
	}
	return c.get(back.RequestURI())
}

func TestGenericIssuerLogin(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	c := h.client()
	if p := c.get("/login"); !strings.Contains(p.body, "Log in with Example SSO") || !strings.Contains(p.body, `id="password"`) {
		t.Fatalf("login page: %.500s", p.body)
	}
	p := ssoLogin(t, c, is)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/stacks" {
		t.Fatalf("callback = %d to %q: %.300s", p.status, p.header.Get("Location"), p.body)
	}
	if page := c.get("/admin/users"); page.status != http.StatusOK || !strings.Contains(page.body, "alice") {
		t.Errorf("alice, root admin through her group, gets /admin/users %d", page.status)
	}
	var entries struct {
		Items []struct {
			Action string         `json:"action"`
			Actor  string         `json:"actor"`
			Detail map[string]any `json:"detail"`
		} `json:"items"`
	}
	h.api("GET", "/api/v1/audit?action=login.succeeded", nil, http.StatusOK, &entries)
	found := false
	for _, e := range entries.Items {
		found = found || (e.Actor == "user:alice" && e.Detail["method"] == "oidc")
	}
	if !found {
		t.Errorf("no login.succeeded audit entry for alice by oidc: %+v", entries.Items)
	}
}

// TestForgedTokensInTheBrowser (issue 20, acceptance 2): each forged
// answer of the issuer is refused with one generic message to the person
// and the precise reason in the server log; nobody is logged in.
func TestForgedTokensInTheBrowser(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	tests := []struct {
		name   string
		forge  ssotest.Forge
		reason string
	}{
		{"wrong signature", ssotest.Forge{Signature: true}, sso.ReasonIDToken},
		{"wrong audience", ssotest.Forge{Audience: "someone-else"}, sso.ReasonIDToken},
		{"expired", ssotest.Forge{Expired: true}, sso.ReasonIDToken},
		{"wrong nonce", ssotest.Forge{Nonce: "replayed-from-another-login"}, sso.ReasonNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is.SetForge(tt.forge)
			defer is.SetForge(ssotest.Forge{})
			c := h.client()
			p := ssoLogin(t, c, is)
			wantRefused(t, h, c, p, tt.reason)
		})
	}

	// A server of its own: the refusals above used up the address's
	// failures in the login rate limit (5).
	h, is = genericSetup(t, nil)
	t.Run("replayed code", func(t *testing.T) {
		c := h.client()
		start := c.get("/login/oidc")
		browser := is.Client()
		browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := browser.Get(start.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		if p := c.get(back.RequestURI()); p.status != http.StatusSeeOther {
			t.Fatalf("first use of the code = %d", p.status)
		}
		// Another browser replays the callback it saw: no pending login.
		thief := h.client()
		wantRefused(t, h, thief, thief.get(back.RequestURI()), sso.ReasonState)
		// The same browser again, with a new pending login but the old
		// callback: the state is not this login's.
		c2 := h.client()
		c2.get("/login/oidc")
		wantRefused(t, h, c2, c2.get(back.RequestURI()), sso.ReasonState)
	})

	t.Run("issuer error", func(t *testing.T) {
		c := h.client()
		c.get("/login/oidc")
		p := c.get("/login/oidc/callback?error=access_denied&error_description=" + url.QueryEscape("<script>x</script>"))
		wantRefused(t, h, c, p, "issuer_error")
		if strings.Contains(p.body, "<script>x") {
			t.Error("the issuer's error text reached the page")
		}
	})
}

// wantRefused checks a refused callback: 401, the generic message, no
// session, and the reason logged.
func wantRefused(t *testing.T, h *harness, c *client, p resp, reason string) {
	t.Helper()
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Logging in with Example SSO did not work.") {
		t.Errorf("refused login = %d: %.400s", p.status, p.body)
	}
	if strings.Contains(p.body, reason) {
		t.Errorf("the page tells the reason %q", reason)
	}
	if page := c.get("/stacks"); page.status != http.StatusSeeOther {
		t.Errorf("after a refused login /stacks = %d, want the redirect to the login", page.status)
	}
	if !strings.Contains(h.Logs.String(), "reason="+reason) {
		t.Errorf("no log line with reason=%s", reason)
	}
}

// TestLocalLoginOff: --local-login=false is refused while no enabled user
// is root admin through a mapping; once one is, the server starts without
// the password form and refuses passwords, and API keys still log in.
func TestLocalLoginOff(t *testing.T) {
	t.Parallel()
	h, is := genericSetup(t, nil)
	h.Config.NoLocalLogin = true
	if err := h.App.Close(); err != nil {
		t.Fatal(err)
	}
	err := h.Boot()
	if err == nil || !strings.Contains(err.Error(), "no enabled user is root admin through a role mapping") {
		t.Fatalf("start with --local-login=false and no mapped root admin: %v", err)
	}
	h.Config.NoLocalLogin = false
	if err := h.Boot(); err != nil {
		t.Fatal(err)
	}
	if p := ssoLogin(t, h.client(), is); p.status != http.StatusSeeOther {
		t.Fatalf("alice's login = %d", p.status)
	}
	h.Config.NoLocalLogin = true
	h.Restart()

	c := h.client()
	page := c.get("/login")
	if strings.Contains(page.body, `id="password"`) || !strings.Contains(page.body, "Log in with Example SSO") {
		t.Errorf("login page with local login off: %.600s", page.body)
	}
	if p := c.post("/login", url.Values{"csrf_token": {csrf(t, page)}, "username": {"admin"}, "password": {h.AdminPassword}}); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "Logging in with a password is switched off on this server.") {
		t.Errorf("password login = %d: %.400s", p.status, p.body)
	}
	if p := c.post("/login", url.Values{"csrf_token": {csrf(t, c.get("/login"))}, "api_key": {h.AdminKey}}); p.status != http.StatusSeeOther {
		t.Errorf("API key login = %d: %.300s", p.status, p.body)
	}
	if p := ssoLogin(t, h.client(), is); p.status != http.StatusSeeOther {
		t.Errorf("alice's login = %d", p.status)
	}

	// And it keeps holding: alice is the only root admin through a
	// mapping, so the mapping stays, and so does she (409, saying why).
	var mappings struct{ Items []struct{ ID string } }
	h.api("GET", "/api/v1/role-mappings", nil, http.StatusOK, &mappings)
	if len(mappings.Items) != 1 {
		t.Fatalf("mappings = %+v", mappings.Items)
	}
	id := mappings.Items[0].ID
	var refusal struct{ Error struct{ Message string } }
	h.api("DELETE", "/api/v1/role-mappings/"+id, nil, http.StatusConflict, &refusal)
	if !strings.Contains(refusal.Error.Message, "--local-login=false") {
		t.Errorf("refusal = %+v", refusal)
	}
	var users struct {
		Items []struct{ ID, Username string }
	}
	h.api("GET", "/api/v1/users", nil, http.StatusOK, &users)
	for _, u := range users.Items {
		if u.Username == "alice" {
			h.api("POST", "/api/v1/users/"+u.ID+"/disable", nil, http.StatusConflict, nil)
			h.api("DELETE", "/api/v1/users/"+u.ID, nil, http.StatusConflict, nil)
		}
	}
	// The web UI says the same where the admin deletes it.
	confirm := c.get("/admin/role-mappings/" + id + "/delete")
	if p := c.post("/admin/role-mappings/"+id+"/delete", url.Values{"csrf_token": {csrf(t, confirm)}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "password logins are switched off on this server") {
		t.Errorf("deleting the last mapping in the UI = %d: %.3000s", p.status, p.body)
	}
	// A second group mapped to root admin, with a member logged in: now
	// the first mapping may go.
	is.SetUser(ssotest.User{Subject: "s-bob", Username: "bob", Groups: []string{"acme/ops"}})
	is.LogInAs("s-bob")
	h.api("POST", "/api/v1/role-mappings", map[string]any{"issuer": is.URL, "group": "acme/ops", "space": "root", "role": "admin"},
		http.StatusCreated, nil)
	if p := ssoLogin(t, h.client(), is); p.status != http.StatusSeeOther {
		t.Fatalf("bob's login = %d", p.status)
	}
	h.api("DELETE", "/api/v1/role-mappings/"+id, nil, http.StatusNoContent, nil)
}
