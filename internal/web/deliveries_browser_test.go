package web_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestRedeliverInBrowser: an admin opens a push's delivery from the
// integration's details page, presses Redeliver, and the new processing
// appears above the first, deduplicating the run the first one created.
func TestRedeliverInBrowser(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.infraStack(h.createIntegration("Acme GitLab"), gitlabsim.HookOptions{})
	id := h.pushAndWait("change")
	x := tabT{t: t, ctx: tab(t)}
	x.login(h.URL, "admin", h.AdminPassword)
	x.navigate("/source-control/gitlab/acme-gitlab", h.URL)
	x.click("#deliveries a.delivery-link")
	if p := x.path(); p != "/source-control/deliveries/"+id {
		t.Fatalf("the delivery link opened %s", p)
	}
	if n := x.count("#processings li.pass"); n != 1 || x.text(".stack-decision[data-stack='infra'] td[data-label='Decision']") != "created" {
		t.Fatalf("before the redelivery: %d processings", n)
	}
	x.screenshot("delivery")
	x.click("#redeliver")
	if f := x.text(".flash"); !strings.Contains(f, "Redelivery queued") {
		t.Errorf("flash after Redeliver = %q", f)
	}
	waitPage(t, "the new processing on the page", func() bool {
		x.navigate("/source-control/deliveries/"+id, h.URL)
		return x.count("#processings li.pass[data-status='processed']") == 2
	})
	first := x.text("#processings li.pass:first-child")
	if !strings.Contains(first, "Redelivered by user:admin") || !strings.Contains(first, "deduplicated") {
		t.Errorf("the newest processing reads %q", first)
	}
}
