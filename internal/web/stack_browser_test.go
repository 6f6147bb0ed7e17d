package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestStackCreateInBrowser (issue 19, acceptance 1): from the LaunchPad,
// an admin creates a stack in the browser — the integration picker offers
// only what the chosen space may use, and a branch GitLab lacks is refused
// next to its field — then a push to the tracked branch in the GitLab
// simulator makes the stack's first run, which appears on its page.
func TestStackCreateInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.stackProject()
	if _, err := h.Sim.AddHook(t.Context(), "acme/infra", gitlabsim.HookOptions{URL: it["webhook_endpoint"].(string),
		Token: it["webhook_secret"].(string)}); err != nil {
		t.Fatal(err)
	}
	no := false
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team", "parent": "root", "inherit": &no}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/integrations/gitlab", map[string]any{"name": "Team GitLab", "space": "team",
		"api_host": h.SimURL, "token": h.Token(gitlabsim.TokenOptions{})}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	x.login(h.URL, "admin", h.AdminPassword)
	x.navigate("/launchpad", h.URL)
	x.click("#step-3 a.button")
	if p := x.path(); p != "/stacks/new" {
		t.Fatalf("the LaunchPad's Create the first stack led to %s", p)
	}
	if x.count("#integration option[value='team-gitlab']:not([disabled])") != 0 {
		t.Error("space root is offered Team's integration")
	}
	x.do(chromedp.SetValue(chromedp.ID("space"), "team"), chromedp.Evaluate[chromedp.Void](`document.getElementById("space").dispatchEvent(new Event("change"))`))
	if x.count("#integration option[value='team-gitlab']:not([disabled])") != 1 {
		t.Error("space team is not offered its own integration")
	}
	x.do(chromedp.SetValue(chromedp.ID("space"), "root"), chromedp.Evaluate[chromedp.Void](`document.getElementById("space").dispatchEvent(new Event("change"))`))
	if v := x.value("#integration"); v != "acme-gitlab" {
		t.Errorf("back in root the picker holds %q, want the default", v)
	}

	x.do(
		chromedp.SendKeys(chromedp.ID("name"), "Network"),
		chromedp.SendKeys(chromedp.ID("repository"), "acme/infra"),
		chromedp.SendKeys(chromedp.ID("branch"), "mian"),
		chromedp.SendKeys(chromedp.ID("project_root"), "infra"),
		chromedp.SendKeys(chromedp.ID("labels"), "eu"),
	)
	x.click("#save-stack")
	if e := x.text("#branch-error"); !strings.Contains(e, "mian") {
		t.Fatalf("a missing branch: error next to the field = %q", e)
	}
	x.screenshot("stack-new-refused")
	x.do(chromedp.SetValue(chromedp.ID("branch"), "main"))
	x.click("#save-stack")
	if p := x.path(); p != "/stacks/network?done=created" {
		t.Fatalf("after creating: %s (%q)", p, x.text("main"))
	}
	if x.count("#no-runs") != 1 || !strings.Contains(x.text(".flash"), "Stack created") {
		t.Errorf("the new stack's page: %q", x.text("main"))
	}

	if _, err := h.Sim.Push(t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: "network change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "infra/main.tf", Content: "# x\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	waitPage(t, "the stack's first run on its page", func() bool {
		x.navigate("/stacks/network", h.URL)
		return x.count("#runs tbody tr") == 1
	})
	if typ := x.text("#runs tbody td[data-label=Type]"); typ != "TRACKED" {
		t.Errorf("the first run's type = %q", typ)
	}
	x.screenshot("stack-first-run")
	x.navigate("/stacks", h.URL)
	if x.count("#stack-network .last-run .state") != 1 {
		t.Errorf("the list shows no last run for the stack: %q", x.text("#stacks"))
	}
	x.screenshot("stacks-list")
}

// TestStackDriftIssueAndTaskInBrowser: an admin turns the stack's drift
// issue on in the edit form (a label with a comma is refused next to its
// field, as the API refuses it), then off (labels left are refused), then
// adds a task schedule whose command
// quotes an argument with spaces; a command substitution is refused next
// to the command.
func TestStackDriftIssueAndTaskInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "repository": "acme/infra", "branch": "main"}, http.StatusCreated, nil)

	x := tabT{t: t, ctx: tab(t)}
	x.login(h.URL, "admin", h.AdminPassword)
	x.navigate("/stacks/infra/edit", h.URL)
	if now := x.text("#drift-inherit-now"); now != "(now off)" {
		t.Errorf("next to Follow the integration: %q; want the integration's setting", now)
	}
	x.do(chromedp.Click(chromedp.ID("drift_issue_mode-on")))
	x.do(chromedp.SendKeys(chromedp.ID("drift_issue_labels"), "drift\nteam,infra"))
	x.click("#save-stack")
	if e := x.text("#drift_issue_labels-error"); !strings.Contains(e, "labels must not hold a comma") {
		t.Fatalf("a label with a comma: error next to the field = %q", e)
	}
	x.do(chromedp.SetValue(chromedp.ID("drift_issue_labels"), "drift\nteam::infra"))
	x.click("#save-stack")
	if p := x.path(); p != "/stacks/infra?done=updated" {
		t.Fatalf("after saving: %s (%q)", p, x.text("main"))
	}
	var st struct {
		DriftIssue       bool     `json:"drift_issue"`
		DriftIssueLabels []string `json:"drift_issue_labels"`
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if !st.DriftIssue || strings.Join(st.DriftIssueLabels, ",") != "drift,team::infra" {
		t.Errorf("the stack's drift issue after the form = %+v", st)
	}

	if d := x.text("#drift-issue"); d != "on, labelled drift team::infra" {
		t.Errorf("the stack page's drift issue = %q", d)
	}
	// Off, by its label: the labels must go with it.
	x.navigate("/stacks/infra/edit", h.URL)
	x.do(chromedp.Click(chromedp.CSS(`label:has(#drift_issue_mode-off)`)))
	x.click("#save-stack")
	if e := x.text("#drift_issue_labels-error"); !strings.Contains(e, "needs drift_issue") {
		t.Fatalf("labels with the issue off: error next to the field = %q", e)
	}
	x.do(chromedp.Clear(chromedp.ID("drift_issue_labels")))
	x.click("#save-stack")
	if p := x.path(); p != "/stacks/infra?done=updated" {
		t.Fatalf("after saving off: %s (%q)", p, x.text("main"))
	}
	if d := x.text("#drift-issue"); d != "off, whatever the integration says" {
		t.Errorf("the stack page's drift issue turned off = %q", d)
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if st.DriftIssue || len(st.DriftIssueLabels) != 0 {
		t.Errorf("the stack's drift issue after turning it off = %+v", st)
	}
	x.navigate("/stacks/infra", h.URL)
	x.do(chromedp.SetValue(chromedp.ID("schedule-kind"), "task"), chromedp.SetValue(chromedp.ID("schedule-cron"), "@daily"),
		chromedp.SendKeys(chromedp.ID("schedule-command"), "tofu state rm $(cat old)"))
	x.click("#create-schedule")
	if e := x.text("#schedule-command-error"); !strings.Contains(e, "command substitution") {
		t.Fatalf("a command substitution: error next to the command = %q", e)
	}
	x.do(chromedp.SetValue(chromedp.ID("schedule-command"), `tofu state show 'aws_instance.web["a b"]'`))
	x.click("#create-schedule")
	if p := x.path(); p != "/stacks/infra?done=schedule-created#schedules" {
		t.Fatalf("after adding the schedule: %s (%q)", p, x.text("main"))
	}
	if c := x.text("#schedules tbody code"); !strings.Contains(c, `tofu state show 'aws_instance.web["a b"]'`) {
		t.Errorf("the schedule's command on the page = %q", c)
	}
	var list struct{ Items []struct{ Command []string } }
	h.api("GET", "/api/v1/stacks/infra/schedules", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || strings.Join(list.Items[0].Command, "|") != `tofu|state|show|aws_instance.web["a b"]` {
		t.Errorf("schedules = %+v", list.Items)
	}
}
