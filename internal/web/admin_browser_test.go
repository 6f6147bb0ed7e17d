package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestAdminAPIKeyInBrowser: a root admin creates an API key in the
// browser (a refusal first, submitted from the keyboard), uses its secret
// on the API of the same server, revokes it in the browser, and the API
// refuses it.
func TestAdminAPIKeyInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	x.click("nav a[href='/admin/users']")
	x.screenshot("admin-users")
	x.click("nav.tabs a[href='/admin/api-keys']")
	if p := x.path(); p != "/admin/api-keys" {
		t.Fatalf("the API keys tab opened %s", p)
	}

	// Enter in the empty name field submits the form: refused, the message
	// next to the field.
	if _, err := chromedp.Run(x.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.SendKeys(chromedp.ID("key-name"), kb.Enter))); err != nil {
		t.Fatalf("submit with Enter: %v", err)
	}
	if e := x.text("#name-error"); !strings.Contains(e, "required") {
		t.Errorf("name error = %q", e)
	}
	expiry := time.Now().UTC().AddDate(0, 6, 0).Format(time.DateOnly)
	x.do(
		chromedp.SendKeys(chromedp.ID("key-name"), "deploy bot"),
		chromedp.SetValue(chromedp.ID("expires_at"), expiry),
		chromedp.SetValue(chromedp.ID("role-root"), "read"),
	)
	x.click("#create-key")
	secret := x.value("#key-secret")
	if !strings.HasPrefix(secret, "hoist_") || !strings.Contains(x.text("#created-key"), "deploy bot") {
		t.Fatalf("created key: secret %q, notice %q", secret, x.text("#created-key"))
	}
	h.WatchSecret(secret)
	x.screenshot("admin-api-key-created")
	if row := x.text("#api-keys tbody tr:first-child"); !strings.Contains(row, "deploy bot") || !strings.Contains(row, "root: read") || !strings.Contains(row, expiry) {
		t.Errorf("the new key's row = %q", row)
	}

	// The key works on the API of the same server, with its role.
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", secret, nil)
	h.Must(http.StatusForbidden, "GET", "/api/v1/users", secret, nil)

	x.click("#api-keys tbody tr:first-child a.revoke")
	if !strings.Contains(x.text("h1"), "Revoke deploy bot?") {
		t.Fatalf("revoke page heading = %q", x.text("h1"))
	}
	x.click("#confirm-revoke")
	if p := x.path(); p != "/admin/api-keys?done=key-revoked" {
		t.Fatalf("after revoking: %s", p)
	}
	if strings.Contains(x.text("#api-keys"), "deploy bot") {
		t.Error("the revoked key is still listed")
	}
	code, msg, _ := h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", secret, nil).APIError(t)
	if code != "unauthorized" || msg != "invalid API key" {
		t.Errorf("the revoked key's answer = %s %q", code, msg)
	}
	h.AssertNoTokenLeaked()
}

// TestAdminDisableUserInBrowser: a user is logged in in one browser; a
// root admin disables the user in another; the user's next page load goes
// to the login, and logging in again is refused.
func TestAdminDisableUserInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pw := h.createUser("ann", "read")
	base := h.URL
	ann := tabT{t: t, ctx: tab(t)}
	ann.login(base, "ann", pw)
	ann.navigate("/source-control", base)
	if p := ann.path(); p != "/source-control" {
		t.Fatalf("ann is not logged in: %s", p)
	}
	if ann.count("nav a[href='/admin/users']") != 0 {
		t.Error("a reader sees Administration")
	}

	admin := tabT{t: t, ctx: tab(t)}
	admin.login(base, "admin", h.AdminPassword)
	admin.click("nav a[href='/admin/users']")
	admin.click("#user-ann a")
	admin.screenshot("admin-user")
	admin.click("#disable-user")
	if f := admin.text(".flash"); !strings.Contains(f, "User disabled") {
		t.Errorf("flash after disabling = %q", f)
	}
	if s := admin.text("#user-status"); !strings.Contains(s, "disabled") {
		t.Errorf("status after disabling = %q", s)
	}

	ann.navigate("/source-control", base)
	if p := ann.path(); !strings.HasPrefix(p, "/login") {
		t.Fatalf("ann's next page load went to %s, want the login", p)
	}
	ann.do(chromedp.SendKeys(chromedp.ID("username"), "ann"), chromedp.SendKeys(chromedp.ID("password"), pw))
	ann.click("form[action='/login'] button.primary")
	if msg := ann.text("main"); !strings.Contains(msg, "This user is disabled") {
		t.Errorf("ann's login after the disable says %q", msg)
	}

	admin.click("#enable-user")
	ann.login(base, "ann", pw)
	if p := ann.path(); strings.HasPrefix(p, "/login") {
		t.Errorf("ann cannot log in after being enabled: %s", p)
	}
}

// TestAdminAuditInBrowser: the audit log filtered from its form, and a
// 403 for a reader that keeps the navigation.
func TestAdminAuditInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pw := h.createUser("ann", "read")
	x := tabT{t: t, ctx: tab(t)}
	x.login(h.URL, "admin", h.AdminPassword)
	x.navigate("/admin/audit", h.URL)
	x.do(chromedp.SendKeys(chromedp.ID("f-action"), "user"), chromedp.SendKeys(chromedp.ID("f-resource_id"), "ann"))
	x.click("#apply-filters")
	if n := x.count("#audit tr.audit-entry"); n != 1 || x.text("#audit .audit-action") != "user.create" {
		t.Errorf("filtered to ann's user actions: %d rows", n)
	}
	x.screenshot("admin-audit")

	r := tabT{t: t, ctx: tab(t)}
	r.login(h.URL, "ann", pw)
	r.navigate("/admin/audit", h.URL)
	if h1 := r.text("h1"); h1 != "Not allowed" || r.count("nav[aria-label='Main'] a") < 2 {
		t.Errorf("a reader's audit page: %q with %d navigation links", h1, r.count("nav[aria-label='Main'] a"))
	}
}
