package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestAdminSetsUpGitLab walks the seed document in a real browser: log in,
// Source control, Set up integration → GitLab, a bad token (inline error,
// fields kept), the right token, LaunchPad step 1 complete, ⋯ → See details
// with the webhook endpoint and secret.
func TestAdminSetsUpGitLab(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL

	x.login(base, "admin", h.AdminPassword)
	if p := x.path(); p != "/launchpad" {
		t.Fatalf("after the first login: %s, want the LaunchPad", p)
	}
	if d := x.count("#step-1.done"); d != 0 {
		t.Fatal("step 1 complete before any integration exists")
	}
	x.screenshot("launchpad-empty")

	x.click("nav a[href='/source-control']")
	x.screenshot("source-control-empty")
	x.do(chromedp.Click(chromedp.CSS("details.setup > summary")), chromedp.WaitVisible(chromedp.ID("choose-gitlab")))
	x.click("#choose-gitlab")
	if p := x.path(); p != "/source-control/gitlab/new" {
		t.Fatalf("GitLab choice opened %s", p)
	}
	x.do(
		chromedp.SendKeys(chromedp.ID("name"), "Acme GitLab"),
		chromedp.SendKeys(chromedp.ID("api_host"), h.SimURL),
		chromedp.SendKeys(chromedp.ID("token"), "glpat-this-token-does-not-exist"),
		chromedp.SendKeys(chromedp.ID("labels"), "prod, team-a"),
		chromedp.SendKeys(chromedp.ID("description"), "Our **main** GitLab"),
	)
	x.click("#submit")
	if errText := x.text("#token-error"); !strings.Contains(errText, "GitLab rejected the token") {
		t.Errorf("token error = %q", errText)
	}
	if got := [...]string{x.value("#name"), x.value("#api_host"), x.value("#labels"), x.value("#description"), x.value("#token")}; got != [...]string{"Acme GitLab", h.SimURL, "prod, team-a", "Our **main** GitLab", ""} {
		t.Errorf("after the error the form holds %q; want the fields kept and the token empty", got)
	}
	if n := x.count("#type-default:checked"); n != 1 {
		t.Error("integration type not kept")
	}
	x.screenshot("integration-form-error")

	x.do(chromedp.SendKeys(chromedp.ID("token"), h.Token(gitlabsim.TokenOptions{})))
	x.click("#submit")
	if p := x.path(); p != "/source-control/gitlab/acme-gitlab?done=created" {
		t.Fatalf("after Set up: %s (%s)", p, x.text("main"))
	}

	x.click("nav a[href='/launchpad']")
	if x.count("#step-1.done") != 1 || !strings.Contains(x.text("#step-1"), "Complete") {
		t.Errorf("LaunchPad step 1 not complete after the integration: %q", x.text("#step-1"))
	}
	x.screenshot("launchpad-step1")

	x.click("nav a[href='/source-control']")
	if row := x.text("#integration-acme-gitlab"); !strings.Contains(row, "Default") || !strings.Contains(row, "prod") || !strings.Contains(row, h.SimURL) {
		t.Errorf("list row = %q", row)
	}
	x.screenshot("source-control")
	x.do(chromedp.Click(chromedp.CSS("#integration-acme-gitlab summary.dots")), chromedp.WaitVisible(chromedp.CSS("#integration-acme-gitlab a.see-details")))
	x.screenshot("source-control-menu")
	x.click("#integration-acme-gitlab a.see-details")

	var api map[string]any
	h.api("GET", "/api/v1/integrations/gitlab/acme-gitlab", nil, http.StatusOK, &api)
	if got, want := x.value("#webhook-endpoint"), h.App.PublicURL()+"/webhooks/gitlab/acme-gitlab"; got != want {
		t.Errorf("endpoint = %q, want %q", got, want)
	}
	if got := x.value("#webhook-secret"); got == "" || got != api["webhook_secret"] {
		t.Errorf("secret on the page = %q, API says %v", got, api["webhook_secret"])
	}
	if u := x.text("#token-user"); u != "hoist-bot" {
		t.Errorf("token user = %q", u)
	}
	if md := x.count(".markdown strong"); md != 1 {
		t.Error("description markdown not rendered")
	}
	x.do(chromedp.Click(chromedp.CSS("button.copy[data-copy='webhook-secret']")))
	x.do(chromedp.Poll[chromedp.Void](`document.getElementById("copy-status").textContent.includes("Copied")`))
	x.screenshot("integration-details")
}

// TestSecondIntegrationForm is issue 14 item 9 in a browser: with a
// default integration in place the form starts on Space (Default is
// disabled and says why), and a pasted token survives an error about
// another field, so fixing that field is enough.
func TestSecondIntegrationForm(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.createIntegration("Acme GitLab")
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	x.navigate("/source-control/gitlab/new", base)
	if x.count("#type-space:checked") != 1 || x.count("#type-default:disabled") != 1 {
		t.Fatal("with a default integration in place, the form does not start on Space with Default disabled")
	}
	if hint := x.text("#type-hint"); !strings.Contains(hint, "Acme GitLab is the default integration already") {
		t.Errorf("type hint = %q", hint)
	}
	token := h.Token(gitlabsim.TokenOptions{})
	x.do(
		chromedp.SendKeys(chromedp.ID("name"), "Team GitLab"),
		chromedp.SetValue(chromedp.ID("space"), "root"),
		chromedp.SendKeys(chromedp.ID("api_host"), "gitlab.example.com"), // no scheme: refused
		chromedp.SendKeys(chromedp.ID("token"), token),
	)
	x.click("#submit")
	if errText := x.text("#api_host-error"); !strings.Contains(errText, "https://") {
		t.Errorf("api host error = %q", errText)
	}
	if got := x.value("#token"); got != token {
		t.Errorf("after an API host error the token field holds %d characters, want the pasted token back", len(got))
	}
	if x.count("#type-space:checked") != 1 || x.value("#space") != "root" {
		t.Error("the space choice was not kept")
	}
	x.do(chromedp.SetValue(chromedp.ID("api_host"), h.SimURL))
	x.click("#submit") // the token is not typed again
	if p := x.path(); p != "/source-control/gitlab/team-gitlab?done=created" {
		t.Fatalf("after fixing the host: %s (%s)", p, x.text("main"))
	}
	if typ := x.text("main dl.facts"); !strings.Contains(typ, "Space-specific") {
		t.Errorf("details of the new integration: %q", typ)
	}
}

// TestReaderBrowser: a reader sees the integration listed, without the ⋯
// menu, and is refused the details page.
func TestReaderBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	pw := h.createUser("reader", "read")
	x := tabT{t: t, ctx: tab(t)}
	base := h.URL

	x.navigate("/login", base)
	x.screenshot("login")
	x.login(base, "reader", pw)
	x.click("nav a[href='/source-control']")
	if row := x.text("#integration-acme-gitlab"); !strings.Contains(row, "Acme GitLab") {
		t.Fatalf("reader's list row = %q", row)
	}
	if n := x.count("summary.dots") + x.count("a.see-details") + x.count("details.setup"); n != 0 {
		t.Errorf("reader sees %d menu elements", n)
	}
	x.screenshot("source-control-reader")
	x.navigate("/source-control/gitlab/acme-gitlab", base)
	if h1 := x.text("h1"); h1 != "Not allowed" {
		t.Errorf("reader on the details page sees %q", h1)
	}
	html, err := chromedp.Run(x.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, it["webhook_secret"].(string)) {
		t.Error("the webhook secret reached the reader's browser")
	}
}

// TestStacksAndDetach: the stack pages, LaunchPad step 3, and the delete
// confirmation that names the stacks a delete detaches.
func TestStacksAndDetach(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	ctx := t.Context()
	h.createIntegration("Acme GitLab")
	p, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"prod/main.tf": "\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	head, err := h.Sim.ResolveRef(ctx, p.PathWithNamespace, "main")
	if err != nil {
		t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Prod", "space": "root", "integration": "acme-gitlab",
		"repository": "acme/infra", "branch": "main", "project_root": "prod", "labels": []string{"eu"}}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.login(base, "admin", h.AdminPassword)
	if x.count("#step-1.done") != 1 || x.count("#step-3.done") != 1 {
		t.Errorf("LaunchPad: steps 1 and 3 should be complete: %q", x.text("ol.steps"))
	}
	x.click("nav a[href='/stacks']")
	link, err := chromedp.Run(x.ctx, chromedp.AttributeValue(chromedp.CSS("#stack-prod td.host a"), "href"))
	if err != nil || link.Value != h.SimURL+"/acme/infra" {
		t.Errorf("repository link = %+v, %v; want %s/acme/infra", link, err, h.SimURL)
	}
	x.screenshot("stacks")
	x.click("#stack-prod a[href='/stacks/prod']")
	if got := x.text("#tracked-commit code"); got != head[:8] {
		t.Errorf("tracked commit = %q, want %q", got, head[:8])
	}
	x.screenshot("stack")

	x.navigate("/source-control/gitlab/acme-gitlab/delete", base)
	if got := x.text("#detach-stacks"); !strings.Contains(got, "Prod") || !strings.Contains(got, "acme/infra") {
		t.Errorf("delete confirmation lists %q, want the stack Prod", got)
	}
	x.screenshot("integration-delete")
	x.click("#confirm-delete")
	if got := x.path(); got != "/source-control?done=deleted" {
		t.Errorf("after delete: %s", got)
	}
	x.navigate("/stacks/prod", base)
	if got := x.text("#detached"); !strings.Contains(got, "acme-gitlab") {
		t.Errorf("detached stack says %q", got)
	}
}
