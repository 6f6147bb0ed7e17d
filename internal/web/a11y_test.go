package web_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// axeScript is axe-core (npm), which scripts/test.sh installs into
// .tools/axe; the browser tests inject it into each page.
func axeScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(apptest.RepoRoot(), ".tools", "axe", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed at %s; scripts/test.sh installs it (npm install axe-core)", p)
		}
		t.Skipf("accessibility check skipped: axe-core is not installed at %s (scripts/test.sh installs it)", p)
	}
	return string(b)
}

// axeViolation is one rule axe found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessibility runs axe-core on the current page (WCAG 2.1 A and
// AA rules) and returns its serious and critical violations.
func (x tabT) checkAccessibility(axe string) []axeViolation {
	x.t.Helper()
	if _, err := chromedp.Run(x.ctx, chromedp.Evaluate[bool](axe+"\n;true")); err != nil {
		x.t.Fatalf("inject axe-core: %v (at %s)", err, x.location())
	}
	got, err := chromedp.Run(x.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
		resultTypes: ["violations"]
	}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
		id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))
	})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		x.t.Fatalf("run axe-core: %v (at %s)", err, x.location())
	}
	return got
}

// TestPagesAccessibleAndScreenshots is issue 19's acceptance 2 and 3: every
// page of the UI, as an admin with a stack, a run waiting for confirmation
// and a user, has no serious or critical axe-core violation, and a
// screenshot at 1280 and 390 px lands in testout/screenshots.
func TestPagesAccessibleAndScreenshots(t *testing.T) {
	t.Parallel()
	axe := axeScript(t)
	h := setup(t, inproc.Runs(t))
	h.runStack(`resource "terraform_data" "hello" { input = "hello" }`+"\n", false)
	var waiting struct{ ID, State string }
	h.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &waiting)
	apptest.Eventually(t, 90*time.Second, "run "+waiting.ID+" to wait for a confirmation", func() error {
		if waiting.State == "UNCONFIRMED" {
			return nil
		}
		h.api("GET", "/api/v1/runs/"+waiting.ID, nil, http.StatusOK, &waiting)
		return fmt.Errorf("it is %s", waiting.State)
	})
	// A delivery for the delivery page: a push that changes no stack.
	var itd struct {
		WebhookEndpoint string `json:"webhook_endpoint"`
		WebhookSecret   string `json:"webhook_secret"`
	}
	h.api("GET", "/api/v1/integrations/gitlab/acme-gitlab", nil, http.StatusOK, &itd)
	if _, err := h.Sim.AddHook(t.Context(), "acme/infra", gitlabsim.HookOptions{URL: itd.WebhookEndpoint, Token: itd.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Sim.Push(t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "Docs", Actions: []gitlabsim.FileAction{{Action: "create", Path: "README.md", Content: "# infra\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	var delivery string
	apptest.Eventually(t, 30*time.Second, "the push's delivery processed", func() bool {
		var page struct{ Items []struct{ ID, Status string } }
		h.api("GET", "/api/v1/deliveries?integration=acme-gitlab", nil, http.StatusOK, &page)
		for _, d := range page.Items {
			if d.Status == "processed" || d.Status == "ignored" {
				delivery = d.ID
				return true
			}
		}
		return false
	})
	h.createUser("rita", "read")
	var mapping struct{ ID string }
	h.api("POST", "/api/v1/role-mappings", map[string]any{"group": "acme/platform", "space": "root", "role": "read"}, http.StatusCreated, &mapping)
	var integrations struct{ Items []struct{ ID string } }
	h.api("GET", "/api/v1/integrations", nil, http.StatusOK, &integrations)
	if len(integrations.Items) != 1 {
		t.Fatalf("integrations: %+v", integrations.Items)
	}
	it := integrations.Items[0].ID
	h.api("POST", "/api/v1/notification-targets", map[string]any{"name": "Ops", "space": "root", "kind": "slack",
		"url": "https://hooks.example.com/services/x", "events": []string{"run_failed"}}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	base := h.URL
	x.navigate("/login", base)
	pages := []struct{ name, path string }{{"login", "/login"}}
	check := func(name, path string) {
		t.Helper()
		x.navigate(path, base)
		for _, v := range x.checkAccessibility(axe) {
			t.Errorf("%s (%s): %s %s — %s at %s", name, path, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
		x.screenshot("page-" + name)
	}
	check("login", "/login")
	x.login(base, "admin", h.AdminPassword)
	pages = append(pages[:0],
		struct{ name, path string }{"launchpad", "/launchpad"},
		struct{ name, path string }{"source-control", "/source-control"},
		struct{ name, path string }{"integration", "/source-control/gitlab/" + it},
		struct{ name, path string }{"integration-new", "/source-control/gitlab/new"},
		struct{ name, path string }{"integration-edit", "/source-control/gitlab/" + it + "/edit"},
		struct{ name, path string }{"integration-delete", "/source-control/gitlab/" + it + "/delete"},
		struct{ name, path string }{"agent-pools", "/source-control/vcs-agent-pools"},
		struct{ name, path string }{"delivery", "/source-control/deliveries/" + delivery},
		struct{ name, path string }{"stacks", "/stacks"},
		struct{ name, path string }{"stack", "/stacks/web"},
		struct{ name, path string }{"stack-new", "/stacks/new"},
		struct{ name, path string }{"stack-edit", "/stacks/web/edit"},
		struct{ name, path string }{"stack-delete", "/stacks/web/delete"},
		struct{ name, path string }{"runs", "/runs"},
		struct{ name, path string }{"runs-attention", "/runs?attention=1"},
		struct{ name, path string }{"run", "/runs/" + waiting.ID},
		struct{ name, path string }{"modules", "/modules"},
		struct{ name, path string }{"admin-users", "/admin/users"},
		struct{ name, path string }{"admin-api-keys", "/admin/api-keys"},
		struct{ name, path string }{"admin-spaces", "/admin/spaces"},
		struct{ name, path string }{"admin-role-mappings", "/admin/role-mappings"},
		struct{ name, path string }{"admin-role-mapping-delete", "/admin/role-mappings/" + mapping.ID + "/delete"},
		struct{ name, path string }{"admin-audit", "/admin/audit"},
		struct{ name, path string }{"account-api-keys", "/account/api-keys"},
		struct{ name, path string }{"admin-notifications", "/admin/notifications"},
		struct{ name, path string }{"notification-target", "/admin/notifications/ops"},
		struct{ name, path string }{"not-found", "/no/such/page"},
	)
	for _, p := range pages {
		check(p.name, p.path)
	}
	// The run page's resource diff: the attribute the plan sets, its new
	// value, and what only the apply will know.
	x.navigate("/runs/"+waiting.ID, base)
	x.do(chromedp.Click(chromedp.CSS("#resources details.attr-changes summary")))
	if d := x.text("#resources"); x.count("#resources details.attr-changes") != 1 || !strings.Contains(d, "input") ||
		!strings.Contains(d, `"hello"`) || !strings.Contains(d, "(known after apply)") {
		t.Errorf("the run's resource diff: %q", d)
	}
}
