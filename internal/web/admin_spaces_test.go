package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The spaces tree (issue 19): a root admin creates spaces, moves one under
// another, is refused moving a space under its own child and deleting a
// space that is not empty (the service's words next to its row), deletes
// an empty one; a reader gets 403.
func TestAdminSpaces(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	admin, page, post := adminOn(t, h, "/admin/spaces")
	if !strings.Contains(page.body, `id="space-root"`) {
		t.Fatalf("the tree lacks root:\n%.2000s", page.body)
	}
	for _, in := range []url.Values{
		{"name": {"Platform"}, "parent": {"root"}, "inherit": {"on"}},
		{"name": {"Team A"}, "parent": {"platform"}},
		{"name": {"Sandbox"}, "parent": {"root"}, "inherit": {"on"}},
	} {
		if p := post("/admin/spaces", in); p.status != http.StatusSeeOther {
			t.Fatalf("create %v = %d:\n%.1500s", in, p.status, p.body)
		}
	}
	var sp struct {
		Parent  string `json:"parent"`
		Inherit bool   `json:"inherit"`
	}
	h.api("GET", "/api/v1/spaces/team-a", nil, http.StatusOK, &sp)
	if sp.Parent != "platform" || sp.Inherit {
		t.Errorf("team-a = %+v, want under platform, not inheriting", sp)
	}
	wantField(t, "a taken name", post("/admin/spaces", url.Values{"name": {"Platform"}, "parent": {"root"}}),
		http.StatusConflict, "name", "")
	wantField(t, "an empty name", post("/admin/spaces", url.Values{"name": {""}, "parent": {"root"}}),
		http.StatusBadRequest, "name", "")

	tree := admin.get("/admin/spaces").body
	if i, j := strings.Index(tree, `id="space-platform"`), strings.Index(tree, `id="space-team-a"`); i < 0 || j < i {
		t.Errorf("team-a is not listed below platform")
	}
	if p := post("/admin/spaces/team-a/move", url.Values{"parent": {"sandbox"}}); p.status != http.StatusSeeOther {
		t.Fatalf("move = %d:\n%.1500s", p.status, p.body)
	}
	h.api("GET", "/api/v1/spaces/team-a", nil, http.StatusOK, &sp)
	if sp.Parent != "sandbox" {
		t.Errorf("after the move team-a is under %q", sp.Parent)
	}
	if p := post("/admin/spaces/sandbox/move", url.Values{"parent": {"team-a"}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="space-sandbox-refused"`) {
		t.Errorf("moving a space under its own child = %d:\n%.2000s", p.status, p.body)
	}
	if p := post("/admin/spaces/sandbox/delete", url.Values{}); p.status < 400 || !strings.Contains(p.body, `id="space-sandbox-refused"`) {
		t.Errorf("deleting a space that has a child = %d:\n%.2000s", p.status, p.body)
	}
	if p := post("/admin/spaces/team-a/delete", url.Values{}); p.status != http.StatusSeeOther {
		t.Errorf("deleting an empty space = %d:\n%.1500s", p.status, p.body)
	}
	h.api("GET", "/api/v1/spaces/team-a", nil, http.StatusNotFound, nil)
	if p := post("/admin/spaces/root/delete", url.Values{}); p.status != http.StatusBadRequest {
		t.Errorf("deleting root = %d", p.status)
	}

	reader := h.client()
	reader.mustLogin("rita", h.createUser("rita", "read"))
	if p := reader.get("/admin/spaces"); p.status != http.StatusForbidden {
		t.Errorf("a reader's /admin/spaces = %d", p.status)
	}
}
