package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	keySecretRe   = regexp.MustCompile(`id="key-secret" type="text" readonly value="([^"]+)"`)
	newPasswordRe = regexp.MustCompile(`id="new-password" type="text" readonly value="([^"]+)"`)
)

// wantField fails unless page answered status with msg in the field error
// of id (the message next to the input).
func wantField(t *testing.T, what string, p resp, status int, id, msg string) {
	t.Helper()
	re := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`)
	m := re.FindStringSubmatch(p.body)
	if p.status != status || m == nil || !strings.Contains(m[1], msg) {
		got := ""
		if m != nil {
			got = m[1]
		}
		t.Errorf("%s = %d with %s error %q, want %d with %q:\n%.1500s", what, p.status, id, got, status, msg, p.body)
	}
}

// adminOn logs the admin in and opens path (failing unless it answers
// 200); post sends a form with that page's CSRF token.
func adminOn(t *testing.T, h *harness, path string) (admin *client, page resp, post func(string, url.Values) resp) {
	t.Helper()
	admin = h.client()
	admin.mustLogin("admin", h.AdminPassword)
	if page = admin.get(path); page.status != http.StatusOK {
		t.Fatalf("GET %s = %d:\n%.1500s", path, page.status, page.body)
	}
	token := csrf(t, page)
	return admin, page, func(path string, form url.Values) resp {
		t.Helper()
		form.Set("csrf_token", token)
		return admin.post(path, form)
	}
}

// TestAdminRefusesOthers: only root admins see the Administration entry;
// everyone else gets 403 pages that keep the navigation, and their posts
// are refused before anything changes.
func TestAdminRefusesOthers(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	admin := h.client()
	admin.mustLogin("admin", h.AdminPassword)
	if p := admin.get("/launchpad"); !strings.Contains(p.body, `<a href="/admin/users">Administration</a>`) {
		t.Errorf("a root admin's navigation has no Administration entry:\n%.1500s", p.body)
	}
	if p := admin.get("/admin"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users" {
		t.Errorf("GET /admin = %d %s, want the users page", p.status, p.header.Get("Location"))
	}

	pw := h.createUser("writer", "write")
	c := h.client()
	c.mustLogin("writer", pw)
	home := c.get("/launchpad")
	if strings.Contains(home.body, "/admin/") {
		t.Error("a writer's navigation shows Administration")
	}
	for _, path := range []string{"/admin", "/admin/users", "/admin/users/admin", "/admin/api-keys", "/admin/audit",
		"/admin/api-keys/whatever/revoke"} {
		p := c.get(path)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, `<nav aria-label="Main">`) ||
			!strings.Contains(p.body, "Only root admins may use the Administration pages.") {
			t.Errorf("writer GET %s = %d, want 403 with the navigation and the reason:\n%.800s", path, p.status, p.body)
		}
	}
	token := csrf(t, home)
	for path, form := range map[string]url.Values{
		"/admin/users":                     {"username": {"mallory"}, "password": {"pw-mallory-0123456789"}, "role:root": {"admin"}},
		"/admin/users/writer/roles":        {"space": {"root"}, "role": {"admin"}},
		"/admin/users/admin/disable":       {},
		"/admin/users/admin/password":      {"password": {"pw-taken-over-0123456789"}},
		"/admin/api-keys":                  {"name": {"mine"}, "role:root": {"admin"}},
		"/admin/users/writer/roles/revoke": {"space": {"root"}},
	} {
		form.Set("csrf_token", token)
		if p := c.post(path, form); p.status != http.StatusForbidden {
			t.Errorf("writer POST %s = %d, want 403", path, p.status)
		}
	}
	if p := admin.post("/admin/users", url.Values{"username": {"nocsrf"}, "password": {"pw-nocsrf-0123456789"}}); p.status != http.StatusForbidden {
		t.Errorf("a post without the CSRF token = %d, want 403", p.status)
	}
	var users struct{ Items []struct{ ID string } }
	h.api("GET", "/api/v1/users", nil, http.StatusOK, &users)
	if len(users.Items) != 2 {
		t.Errorf("refused posts changed the users: %+v", users.Items)
	}
	if p := h.client().get("/admin/users"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login?next=") {
		t.Errorf("logged out GET /admin/users = %d %s, want the login", p.status, p.header.Get("Location"))
	}
}

// TestAdminUsers: create (with a password, or a generated one shown
// once), the service's refusals next to their fields, grant and revoke,
// reset password and disable (both end the user's session at once),
// enable.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team", "parent": "root"}, http.StatusCreated, nil)
	admin, page, post := adminOn(t, h, "/admin/users")
	if !strings.Contains(page.body, `id="user-admin"`) || !strings.Contains(page.body, `<select id="role-team" name="role:team">`) ||
		!strings.Contains(page.body, `<label for="username">`) {
		t.Fatalf("users page:\n%.2000s", page.body)
	}

	wantField(t, "a short password", post("/admin/users", url.Values{"username": {"ann"}, "password": {"short"}}), http.StatusBadRequest, "password", "at least 12 characters")
	wantField(t, "no username", post("/admin/users", url.Values{"username": {"  "}, "password": {"pw-ann-0123456789"}}), http.StatusBadRequest, "username", "required")
	p := post("/admin/users", url.Values{"username": {"ann"}, "password": {"pw-ann-0123456789"}, "role:nowhere": {"read"}})
	wantField(t, "a role on a missing space", p, http.StatusBadRequest, "roles", `no space &#34;nowhere&#34;`)
	if !strings.Contains(p.body, `value="ann"`) {
		t.Error("the username typed is not kept after a refusal")
	}
	p = post("/admin/users", url.Values{"username": {"ann"}, "password": {"pw-ann-0123456789"}, "role:team": {"superuser"}})
	wantField(t, "an unknown role", p, http.StatusBadRequest, "roles", "superuser")
	p = post("/admin/users", url.Values{"username": {"ann"}, "password": {"pw-ann-0123456789"}, "role:team": {"write"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users/ann?done=user-created" {
		t.Fatalf("create ann = %d %s\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	wantField(t, "ann again", post("/admin/users", url.Values{"username": {"Ann"}, "password": {"pw-ann-0123456789"}}), http.StatusConflict, "username", "already exists")
	annPage := admin.get("/admin/users/ann?done=user-created")
	if !strings.Contains(annPage.body, "User created.") || !strings.Contains(annPage.body, `<tr id="role-team">`) || strings.Contains(annPage.body, `id="new-password"`) {
		t.Errorf("ann's page:\n%.2500s", annPage.body)
	}
	if p := admin.get("/admin/users/nobody"); p.status != http.StatusNotFound {
		t.Errorf("an unknown user's page = %d, want 404", p.status)
	}

	// A generated password is shown once and works.
	p = post("/admin/users", url.Values{"username": {"bob"}})
	m := newPasswordRe.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create bob without a password = %d, no password shown:\n%.1500s", p.status, p.body)
	}
	if again := admin.get("/admin/users/bob"); strings.Contains(again.body, m[1]) {
		t.Error("the generated password is shown again")
	}
	h.client().mustLogin("bob", m[1])

	// Roles: grant replaces, refusals next to the grant form, revoke.
	wantField(t, "grant without a space", post("/admin/users/ann/roles", url.Values{"space": {""}, "role": {"read"}}), http.StatusBadRequest, "grant", "every role needs a space")
	wantField(t, "grant a bad role", post("/admin/users/ann/roles", url.Values{"space": {"root"}, "role": {"owner"}}), http.StatusBadRequest, "grant", "owner")
	if p := post("/admin/users/ann/roles", url.Values{"space": {"root"}, "role": {"read"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users/ann?done=granted" {
		t.Errorf("grant = %d %s", p.status, p.header.Get("Location"))
	}
	annAPI := func() []struct{ Space, Role string } {
		var list struct {
			Items []struct {
				ID       string
				Disabled bool
				Roles    []struct{ Space, Role string }
			}
		}
		h.api("GET", "/api/v1/users", nil, http.StatusOK, &list)
		for _, it := range list.Items {
			if it.ID == "ann" {
				return it.Roles
			}
		}
		t.Fatal("ann is not listed")
		return nil
	}
	if r := annAPI(); len(r) != 2 {
		t.Errorf("after the grant ann has %+v, want root and team", r)
	}
	if p := post("/admin/users/ann/roles/revoke", url.Values{"space": {"team"}}); p.status != http.StatusSeeOther {
		t.Errorf("revoke = %d", p.status)
	}
	if r := annAPI(); len(r) != 1 || r[0].Space != "root" {
		t.Errorf("after the revoke ann has %+v", r)
	}
	if p := post("/admin/users/ann/roles/revoke", url.Values{"space": {"team"}}); p.status != http.StatusNotFound || !strings.Contains(p.body, `has no role on space &#34;team&#34;`) {
		t.Errorf("revoking a role ann does not have = %d:\n%.1500s", p.status, p.body)
	}

	// Reset password: ann's session ends, the new password works.
	annC := h.client()
	annC.mustLogin("ann", "pw-ann-0123456789")
	wantField(t, "a short new password", post("/admin/users/ann/password", url.Values{"password": {"short"}}), http.StatusBadRequest, "password", "at least 12 characters")
	if p := post("/admin/users/ann/password", url.Values{"password": {"pw-ann-new-0123456789"}}); p.status != http.StatusSeeOther {
		t.Errorf("reset password = %d", p.status)
	}
	if p := annC.get("/launchpad"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Errorf("ann's session after the reset = %d %s, want the login", p.status, p.header.Get("Location"))
	}
	annC.mustLogin("ann", "pw-ann-new-0123456789")

	// Disable: the session ends at once, the login is refused; enable.
	if p := post("/admin/users/admin/disable", url.Values{}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "you cannot disable yourself") || !strings.Contains(p.body, `id="user-error"`) {
		t.Errorf("disable yourself = %d:\n%.1500s", p.status, p.body)
	}
	if p := post("/admin/users/ann/disable", url.Values{}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users/ann?done=disabled" {
		t.Errorf("disable = %d %s", p.status, p.header.Get("Location"))
	}
	if p := annC.get("/launchpad"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Errorf("ann's session after the disable = %d %s, want the login", p.status, p.header.Get("Location"))
	}
	if p := h.client().login("ann", "pw-ann-new-0123456789"); p.status != http.StatusForbidden || !strings.Contains(p.body, "disabled") {
		t.Errorf("a disabled user's login = %d", p.status)
	}
	if list := admin.get("/admin/users"); !strings.Contains(list.body, `<tr id="user-ann">`) || !strings.Contains(list.body, "disabled</span>") {
		t.Error("the list does not show ann disabled")
	}
	if p := post("/admin/users/ann/enable", url.Values{}); p.status != http.StatusSeeOther {
		t.Errorf("enable = %d", p.status)
	}
	h.client().mustLogin("ann", "pw-ann-new-0123456789")
	if p := post("/admin/users/nobody/disable", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("disable an unknown user = %d, want 404", p.status)
	}
}

// TestAdminAPIKeys: create with roles and expiry (the secret shown once;
// the key works on the API), the refusals next to their fields, revoke
// (the API refuses the key).
func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	admin, page, post := adminOn(t, h, "/admin/api-keys")
	if !strings.Contains(page.body, "bootstrap admin key") || !strings.Contains(page.body, `<label for="expires_at">`) {
		t.Fatalf("keys page:\n%.2000s", page.body)
	}
	wantField(t, "no name", post("/admin/api-keys", url.Values{"name": {""}}), http.StatusBadRequest, "name", "required")
	p := post("/admin/api-keys", url.Values{"name": {"ci"}, "expires_at": {"2001-01-01"}, "role:root": {"read"}})
	wantField(t, "an expiry in the past", p, http.StatusBadRequest, "expires_at", "must be in the future")
	if !strings.Contains(p.body, `value="ci"`) || !strings.Contains(p.body, `<option value="read" selected>`) {
		t.Error("the name and roles picked are not kept after a refusal")
	}
	wantField(t, "not a date", post("/admin/api-keys", url.Values{"name": {"ci"}, "expires_at": {"tomorrow"}}), http.StatusBadRequest, "expires_at", "must be a date such as")
	wantField(t, "a missing space", post("/admin/api-keys", url.Values{"name": {"ci"}, "role:gone": {"read"}}), http.StatusBadRequest, "roles", `no space &#34;gone&#34;`)
	many := url.Values{"name": {"ci"}}
	for i := range 501 {
		many.Set("role:s"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), "read")
	}
	wantField(t, "too many role fields", post("/admin/api-keys", many), http.StatusBadRequest, "roles", "at most 500 roles")

	expiry := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	p = post("/admin/api-keys", url.Values{"name": {"ci"}, "expires_at": {expiry}, "role:root": {"read"}})
	m := keySecretRe.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create = %d, no secret:\n%.2000s", p.status, p.body)
	}
	secret := m[1]
	h.WatchSecret(secret)
	if list := admin.get("/admin/api-keys"); strings.Contains(list.body, secret) || !strings.Contains(list.body, expiry) {
		t.Error("the list shows the secret again, or not the expiry")
	}
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", secret, nil)
	h.Must(http.StatusForbidden, "POST", "/api/v1/spaces", secret, map[string]any{"name": "x", "parent": "root"})

	var keys struct {
		Items []struct {
			ID, Name  string
			ExpiresAt string `json:"expires_at"`
		}
	}
	h.api("GET", "/api/v1/api-keys", nil, http.StatusOK, &keys)
	id := ""
	for _, k := range keys.Items {
		if k.Name == "ci" {
			id = k.ID
			if !strings.HasPrefix(k.ExpiresAt, expiry+"T00:00:00") {
				t.Errorf("the key expires at %s, want 00:00 UTC on %s", k.ExpiresAt, expiry)
			}
		}
	}
	confirm := admin.get("/admin/api-keys/" + id + "/revoke")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `id="confirm-revoke"`) {
		t.Fatalf("revoke page = %d", confirm.status)
	}
	if p := post("/admin/api-keys/"+id+"/revoke", url.Values{}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/api-keys?done=key-revoked" {
		t.Fatalf("revoke = %d %s", p.status, p.header.Get("Location"))
	}
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", secret, nil)
	if list := admin.get("/admin/api-keys?done=key-revoked"); strings.Contains(list.body, `id="key-`+id+`"`) || !strings.Contains(list.body, "API key revoked") {
		t.Error("the revoked key is still listed, or no flash")
	}
	if p := post("/admin/api-keys/"+id+"/revoke", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("revoke again = %d, want 404", p.status)
	}
	if p := admin.get("/admin/api-keys/nokey/revoke"); p.status != http.StatusNotFound {
		t.Errorf("revoke page of an unknown key = %d, want 404", p.status)
	}
	h.AssertNoTokenLeaked()
}

// TestAdminAudit: filters by actor, action family, target, space and time;
// paging keeps the filters; bad filters are told next to their field.
func TestAdminAudit(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	start := time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04:05")
	for _, name := range []string{"u1", "u2", "u3"} {
		h.createUser(name, "read")
	}
	admin := h.client()
	admin.mustLogin("admin", h.AdminPassword)
	page := admin.get("/admin/audit")
	if page.status != http.StatusOK || !strings.Contains(page.body, "user.create") || !strings.Contains(page.body, "login.succeeded") {
		t.Fatalf("audit page (%d):\n%.2000s", page.status, page.body)
	}
	actions := regexp.MustCompile(`class="audit-action"><a href="[^"]*">([^<]+)</a>`)
	got := func(p resp) []string {
		var out []string
		for _, m := range actions.FindAllStringSubmatch(p.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	p := admin.get("/admin/audit?action=user&resource_id=u2")
	if a := got(p); len(a) != 1 || a[0] != "user.create" {
		t.Errorf("user actions on u2 = %q", a)
	}
	p = admin.get("/admin/audit?actor=user:admin&action=login.succeeded&space=&since=" + url.QueryEscape(start))
	if a := got(p); len(a) != 1 {
		t.Errorf("admin's logins since the start = %q", a)
	}
	if a := got(admin.get("/admin/audit?before=2001-01-01")); len(a) != 0 || !strings.Contains(admin.get("/admin/audit?before=2001-01-01").body, "No entries match") {
		t.Errorf("entries before 2001 = %q", a)
	}
	if a := got(admin.get("/admin/audit?space=elsewhere")); len(a) != 0 {
		t.Errorf("entries in another space = %q", a)
	}

	wantField(t, "a bad time", admin.get("/admin/audit?since=yesterday"), http.StatusBadRequest, "since", "must be a UTC time")
	wantField(t, "an empty range", admin.get("/admin/audit?since=2026-01-02&before=2026-01-01"), http.StatusBadRequest, "before", "must be after From")
	wantField(t, "an overlong actor", admin.get("/admin/audit?actor="+strings.Repeat("a", 201)), http.StatusBadRequest, "actor", "at most 200")
	if p := admin.get("/admin/audit?cursor=zzz"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="audit-error"`) {
		t.Errorf("a bad cursor = %d", p.status)
	}

	// 60 more keys (61 with the bootstrap key's): the first page has 50,
	// the next keeps the filter and has the rest.
	for i := range 60 {
		h.api("POST", "/api/v1/api-keys", map[string]any{"name": "k" + time.Duration(i).String()}, http.StatusCreated, nil)
	}
	first := admin.get("/admin/audit?action=api_key")
	more := regexp.MustCompile(`<a href="([^"]+)" id="audit-more">`).FindStringSubmatch(first.body)
	if a := got(first); len(a) != 50 || more == nil {
		t.Fatalf("first page of space actions: %d entries, more link %v", len(a), more)
	}
	next := admin.get(strings.ReplaceAll(more[1], "&amp;", "&"))
	if a := got(next); len(a) != 11 || a[0] != "api_key.create" || strings.Contains(next.body, `id="audit-more"`) {
		t.Errorf("second page: %q", a)
	}
}
