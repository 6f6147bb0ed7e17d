package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// sessionCookie returns the Set-Cookie line that starts a session.
func sessionCookie(t *testing.T, p resp) *http.Cookie {
	t.Helper()
	for _, line := range p.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && strings.HasSuffix(c.Name, "hoist_session") && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", p.header.Values("Set-Cookie"))
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		h := setup(t, nil)
		c := sessionCookie(t, h.client().login("admin", h.AdminPassword))
		if c.Name != "hoist_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
			t.Errorf("cookie %+v: want hoist_session, HttpOnly, SameSite=Lax, not Secure on http, Path=/", c)
		}
		if c.MaxAge <= 0 {
			t.Errorf("cookie MaxAge = %d, want a bounded session", c.MaxAge)
		}
	})
	t.Run("https public URL", func(t *testing.T) {
		t.Parallel()
		h := setup(t, func(c *app.Config) { c.PublicURL = "https://hoist.example.com" })
		cl := h.client()
		p := cl.login("admin", h.AdminPassword)
		c := sessionCookie(t, p)
		if c.Name != "__Host-hoist_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %+v: want __Host-hoist_session, Secure, HttpOnly, SameSite=Lax", c)
		}
		if got := p.header.Get("Strict-Transport-Security"); got == "" {
			t.Error("no Strict-Transport-Security with an https public URL")
		}
	})
}

func TestFormsNeedTheSessionCSRFToken(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	form := csrf(t, c.get("/source-control/gitlab/new"))
	fields := func(token string) url.Values {
		return url.Values{"csrf_token": {token}, "name": {"Acme"}, "type": {"default"}, "api_host": {h.SimURL},
			"token": {h.Token(gitlabsim.TokenOptions{})}}
	}
	other := h.client()
	other.mustLogin("admin", h.AdminPassword)
	otherToken := csrf(t, other.get("/launchpad"))

	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":              {form: url.Values{"name": {"Acme"}, "api_host": {h.SimURL}}},
		"wrong token":           {form: fields("not-the-token")},
		"another session's":     {form: fields(otherToken)},
		"cross-site origin":     {form: fields(form), header: map[string]string{"Origin": "https://evil.example"}},
		"no session, any token": {form: fields(form), header: map[string]string{"Cookie": "hoist_session=forged"}},
	} {
		cl := c
		if tc.header["Cookie"] != "" {
			cl = h.client()
		}
		p := cl.do("POST", "/source-control/gitlab/new", tc.form, tc.header)
		if p.status != http.StatusForbidden {
			t.Errorf("%s: POST = %d, want 403", name, p.status)
		}
	}
	if p := c.do("POST", "/logout", url.Values{}, nil); p.status != http.StatusForbidden {
		t.Errorf("logout without token = %d, want 403", p.status)
	}
	if p := h.client().post("/login", url.Values{"username": {"admin"}, "password": {h.AdminPassword}}); p.status != http.StatusForbidden {
		t.Errorf("login without the login form's token = %d, want 403", p.status)
	}
	var list struct{ Items []any }
	h.api("GET", "/api/v1/integrations", nil, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused form created %d integrations", len(list.Items))
	}
	// The same form with the session's token goes through.
	if p := c.post("/source-control/gitlab/new", fields(form)); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/source-control/gitlab/acme?done=created" {
		t.Fatalf("POST with the token = %d %s %.300s", p.status, p.header.Get("Location"), p.body)
	}
	// Logging out ends the session on the server, not just in the browser.
	if p := c.post("/logout", url.Values{"csrf_token": {form}}); p.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", p.status)
	}
	if p := c.get("/source-control"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Errorf("after logout: %d %s, want a redirect to the login", p.status, p.header.Get("Location"))
	}
}

func TestLoginRateLimitAndAudit(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	c := h.client()
	for i := range 5 {
		if p := c.login("admin", "wrong-password-"+string(rune('a'+i))); p.status != http.StatusUnauthorized ||
			!strings.Contains(p.body, "Wrong username or password") {
			t.Fatalf("failure %d = %d", i, p.status)
		}
	}
	p := c.login("admin", h.AdminPassword)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed logins") {
		t.Fatalf("6th attempt with the right password = %d, want 429", p.status)
	}
	// The address is limited too: another username from here is refused.
	if p := c.login("nobody", "whatever-password"); p.status != http.StatusTooManyRequests {
		t.Errorf("other username from the same address = %d, want 429", p.status)
	}
	var raw struct{ Items []map[string]any }
	h.api("GET", "/api/v1/audit", nil, http.StatusOK, &raw)
	failed, limited := 0, 0
	for _, e := range raw.Items {
		switch e["action"] {
		case "login.failed":
			failed++
			if d, _ := e["detail"].(map[string]any); d["username"] != "admin" || d["client_address"] != "127.0.0.1" || d["reason"] != "bad_password" {
				t.Errorf("login.failed detail = %v", d)
			}
		case "login.rate_limited":
			limited++
		}
	}
	if failed != 5 || limited != 2 {
		t.Errorf("audit has %d login.failed and %d login.rate_limited, want 5 and 2", failed, limited)
	}
	for _, s := range []string{"wrong-password-a", h.AdminPassword} {
		if strings.Contains(h.Logs.String(), s) {
			t.Errorf("a password is in the server log")
		}
	}
}

func TestLoginWithAPIKeyAndSafeRedirects(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	c := h.client()
	token := csrf(t, c.get("/login?next=//evil.example/x"))
	p := c.post("/login", url.Values{"csrf_token": {token}, "api_key": {h.AdminKey}, "next": {"//evil.example/x"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("API key login = %d → %q, want / (never another host)", p.status, p.header.Get("Location"))
	}
	if lp := c.get("/launchpad"); lp.status != http.StatusOK || !strings.Contains(lp.body, "bootstrap admin key") {
		t.Errorf("launchpad after key login = %d, want the key's name in the header", lp.status)
	}
	// A page asked for before the login is where the login returns.
	c2 := h.client()
	if p := c2.get("/source-control"); p.header.Get("Location") != "/login?next=%2Fsource-control" {
		t.Fatalf("logged-out Source control → %q", p.header.Get("Location"))
	}
	token = csrf(t, c2.get("/login?next=%2Fsource-control"))
	p = c2.post("/login", url.Values{"csrf_token": {token}, "username": {"admin"}, "password": {h.AdminPassword}, "next": {"/source-control"}})
	if p.header.Get("Location") != "/source-control" {
		t.Errorf("login with next=/source-control → %q", p.header.Get("Location"))
	}
	bad := h.client()
	token = csrf(t, bad.get("/login"))
	if p := bad.post("/login", url.Values{"csrf_token": {token}, "api_key": {"hoist_nope_nope"}}); p.status != http.StatusUnauthorized ||
		!strings.Contains(p.body, "not valid") {
		t.Errorf("bad API key = %d", p.status)
	}
}

func TestReaderSeesListNotDetails(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	secret, _ := it["webhook_secret"].(string)
	pw := h.createUser("reader", "read")
	c := h.client()
	c.mustLogin("reader", pw)
	list := c.get("/source-control")
	if list.status != http.StatusOK || !strings.Contains(list.body, `id="integration-acme-gitlab"`) {
		t.Fatalf("reader's Source control = %d, integration not listed", list.status)
	}
	if strings.Contains(list.body, "See details") || strings.Contains(list.body, "Set up integration") {
		t.Error("reader sees See details or Set up integration")
	}
	for _, path := range []string{"/source-control/gitlab/acme-gitlab", "/source-control/gitlab/acme-gitlab/edit", "/source-control/gitlab/acme-gitlab/delete"} {
		p := c.get(path)
		if p.status != http.StatusForbidden || strings.Contains(p.body, secret) {
			t.Errorf("reader GET %s = %d (secret shown: %v), want 403 without the secret", path, p.status, strings.Contains(p.body, secret))
		}
	}
	token := csrf(t, list)
	for _, path := range []string{"/source-control/gitlab/acme-gitlab/rotate-secret", "/source-control/gitlab/acme-gitlab/delete"} {
		if p := c.post(path, url.Values{"csrf_token": {token}}); p.status != http.StatusForbidden {
			t.Errorf("reader POST %s = %d, want 403", path, p.status)
		}
	}
	admin := h.client()
	admin.mustLogin("admin", h.AdminPassword)
	if p := admin.get("/source-control/gitlab/acme-gitlab"); p.status != http.StatusOK || !strings.Contains(p.body, secret) {
		t.Errorf("admin details = %d, secret shown %v", p.status, strings.Contains(p.body, secret))
	}
}

func TestEditTestRotate(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	before := h.createIntegration("Acme GitLab")
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	edit := c.get("/source-control/gitlab/acme-gitlab/edit")
	if edit.status != http.StatusOK || strings.Contains(edit.body, `name="name"`) || !strings.Contains(edit.body, "cannot be changed") {
		t.Fatalf("edit page = %d; the name must be shown but not editable", edit.status)
	}
	token := csrf(t, edit)
	form := url.Values{"csrf_token": {token}, "type": {"default"}, "api_host": {h.SimURL}, "user_facing_host": {h.SimURL},
		"labels": {"prod, eu"}, "description": {"*hi*\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>"}, "name": {"Renamed"}}
	if p := c.post("/source-control/gitlab/acme-gitlab/edit", form); p.status != http.StatusSeeOther {
		t.Fatalf("save = %d %.400s", p.status, p.body)
	}
	var after map[string]any
	h.api("GET", "/api/v1/integrations/gitlab/acme-gitlab", nil, http.StatusOK, &after)
	if after["name"] != "Acme GitLab" || len(after["labels"].([]any)) != 2 || after["webhook_secret"] != before["webhook_secret"] {
		t.Errorf("after edit: %v (name must not change, labels set, secret kept)", after)
	}
	details := c.get("/source-control/gitlab/acme-gitlab?done=updated")
	if strings.Contains(details.body, "<script>alert(1)</script>") || strings.Contains(details.body, "javascript:") ||
		strings.Contains(details.body, "onerror") || !strings.Contains(details.body, "<em>hi</em>") {
		t.Error("description markdown is not rendered safely")
	}
	if !strings.Contains(details.body, "Integration saved.") {
		t.Error("no confirmation after saving")
	}

	// A bad API host on edit: inline error, nothing stored.
	form.Set("api_host", "ftp://gitlab.example.com")
	p := c.post("/source-control/gitlab/acme-gitlab/edit", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="api_host-error"`) || !strings.Contains(p.body, `value="prod, eu"`) {
		t.Errorf("bad host on edit = %d, want the inline error with the other fields kept", p.status)
	}

	if p := c.post("/source-control/gitlab/acme-gitlab/test", url.Values{"csrf_token": {token}}); p.status != http.StatusOK ||
		!strings.Contains(p.body, "Test passed") || !strings.Contains(p.body, `id="test-result"`) {
		t.Errorf("test = %d", p.status)
	}
	if p := c.post("/source-control/gitlab/acme-gitlab/rotate-secret", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("rotate = %d", p.status)
	}
	var rotated map[string]any
	h.api("GET", "/api/v1/integrations/gitlab/acme-gitlab", nil, http.StatusOK, &rotated)
	if rotated["webhook_secret"] == before["webhook_secret"] {
		t.Error("rotate kept the webhook secret")
	}
	if p := c.get("/source-control/gitlab/acme-gitlab?done=rotated"); !strings.Contains(p.body, rotated["webhook_secret"].(string)) ||
		!strings.Contains(p.body, "old one no longer works") {
		t.Error("details after rotate do not show the new secret and the warning")
	}
	// A test while GitLab is down says so on the page.
	if _, err := h.Sim.AddFault(gitlabsim.Fault{Path: "/api/v4/**", Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if p := c.post("/source-control/gitlab/acme-gitlab/test", url.Values{"csrf_token": {token}}); !strings.Contains(p.body, "Test failed") ||
		!strings.Contains(p.body, "503") {
		t.Errorf("failed test = %d, no failure message", p.status)
	}
}

func TestDetailsListRecentDeliveries(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	ctx := t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: it["webhook_endpoint"].(string), Token: it["webhook_secret"].(string)}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	if p := c.get("/source-control/gitlab/acme-gitlab"); !strings.Contains(p.body, `id="no-deliveries"`) {
		t.Fatal("details do not say there are no deliveries yet")
	}
	if _, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# x\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 20*time.Second, "the push to show among the deliveries", func() error {
		p := c.get("/source-control/gitlab/acme-gitlab")
		if strings.Contains(p.body, `id="deliveries"`) && strings.Contains(p.body, "Push Hook") && strings.Contains(p.body, "acme/infra") {
			return nil
		}
		return fmt.Errorf("%.2000s", p.body)
	})
}

// TestSpaceAdminSetsUpSpaceIntegration: a space admin cannot make the
// default integration but sets up one in their space through the form, and
// a reader of another space does not even see it listed.
func TestSpaceAdminSetsUpSpaceIntegration(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team A"}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team B"}, http.StatusCreated, nil)
	pw := "pw-alice-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": "alice", "password": pw,
		"roles": []map[string]string{{"space": "team-a", "role": "admin"}}}, http.StatusCreated, nil)
	bobPw := "pw-bob-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": "bob", "password": bobPw,
		"roles": []map[string]string{{"space": "team-b", "role": "read"}}}, http.StatusCreated, nil)

	c := h.client()
	c.mustLogin("alice", pw)
	form := c.get("/source-control/gitlab/new")
	if !strings.Contains(form.body, `value="default" id="type-default" disabled`) || !strings.Contains(form.body, `<option value="team-a">Team A</option>`) ||
		strings.Contains(form.body, `value="team-b"`) {
		t.Fatalf("alice's form must offer team-a only and no default: %.3000s", form.body)
	}
	token := csrf(t, form)
	fields := url.Values{"csrf_token": {token}, "name": {"Team A GitLab"}, "type": {"default"}, "api_host": {h.SimURL},
		"token": {h.Token(gitlabsim.TokenOptions{})}}
	if p := c.post("/source-control/gitlab/new", fields); p.status != http.StatusForbidden || !strings.Contains(p.body, "root admins") ||
		!strings.Contains(p.body, `value="Team A GitLab"`) {
		t.Errorf("alice asking for the default = %d, want 403 in the form with the fields kept", p.status)
	}
	fields.Set("type", "space")
	fields.Set("token", h.Token(gitlabsim.TokenOptions{}))
	if p := c.post("/source-control/gitlab/new", fields); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="space-error"`) {
		t.Errorf("space-specific without a space = %d, want the inline space error", p.status)
	}
	fields.Set("space", "team-a")
	if p := c.post("/source-control/gitlab/new", fields); p.status != http.StatusSeeOther {
		t.Fatalf("alice's space integration = %d %.500s", p.status, p.body)
	}
	if p := c.get("/source-control/gitlab/team-a-gitlab"); p.status != http.StatusOK || !strings.Contains(p.body, `id="webhook-secret"`) {
		t.Errorf("alice's details = %d", p.status)
	}
	bob := h.client()
	bob.mustLogin("bob", bobPw)
	if p := bob.get("/source-control"); strings.Contains(p.body, "team-a-gitlab") {
		t.Error("bob, who cannot read team-a, sees its integration")
	}
	if p := bob.get("/source-control/gitlab/team-a-gitlab"); p.status != http.StatusNotFound {
		t.Errorf("bob's details = %d, want 404", p.status)
	}
}
