package web_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/sso"
)

// ssoSetup starts the GitLab simulator as the OpenID Connect issuer, with
// alice in group acme/platform, and a server logging in through it
// (roles refreshed every refresh) where that group maps to admin of space
// platform.
func ssoSetup(t *testing.T, refresh time.Duration, tweak func(*app.Config)) (*harness, gitlabsim.User) {
	t.Helper()
	ctx := t.Context()
	sim, simURL := apptest.StartGitLab(t)
	bot, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "alice", Name: "Alice Liddell"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateGroup(ctx, "acme/platform"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme/platform", UserID: alice.ID, AccessLevel: gitlabsim.Developer}); err != nil {
		t.Fatal(err)
	}
	// The callback's port is known once the server listens: registered
	// with a placeholder, corrected below (as an admin edits it in GitLab).
	oauthApp, err := sim.CreateOAuthApp(ctx, gitlabsim.OAuthAppOptions{Name: "Hoist", RedirectURIs: []string{"http://127.0.0.1/login/oidc/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	s := inproc.StartServer(t, func(c *app.Config) {
		secretFile := t.TempDir() + "/oidc-secret"
		if err := os.WriteFile(secretFile, []byte(oauthApp.Secret), 0o600); err != nil {
			t.Fatal(err)
		}
		c.OIDC = sso.Settings{Issuer: simURL, ClientID: oauthApp.ClientID, Name: "GitLab", Refresh: refresh}
		c.OIDCClientSecretFile = secretFile
		if tweak != nil {
			tweak(c)
		}
	})
	s.Sim, s.SimURL, s.SimUser = sim, simURL, bot
	if err := sim.SetOAuthRedirectURIs(ctx, oauthApp.ClientID, []string{s.App.PublicURL() + "/login/oidc/callback"}); err != nil {
		t.Fatal(err)
	}
	h := &harness{Server: s, t: t}
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "platform", "parent": "root", "inherit": false}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/role-mappings", map[string]any{"issuer": simURL, "group": "acme/platform", "space": "platform", "role": "admin"},
		http.StatusCreated, nil)
	return h, alice
}

// TestLogInWithGitLabInBrowser (issue 20, acceptance 1): alice logs in
// through the simulator's authorize page, lands with the role her group
// maps to and sees only what it allows; removed from the group in GitLab,
// she loses the role at the next refresh and her session's next request
// is denied.
func TestLogInWithGitLabInBrowser(t *testing.T) {
	t.Parallel()
	h, alice := ssoSetup(t, time.Second, nil)
	it := h.createIntegration("GitLab")
	h.infraStack(it, gitlabsim.HookOptions{})
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Platform network", "space": "platform", "integration": it["id"],
		"repository": "acme/infra", "branch": "main", "project_root": "infra"}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	x.navigate("/login", h.URL)
	if got := x.text("#sso-login"); got != "Log in with GitLab" {
		t.Fatalf("login button = %q", got)
	}
	x.screenshot("login-sso")
	x.click("#sso-login")
	if !strings.HasPrefix(x.location(), h.SimURL+"/oauth/authorize") {
		t.Fatalf("the button led to %s, not the simulator's authorize page", x.location())
	}
	x.click("button[data-username='alice']")
	if !strings.HasPrefix(x.location(), h.URL) || strings.HasPrefix(x.path(), "/login") {
		t.Fatalf("after authorizing: %s", x.location())
	}
	if who := x.text(".who"); !strings.Contains(who, "alice") {
		t.Errorf("the header names %q, not alice", who)
	}

	// Admin of platform: its stack, not root's; no Administration.
	x.navigate("/stacks", h.URL)
	list := x.text("main")
	if !strings.Contains(list, "Platform network") || strings.Contains(list, "Infra") {
		t.Fatalf("alice's stacks list: %q", list)
	}
	x.click("a[href='/stacks/platform-network']")
	if p := x.path(); p != "/stacks/platform-network" {
		t.Fatalf("the stack link opened %s", p)
	}
	x.navigate("/admin/users", h.URL)
	if !strings.Contains(x.text("main"), "Only root admins") {
		t.Errorf("alice reached the Administration: %q", x.text("main"))
	}

	// Removed from the group in GitLab: within the refresh interval the
	// role is gone, and the same session's next request is refused.
	if err := h.Sim.RemoveMember(t.Context(), gitlabsim.MemberOptions{Group: "acme/platform", UserID: alice.ID}); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 15*time.Second, "alice's stack page refused after the refresh", func() bool {
		x.navigate("/stacks/platform-network", h.URL)
		return strings.Contains(strings.ToLower(x.text("h1")), "not found")
	})
	x.navigate("/stacks", h.URL)
	if list := x.text("main"); strings.Contains(list, "Platform network") {
		t.Errorf("alice still lists the platform stack: %q", list)
	}
	h.AssertNoTokenLeaked()
}
