package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// pushAndWait pushes one commit changing infra/main.tf with message and
// waits until Hoist processed the push; it returns the delivery's id.
func (h *harness) pushAndWait(message string) string {
	h.t.Helper()
	if _, err := h.Sim.Push(h.t.Context(), gitlabsim.PushOptions{Project: "acme/infra", Branch: "main",
		Commits: []gitlabsim.CommitSpec{{Message: message, Actions: []gitlabsim.FileAction{{Action: "update", Path: "infra/main.tf", Content: "# " + message[:min(len(message), 20)] + "\n"}}}}}); err != nil {
		h.t.Fatal(err)
	}
	var id string
	waitPage(h.t, "the push processed", func() bool {
		var page struct {
			Items []struct{ ID, Status, Event string }
		}
		h.api("GET", "/api/v1/deliveries?integration=acme-gitlab", nil, http.StatusOK, &page)
		for _, d := range page.Items {
			if d.Event == "Push Hook" && d.Status == "processed" {
				id = d.ID
				return true
			}
		}
		return false
	})
	return id
}

// loggedIn creates a user with role on root, logs it in and returns its
// client and a CSRF token of its session.
func (h *harness) loggedIn(name, role string) (*client, string) {
	h.t.Helper()
	pw := h.createUser(name, role)
	c := h.client()
	c.mustLogin(name, pw)
	return c, csrf(h.t, c.get("/launchpad"))
}

var runLinkRe = regexp.MustCompile(`<a href="/runs/([0-9a-zA-Z]+)" class="run-link">`)

// TestDeliveryPage: one delivery with its headers (never the secret
// token), each stack's decision and reason, the run it created, the push
// policy's evaluation (escaped) and its payload cut to a bound; Redeliver
// adds a processing, listed above the first with its own decisions.
func TestDeliveryPage(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	h.infraStack(it, gitlabsim.HookOptions{})
	h.api("POST", "/api/v1/policies", map[string]any{"name": "Look", "type": "push", "space": "root",
		"labels": []string{"autoattach:*"}, "body": "package hoist\n\nmessage contains \"<i>looked</i> at the push\" if true\n"}, http.StatusCreated, nil)
	// A commit message of 100 KiB makes a payload beyond what the page shows.
	id := h.pushAndWait("big change " + strings.Repeat("x", 100<<10))
	secret := it["webhook_secret"].(string)

	admin, details, post := adminOn(t, h, "/source-control/gitlab/acme-gitlab")
	if !strings.Contains(details.body, `<a href="/source-control/deliveries/`+id+`" class="delivery-link">`) {
		t.Errorf("the details page does not link the delivery's page:\n%s", cardOf(details.body, `id="deliveries"`))
	}
	p := admin.get("/source-control/deliveries/" + id)
	if p.status != http.StatusOK {
		t.Fatalf("delivery page = %d:\n%.1500s", p.status, p.body)
	}
	for _, want := range []string{"<dt class=\"mono\">X-Gitlab-Event</dt><dd class=\"mono\">Push Hook</dd>", "X-Gitlab-Event-Uuid",
		`data-stack="infra" data-result="created"`, "push to tracked branch main", `id="payload-cut"`, "KiB; this shows its first 64.0 KiB",
		`<code>look</code>`, "&lt;i&gt;looked&lt;/i&gt; at the push", `id="redeliver"`, `<a href="/source-control/gitlab/acme-gitlab">Acme GitLab</a>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the delivery page lacks %q:\n%.300s", want, cardOf(p.body, "payload-cut"))
		}
	}
	if strings.Contains(p.body, secret) || strings.Contains(strings.ToLower(p.body), "x-gitlab-token</dt>") || strings.Contains(p.body, "<i>looked") {
		t.Error("the delivery page shows the webhook secret, or a policy's message as HTML")
	}
	if len(p.body) > 100<<10 {
		t.Errorf("the delivery page is %d bytes: the payload is not bounded", len(p.body))
	}
	m := runLinkRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no run link:\n%s", cardOf(p.body, `id="processings"`))
	}
	var run struct{ ID, Stack string }
	h.api("GET", "/api/v1/runs/"+m[1], nil, http.StatusOK, &run)
	if run.Stack != "infra" {
		t.Errorf("the linked run %s is of stack %q", m[1], run.Stack)
	}

	if r := post("/source-control/deliveries/"+id+"/redeliver", url.Values{}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/source-control/deliveries/"+id+"?done=redelivered" {
		t.Fatalf("redeliver = %d %s:\n%.1000s", r.status, r.header.Get("Location"), r.body)
	}
	if r := admin.get("/source-control/deliveries/" + id + "?done=redelivered"); !strings.Contains(r.body, "Redelivery queued") {
		t.Error("no flash after the redelivery")
	}
	waitPage(t, "the redelivery processed", func() bool {
		p = admin.get("/source-control/deliveries/" + id)
		return strings.Count(p.body, `data-status="processed"`) == 2
	})
	newest, oldest, _ := strings.Cut(p.body, `data-trigger="received"`)
	if !strings.Contains(newest, `data-trigger="redelivered"`) || !strings.Contains(newest, "Redelivered by user:admin") ||
		!strings.Contains(newest, `data-result="deduplicated"`) || !strings.Contains(oldest, `data-result="created"`) {
		t.Errorf("the processings are not listed newest first with their own decisions:\n%s", cardOf(p.body, `id="processings"`))
	}
	h.AssertNoTokenLeaked()
}

// TestDeliveryPageRefusals: readers and writers of the space get 404 for
// a delivery of an integration whose details they may not see (as from
// the API, which does not reveal it exists) and cannot redeliver; an
// unknown id is 404; a post without the CSRF token is 403; an ignored
// event offers no Redeliver and refuses one with the reason.
func TestDeliveryPageRefusals(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	it := h.createIntegration("Acme GitLab")
	h.infraStack(it, gitlabsim.HookOptions{})
	id := h.pushAndWait("change")

	writer, token := h.loggedIn("writer", "write")
	if p := writer.get("/source-control/deliveries/" + id); p.status != http.StatusNotFound || !strings.Contains(p.body, `<nav aria-label="Main">`) {
		t.Errorf("a writer's delivery page = %d, want 404 with the navigation", p.status)
	}
	if p := writer.post("/source-control/deliveries/"+id+"/redeliver", url.Values{"csrf_token": {token}}); p.status != http.StatusNotFound {
		t.Errorf("a writer's redeliver = %d, want 404", p.status)
	}

	admin, _, post := adminOn(t, h, "/source-control/gitlab/acme-gitlab")
	if p := admin.get("/source-control/deliveries/01NOSUCHDELIVERY0000000000"); p.status != http.StatusNotFound {
		t.Errorf("an unknown delivery = %d, want 404", p.status)
	}
	if p := admin.post("/source-control/deliveries/"+id+"/redeliver", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("a redeliver without the CSRF token = %d, want 403", p.status)
	}
	var d struct{ Processings []any }
	h.api("GET", "/api/v1/deliveries/"+id, nil, http.StatusOK, &d)
	if len(d.Processings) != 1 {
		t.Errorf("refused redeliveries added processings: %d", len(d.Processings))
	}

	// An event Hoist ignores, sent as GitLab would.
	req, err := http.NewRequestWithContext(t.Context(), "POST", it["webhook_endpoint"].(string), bytes.NewReader([]byte(`{"object_kind":"build"}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Gitlab-Event", "Job Hook")
	req.Header.Set("X-Gitlab-Token", it["webhook_secret"].(string))
	req.Header.Set("Content-Type", "application/json")
	res, err := h.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var page struct{ Items []struct{ ID, Event string } }
	h.api("GET", "/api/v1/deliveries?integration=acme-gitlab", nil, http.StatusOK, &page)
	if len(page.Items) != 2 || page.Items[0].Event != "Job Hook" {
		t.Fatalf("deliveries after the job event (%d): %+v", res.StatusCode, page.Items)
	}
	ignored := page.Items[0].ID
	if p := admin.get("/source-control/deliveries/" + ignored); p.status != http.StatusOK || strings.Contains(p.body, `id="redeliver"`) ||
		!strings.Contains(p.body, "nothing to redeliver") {
		t.Errorf("an ignored delivery's page = %d:\n%.2000s", p.status, p.body)
	}
	if p := post("/source-control/deliveries/"+ignored+"/redeliver", url.Values{}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Hoist ignores") {
		t.Errorf("redeliver an ignored event = %d:\n%.1500s", p.status, p.body)
	}
}
