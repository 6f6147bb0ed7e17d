package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Personal API keys on /account/api-keys (issue 20): any logged-in user
// creates one (the secret shown once), with a required expiry at most 366
// days away; the key acts with the user's roles (a reader's key cannot
// write); only its owner sees and deletes it; root admins see it marked
// personal.
func TestAccountAPIKeys(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	rita := h.client()
	rita.mustLogin("rita", h.createUser("rita", "read"))
	page := rita.get("/account/api-keys")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="no-keys"`) ||
		!strings.Contains(page.body, `<a href="/account/api-keys" class="who-keys" aria-current="page">`) ||
		!strings.Contains(page.body, `<span class="label">root: read</span>`) {
		t.Fatalf("account keys page = %d:\n%.3000s", page.status, page.body)
	}
	token := csrf(t, page)
	post := func(path string, f url.Values) resp {
		t.Helper()
		f.Set("csrf_token", token)
		return rita.post(path, f)
	}
	day := func(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly) }
	wantField(t, "no name", post("/account/api-keys", url.Values{"name": {""}, "expires_at": {day(30)}}), http.StatusBadRequest, "name", "required")
	wantField(t, "no expiry", post("/account/api-keys", url.Values{"name": {"laptop"}}), http.StatusBadRequest, "expires_at", "is required")
	wantField(t, "an expiry in the past", post("/account/api-keys", url.Values{"name": {"laptop"}, "expires_at": {"2001-01-01"}}),
		http.StatusBadRequest, "expires_at", "must be in the future")
	p := post("/account/api-keys", url.Values{"name": {"laptop"}, "expires_at": {day(400)}})
	wantField(t, "an expiry 400 days out", p, http.StatusBadRequest, "expires_at", "at most 366 days")
	if !strings.Contains(p.body, `value="laptop"`) {
		t.Error("the name is not kept after a refusal")
	}

	p = post("/account/api-keys", url.Values{"name": {"laptop"}, "expires_at": {day(30)}})
	m := keySecretRe.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create = %d, no secret:\n%.2000s", p.status, p.body)
	}
	secret := m[1]
	h.WatchSecret(secret)
	h.Must(http.StatusOK, "GET", "/api/v1/spaces", secret, nil)
	h.Must(http.StatusForbidden, "POST", "/api/v1/spaces", secret, map[string]any{"name": "Mine", "parent": "root"})
	var mine struct{ Items []struct{ ID, Name string } }
	h.Must(http.StatusOK, "GET", "/api/v1/me/api-keys", secret, nil).Decode(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].Name != "laptop" {
		t.Fatalf("the key's own list = %+v", mine.Items)
	}
	id := mine.Items[0].ID
	if list := rita.get("/account/api-keys"); strings.Contains(list.body, secret) || !strings.Contains(list.body, `<tr id="key-`+id+`">`) ||
		!strings.Contains(list.body, day(30)) {
		t.Errorf("the list shows the secret again, or not the key and its expiry:\n%.3000s", list.body)
	}
	admin, keys, _ := adminOn(t, h, "/admin/api-keys")
	if !strings.Contains(keys.body, "personal key of rita") || !strings.Contains(keys.body, `href="/admin/api-keys/`+id+`/revoke"`) {
		t.Errorf("the admin's key list does not mark rita's key personal:\n%.3000s", keys.body)
	}

	// Someone else's key is not found, to look at or to delete.
	walt := h.client()
	walt.mustLogin("walt", h.createUser("walt", "write"))
	other := walt.get("/account/api-keys")
	if p := walt.get("/account/api-keys/" + id + "/delete"); p.status != http.StatusNotFound {
		t.Errorf("walt's look at rita's key = %d", p.status)
	}
	if p := walt.post("/account/api-keys/"+id+"/delete", url.Values{"csrf_token": {csrf(t, other)}}); p.status != http.StatusNotFound {
		t.Errorf("walt deleting rita's key = %d", p.status)
	}
	if p := admin.get("/account/api-keys"); p.status != http.StatusOK || strings.Contains(p.body, `id="key-`+id+`"`) {
		t.Errorf("the admin's own keys page = %d, or shows rita's key", p.status)
	}

	confirm := rita.get("/account/api-keys/" + id + "/delete")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `id="confirm-delete"`) {
		t.Fatalf("delete page = %d", confirm.status)
	}
	if p := post("/account/api-keys/"+id+"/delete", url.Values{}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/account/api-keys?done=personal-key-deleted" {
		t.Fatalf("delete = %d %s", p.status, p.header.Get("Location"))
	}
	h.Must(http.StatusUnauthorized, "GET", "/api/v1/spaces", secret, nil)
	if p := rita.get("/account/api-keys?done=personal-key-deleted"); strings.Contains(p.body, `id="key-`+id+`"`) || !strings.Contains(p.body, "API key deleted") {
		t.Error("the deleted key is still listed, or no flash")
	}
	h.AssertNoTokenLeaked()
}

// TestAccountAPIKeyCeiling: the create form limits a key to a role and
// to spaces; the list shows each key's limits; a bad choice is named next
// to its field.
func TestAccountAPIKeyCeiling(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Platform", "parent": "root"}, http.StatusCreated, nil)
	admin := h.client()
	admin.mustLogin("admin", h.AdminPassword)
	page := admin.get("/account/api-keys")
	if !strings.Contains(page.body, `<select id="max_role" name="max_role"`) || !strings.Contains(page.body, `name="spaces" value="platform"`) {
		t.Fatalf("no ceiling fields on the form:\n%.4000s", page.body)
	}
	token := csrf(t, page)
	day := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	p := admin.post("/account/api-keys", url.Values{"csrf_token": {token}, "name": {"ro"}, "expires_at": {day},
		"max_role": {"read"}, "spaces": {"platform"}})
	m := keySecretRe.FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || m == nil {
		t.Fatalf("create = %d:\n%.3000s", p.status, p.body)
	}
	h.WatchSecret(m[1])
	// The owner is root admin; the key reads platform only.
	h.Must(http.StatusOK, "GET", "/api/v1/spaces/platform", m[1], nil)
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/spaces/platform", m[1], map[string]any{"description": "x"})
	h.Must(http.StatusNotFound, "GET", "/api/v1/spaces/root", m[1], nil)
	if list := admin.get("/account/api-keys"); !strings.Contains(list.body, `<span class="label">at most read</span> in <span class="label">platform</span>`) ||
		!strings.Contains(list.body, `<th scope="col">Limits</th>`) {
		t.Errorf("the list does not show the key's limits:\n%.4000s", list.body)
	}
	if keys := admin.get("/admin/api-keys"); !strings.Contains(keys.body, `<span class="muted">limited to</span> <span class="label">at most read</span>`) {
		t.Errorf("the admin's key list does not show the limits:\n%.4000s", keys.body)
	}
	// Logged in with the limited key: the list, without the means to
	// create or delete.
	limited := h.client()
	limited.mustLoginKey(m[1])
	if p := limited.get("/account/api-keys"); p.status != http.StatusOK || !strings.Contains(p.body, `id="limited-key"`) ||
		strings.Contains(p.body, `id="new-key"`) || strings.Contains(p.body, `class="revoke"`) {
		t.Errorf("the limited key's page = %d:\n%.4000s", p.status, p.body)
	}
	p = admin.post("/account/api-keys", url.Values{"csrf_token": {token}, "name": {"bad"}, "expires_at": {day}, "max_role": {"owner"}})
	wantField(t, "an unknown role", p, http.StatusBadRequest, "max_role", "role must be read, write or admin")
	p = admin.post("/account/api-keys", url.Values{"csrf_token": {token}, "name": {"bad"}, "expires_at": {day}, "spaces": {"nowhere"}})
	wantField(t, "an unknown space", p, http.StatusBadRequest, "spaces", `no space &#34;nowhere&#34;`)
	h.AssertNoTokenLeaked()
}

// TestAccountKeysLinkForKeySessions: a session logged in with an ordinary
// API key has no user to own personal keys, so it is not offered "Your
// API keys" (the page would refuse it, and says why); a session of a
// personal key is offered the page and it works.
func TestAccountKeysLinkForKeySessions(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	var key struct{ ID, Secret string }
	h.api("POST", "/api/v1/api-keys", map[string]any{"name": "kiosk", "roles": []map[string]string{{"space": "root", "role": "read"}}},
		http.StatusCreated, &key)
	byKey := h.client()
	byKey.mustLoginKey(key.Secret)
	if p := byKey.get("/stacks"); p.status != http.StatusOK || strings.Contains(p.body, `href="/account/api-keys"`) {
		t.Errorf("an ordinary key's session: %d, or offered Your API keys", p.status)
	}
	if p := byKey.get("/account/api-keys"); p.status != http.StatusForbidden || !strings.Contains(p.body, "an ordinary API key has no user") {
		t.Errorf("an ordinary key's session on the page = %d:\n%.2000s", p.status, p.body)
	}

	rita := h.client()
	rita.mustLogin("rita", h.createUser("rita", "read"))
	page := rita.get("/account/api-keys")
	day := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	p := rita.post("/account/api-keys", url.Values{"csrf_token": {csrf(t, page)}, "name": {"laptop"}, "expires_at": {day}})
	m := keySecretRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("create = %d", p.status)
	}
	h.WatchSecret(m[1])
	byPersonal := h.client()
	byPersonal.mustLoginKey(m[1])
	if p := byPersonal.get("/stacks"); !strings.Contains(p.body, `href="/account/api-keys"`) {
		t.Error("a personal key's session is not offered Your API keys")
	}
	if p := byPersonal.get("/account/api-keys"); p.status != http.StatusOK || !strings.Contains(p.body, `id="key-`) {
		t.Errorf("a personal key's session on the page = %d", p.status)
	}
	h.AssertNoTokenLeaked()
}
