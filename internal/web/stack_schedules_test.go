package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStackSchedulesCard: the stack page lists the stack's schedules; its
// admins add one with the form (a refusal shows the API's message next
// to the field) and delete it.
func TestStackSchedulesCard(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "repository": "acme/infra", "branch": "main"}, http.StatusCreated, nil)
	admin, page, post := adminOn(t, h, "/stacks/infra")
	if !strings.Contains(page.body, `id="no-schedules"`) || !strings.Contains(page.body, `id="schedule-form"`) {
		t.Fatalf("the schedules card of a stack without schedules:\n%.3000s", page.body)
	}
	bad := post("/stacks/infra/schedules", url.Values{"kind": {"drift"}, "cron": {"@every 1m"}, "time_zone": {"UTC"}})
	wantField(t, "an @every cron", bad, http.StatusBadRequest, "schedule-cron", "@every is not supported")
	bad = post("/stacks/infra/schedules", url.Values{"kind": {"drift"}, "cron": {"@daily"}, "time_zone": {"Nowhere/Land"}})
	wantField(t, "an unknown zone", bad, http.StatusBadRequest, "schedule-zone", "unknown time zone")
	// The command is shell words: what a shell would run or expand is
	// refused next to the field, the line kept as typed.
	bad = post("/stacks/infra/schedules", url.Values{"kind": {"task"}, "cron": {"@daily"}, "time_zone": {"UTC"},
		"command": {"tofu state rm $(cat old.txt)"}})
	wantField(t, "a command substitution", bad, http.StatusBadRequest, "schedule-command", "command substitution ($(…) or backticks) is not run")
	if !strings.Contains(bad.body, `value="tofu state rm $(cat old.txt)"`) {
		t.Errorf("the refused command is not kept in the form:\n%.3000s", bad.body)
	}
	bad = post("/stacks/infra/schedules", url.Values{"kind": {"task"}, "cron": {"@daily"}, "time_zone": {"UTC"},
		"command": {"tofu state rm 'unclosed"}})
	wantField(t, "an unclosed quote", bad, http.StatusBadRequest, "schedule-command", "is not valid shell words")
	p := post("/stacks/infra/schedules", url.Values{"kind": {"task"}, "cron": {"0 4 * * *"}, "time_zone": {"Asia/Tokyo"},
		"command": {`tofu  state show 'aws_instance.web["a b"]'`}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/stacks/infra?done=schedule-created#schedules" {
		t.Fatalf("create = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	var list struct {
		Items []struct {
			ID      string
			Command []string
		}
	}
	h.api("GET", "/api/v1/stacks/infra/schedules", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || strings.Join(list.Items[0].Command, ",") != `tofu,state,show,aws_instance.web["a b"]` {
		t.Fatalf("schedules = %+v", list.Items)
	}
	id := list.Items[0].ID
	page = admin.get("/stacks/infra")
	if !strings.Contains(page.body, `<tr id="schedule-`+id+`">`) || !strings.Contains(page.body, "Asia/Tokyo") ||
		!strings.Contains(page.body, "<code>0 4 * * *</code>") ||
		!strings.Contains(page.body, `<code>tofu state show &#39;aws_instance.web[&#34;a b&#34;]&#39;</code>`) {
		t.Fatalf("schedules card:\n%.4000s", page.body)
	}
	if p := post("/stacks/infra/schedules/delete", url.Values{"schedule": {id}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete = %d", p.status)
	}
	if p := post("/stacks/infra/schedules/delete", url.Values{"schedule": {id}}); p.status != http.StatusNotFound {
		t.Errorf("deleting it again = %d, want 404", p.status)
	}
}
