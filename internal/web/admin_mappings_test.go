package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Role mappings in the Administration area (issue 20): listed with their
// group, issuer (or any), space, role and who made them when; created
// with the API's refusals next to their fields; deleted after a
// confirmation; refused to anyone but a root admin.
func TestAdminRoleMappings(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Platform", "parent": "root"}, http.StatusCreated, nil)
	admin, page, post := adminOn(t, h, "/admin/role-mappings")
	if !strings.Contains(page.body, `id="no-mappings"`) || !strings.Contains(page.body, `<option value="platform">Platform (platform)</option>`) ||
		!strings.Contains(page.body, `<a href="/admin/role-mappings" aria-current="page">Role mappings</a>`) {
		t.Fatalf("role mappings page:\n%.3000s", page.body)
	}
	form := func(group, issuer, spaceID, role string) url.Values {
		return url.Values{"group": {group}, "issuer": {issuer}, "space": {spaceID}, "role": {role}}
	}
	wantField(t, "a group with an empty segment", post("/admin/role-mappings", form("acme//platform", "", "platform", "admin")),
		http.StatusBadRequest, "group", "has an empty segment")
	p := post("/admin/role-mappings", form("acme", "http://gitlab.example.com", "platform", "admin"))
	wantField(t, "an http issuer", p, http.StatusBadRequest, "issuer", "must be an https URL")
	if !strings.Contains(p.body, `value="acme"`) || !strings.Contains(p.body, `<option value="platform" selected>`) ||
		!strings.Contains(p.body, `<option value="admin" selected>`) {
		t.Error("what was typed is not kept after a refusal")
	}
	wantField(t, "an unknown role", post("/admin/role-mappings", form("acme", "", "platform", "owner")), http.StatusBadRequest, "role", "")
	wantField(t, "a missing space", post("/admin/role-mappings", form("acme", "", "gone", "read")), http.StatusBadRequest, "role", "no space")

	if p := post("/admin/role-mappings", form("Acme/Platform", "", "platform", "admin")); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/admin/role-mappings?done=mapping-created" {
		t.Fatalf("create = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	if p := post("/admin/role-mappings", form("acme", "https://gitlab.example.com", "root", "read")); p.status != http.StatusSeeOther {
		t.Fatalf("create with an issuer = %d:\n%.1500s", p.status, p.body)
	}
	wantField(t, "the same group on the same space", post("/admin/role-mappings", form("ACME/platform", "", "platform", "read")),
		http.StatusConflict, "group", "already mapped")

	var list struct {
		Items []struct{ ID, Group, Issuer string }
	}
	h.api("GET", "/api/v1/role-mappings", nil, http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[1].Group != "acme/platform" {
		t.Fatalf("mappings = %+v", list.Items)
	}
	id := list.Items[1].ID
	p = admin.get("/admin/role-mappings?done=mapping-created")
	row := p.body[strings.Index(p.body, `<tr id="mapping-`+id+`">`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"<code>acme/platform</code>", "any issuer", "<code>platform</code>", ">admin<", "<time datetime=", "by user:admin"} {
		if !strings.Contains(row, want) {
			t.Errorf("the mapping's row lacks %q:\n%s", want, row)
		}
	}
	if !strings.Contains(p.body, "Role mapping created") || !strings.Contains(p.body, "https://gitlab.example.com") {
		t.Errorf("no flash, or the other mapping's issuer is missing:\n%.3000s", p.body)
	}

	confirm := admin.get("/admin/role-mappings/" + id + "/delete")
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `id="confirm-delete"`) || !strings.Contains(confirm.body, "acme/platform") {
		t.Fatalf("delete page = %d:\n%.1500s", confirm.status, confirm.body)
	}
	if p := admin.get("/admin/role-mappings/nope/delete"); p.status != http.StatusNotFound {
		t.Errorf("delete page of an unknown mapping = %d", p.status)
	}
	if p := post("/admin/role-mappings/"+id+"/delete", url.Values{}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/admin/role-mappings?done=mapping-deleted" {
		t.Fatalf("delete = %d %s", p.status, p.header.Get("Location"))
	}
	h.api("GET", "/api/v1/role-mappings", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID == id {
		t.Errorf("after delete: %+v", list.Items)
	}
	if p := post("/admin/role-mappings/"+id+"/delete", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("delete again = %d, want 404", p.status)
	}

	reader := h.client()
	reader.mustLogin("rita", h.createUser("rita", "read"))
	home := reader.get("/admin/role-mappings")
	if home.status != http.StatusForbidden || !strings.Contains(home.body, "Only root admins may use the Administration pages.") {
		t.Errorf("a reader's /admin/role-mappings = %d", home.status)
	}
	token := csrf(t, home)
	for path, f := range map[string]url.Values{
		"/admin/role-mappings":                                 form("acme", "", "root", "admin"),
		"/admin/role-mappings/" + list.Items[0].ID + "/delete": {},
	} {
		f.Set("csrf_token", token)
		if p := reader.post(path, f); p.status != http.StatusForbidden {
			t.Errorf("a reader's POST %s = %d, want 403", path, p.status)
		}
	}
	h.api("GET", "/api/v1/role-mappings", nil, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Errorf("a reader's posts changed the mappings: %+v", list.Items)
	}
}
