package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCreateModuleInBrowser: an admin opens Modules from the navigation,
// submits the form with a bad provider (the message appears next to the
// field, the rest kept), fixes it, and lands on the module's page with
// its usage snippet; the API has the module.
func TestCreateModuleInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.moduleProject()
	x := tabT{t: t, ctx: tab(t)}
	x.login(h.URL, "admin", h.AdminPassword)
	x.click("nav a[href='/modules']")
	if x.count("#no-modules") != 1 {
		t.Fatal("no empty state on the modules page")
	}
	x.do(
		chromedp.SendKeys(chromedp.ID("module-name"), "Network VPC"),
		chromedp.SendKeys(chromedp.ID("module-provider"), "AWS"),
		chromedp.SetValue(chromedp.ID("module-space"), "platform"),
		chromedp.SendKeys(chromedp.ID("module-repository"), "acme/modules"),
		chromedp.SendKeys(chromedp.ID("module-project-root"), "modules/greeting"),
	)
	x.click("#create-module")
	if e := x.text("#provider-error"); !strings.Contains(e, "lower-case letters and digits") {
		t.Fatalf("provider error = %q", e)
	}
	if v := x.value("#module-name"); v != "Network VPC" {
		t.Errorf("the name typed became %q", v)
	}
	x.screenshot("modules-create-error")
	x.do(chromedp.SetValue(chromedp.ID("module-provider"), "aws"))
	x.click("#create-module")
	if p := x.path(); p != "/modules/network-vpc?done=created" {
		t.Fatalf("after creating: %s", p)
	}
	if s := x.value("#usage-snippet"); !strings.Contains(s, `module "network_vpc"`) || !strings.Contains(s, "/platform/network-vpc/aws\"") {
		t.Errorf("usage snippet = %q", s)
	}
	x.screenshot("module")
	var m struct {
		Source, Branch string
		ProjectRoot    string `json:"project_root"`
	}
	h.api("GET", "/api/v1/modules/network-vpc", nil, http.StatusOK, &m)
	if m.Source != "platform/network-vpc/aws" || m.Branch != "main" || m.ProjectRoot != "modules/greeting" {
		t.Errorf("the module created: %+v", m)
	}
}
