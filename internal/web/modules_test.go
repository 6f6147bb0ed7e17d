package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// moduleProject makes project acme/modules with a module in
// modules/greeting, hoist-bot Maintainer of its group, the default
// integration, and space platform; it returns the head commit's SHA.
func (h *harness) moduleProject() string {
	h.t.Helper()
	ctx := h.t.Context()
	h.createIntegration("Acme GitLab")
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/modules", Files: map[string]string{"README.md": "# modules\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	res, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/modules", Branch: "main", Commits: []gitlabsim.CommitSpec{{Message: "greeting",
		Actions: []gitlabsim.FileAction{{Action: "create", Path: "modules/greeting/main.tf", Content: "output \"hi\" { value = \"hi\" }\n"}}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "platform", "parent": "root"}, http.StatusCreated, nil)
	return res.After
}

// TestModulesCreate: the create form answers the service's refusals next
// to their fields (keeping what was typed), a duplicate above the form,
// and a module created opens its page with the registry address.
func TestModulesCreate(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.moduleProject()
	admin, page, post := adminOn(t, h, "/modules")
	if !strings.Contains(page.body, `<a href="/modules" aria-current="page">Modules</a>`) || !strings.Contains(page.body, `id="no-modules"`) ||
		!strings.Contains(page.body, `<option value="platform">`) {
		t.Fatalf("the empty modules page:\n%.3000s", page.body)
	}
	good := url.Values{"name": {"Greeting"}, "provider": {"null"}, "space": {"platform"}, "repository": {"acme/modules"},
		"branch": {"main"}, "project_root": {"modules/greeting"}, "labels": {"team:web, shared"}, "description": {"Says **hi**."}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	wantField(t, "no name", post("/modules", with("name", " ")), http.StatusBadRequest, "name", "required")
	p := post("/modules", with("provider", "AWS"))
	wantField(t, "an upper-case provider", p, http.StatusBadRequest, "provider", "lower-case letters and digits")
	if !strings.Contains(p.body, `value="Greeting"`) || !strings.Contains(p.body, `value="modules/greeting"`) || !strings.Contains(p.body, `<option value="platform" selected>`) {
		t.Error("what was typed is not kept after a refusal")
	}
	wantField(t, "a URL as repository", post("/modules", with("repository", "https://gitlab.example/acme/modules")), http.StatusBadRequest, "repository", "not a URL")
	wantField(t, "a missing project", post("/modules", with("repository", "acme/nothing")), http.StatusBadRequest, "repository", "project acme/nothing not found")
	wantField(t, "a missing branch", post("/modules", with("branch", "nope")), http.StatusBadRequest, "branch", "nope")
	wantField(t, "a missing space", post("/modules", with("space", "nowhere")), http.StatusBadRequest, "space", `no space &#34;nowhere&#34;`)
	wantField(t, "an unknown integration", post("/modules", with("integration", "nosuch")), http.StatusBadRequest, "integration", "nosuch")
	wantField(t, "a bad project root", post("/modules", with("project_root", "../etc")), http.StatusBadRequest, "project_root", "")

	p = post("/modules", good)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/modules/greeting?done=created" {
		t.Fatalf("create = %d %s:\n%.2000s", p.status, p.header.Get("Location"), p.body)
	}
	p = post("/modules", good)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="module-form-error"`) || !strings.Contains(p.body, "already exists") {
		t.Errorf("a duplicate = %d:\n%.2000s", p.status, cardOf(p.body, `id="new-module"`))
	}
	var m struct{ ID, Source, Space, Repository string }
	h.api("GET", "/api/v1/modules/greeting", nil, http.StatusOK, &m)
	if m.Source != "platform/greeting/null" || m.Repository != "acme/modules" {
		t.Errorf("the module created: %+v", m)
	}
	mp := admin.get("/modules/greeting?done=created")
	host := strings.TrimPrefix(strings.TrimPrefix(h.URL, "http://"), "https://")
	for _, want := range []string{"Module created.", `source  = "` + host + `/platform/greeting/null"`, `version = "…"`,
		`id="no-versions"`, "<strong>hi</strong>", "TF_TOKEN_127_0_0_1:", "only over HTTPS"} {
		if !strings.Contains(mp.body, want) {
			t.Errorf("the module page lacks %q:\n%s", want, cardOf(mp.body, `id="usage"`))
		}
	}
	if l := admin.get("/modules"); !strings.Contains(l.body, `<tr id="module-greeting">`) || !strings.Contains(l.body, "<code>platform/greeting/null</code>") {
		t.Errorf("the list lacks the module:\n%.2000s", l.body)
	}
}

// TestModuleVersions: the module page lists versions with state, time and
// commit, the snippet pins the highest published one, and mark-bad
// (writers) withdraws a version with its note; the refusals are told next
// to their fields.
func TestModuleVersions(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	sha := h.moduleProject()
	h.api("POST", "/api/v1/modules", map[string]any{"name": "greeting", "provider": "null", "space": "platform",
		"repository": "acme/modules", "branch": "main", "project_root": "modules/greeting"}, http.StatusCreated, nil)
	for _, v := range []string{"0.1.0", "0.2.0", "0.10.0-rc.1"} {
		h.api("POST", "/api/v1/modules/greeting/versions", map[string]any{"version": v, "sha": sha[:10]}, http.StatusCreated, nil)
	}
	pw := h.createUser("writer", "write")
	w := h.client()
	w.mustLogin("writer", pw)
	p := w.get("/modules/greeting")
	for _, want := range []string{`<tr id="version-0.2.0" class="version" data-state="published">`, `<code title="` + sha + `">` + sha[:12] + `</code>`,
		`version = "0.10.0-rc.1"`, `id="mark-bad"`, `<option value="0.1.0">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the module page lacks %q:\n%.4000s", want, p.body)
		}
	}
	token := csrf(t, p)
	post := func(form url.Values) resp {
		t.Helper()
		form.Set("csrf_token", token)
		return w.post("/modules/greeting/mark-bad", form)
	}
	p = post(url.Values{"version": {"0.10.0-rc.1"}, "note": {"  "}})
	wantField(t, "no note", p, http.StatusBadRequest, "note", "is required")
	if !strings.Contains(p.body, `<option value="0.10.0-rc.1" selected>`) {
		t.Error("the version picked is not kept after a refusal")
	}
	wantField(t, "an unknown version", post(url.Values{"version": {"9.9.9"}, "note": {"x"}}), http.StatusNotFound, "version", "has no version")
	wantField(t, "a long note", post(url.Values{"version": {"0.1.0"}, "note": {strings.Repeat("n", 5000)}}), http.StatusBadRequest, "note", "at most 4 KiB")
	if p := post(url.Values{"version": {"0.10.0-rc.1"}, "note": {"breaks <b>init</b>"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/modules/greeting?done=marked-bad" {
		t.Fatalf("mark bad = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	p = w.get("/modules/greeting?done=marked-bad")
	for _, want := range []string{"Version marked bad", `<tr id="version-0.10.0-rc.1" class="version" data-state="bad">`, "breaks &lt;b&gt;init&lt;/b&gt;",
		`version = "0.2.0"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after mark bad the page lacks %q", want)
		}
	}
	if strings.Contains(p.body, `<option value="0.10.0-rc.1"`) {
		t.Error("a bad version is still offered to mark bad")
	}
	var vs struct {
		Items []struct{ Version, State, Note string }
	}
	h.api("GET", "/api/v1/modules/greeting/versions", nil, http.StatusOK, &vs)
	if len(vs.Items) != 3 || vs.Items[0].Version != "0.10.0-rc.1" || vs.Items[0].State != "bad" || vs.Items[0].Note != "breaks <b>init</b>" {
		t.Errorf("versions after mark bad: %+v", vs.Items)
	}
}

// TestModulesRefusals: readers see modules but get no create or mark-bad
// form and 403 when they post anyway; a module in a space the viewer
// cannot read and an unknown one are 404; posts without the CSRF token
// are 403.
func TestModulesRefusals(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	sha := h.moduleProject()
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "other", "parent": "root"}, http.StatusCreated, nil)
	for _, sp := range []string{"platform", "other"} {
		h.api("POST", "/api/v1/modules", map[string]any{"name": "mod-" + sp, "provider": "null", "space": sp,
			"repository": "acme/modules", "branch": "main"}, http.StatusCreated, nil)
		h.api("POST", "/api/v1/modules/mod-"+sp+"/versions", map[string]any{"version": "1.0.0", "sha": sha}, http.StatusCreated, nil)
	}
	h.api("POST", "/api/v1/users", map[string]any{"username": "ann", "password": "pw-ann-0123456789",
		"roles": []map[string]string{{"space": "platform", "role": "read"}}}, http.StatusCreated, nil)
	ann := h.client()
	ann.mustLogin("ann", "pw-ann-0123456789")
	list := ann.get("/modules")
	if list.status != http.StatusOK || !strings.Contains(list.body, `id="module-mod-platform"`) || strings.Contains(list.body, "mod-other") ||
		strings.Contains(list.body, `id="new-module"`) || !strings.Contains(list.body, `<a href="/modules" aria-current="page">Modules</a>`) {
		t.Errorf("a reader's modules list:\n%.3000s", list.body)
	}
	mp := ann.get("/modules/mod-platform")
	if mp.status != http.StatusOK || strings.Contains(mp.body, `id="mark-bad"`) || !strings.Contains(mp.body, `version = "1.0.0"`) {
		t.Errorf("a reader's module page = %d:\n%.3000s", mp.status, mp.body)
	}
	for _, path := range []string{"/modules/mod-other", "/modules/nosuch"} {
		if p := ann.get(path); p.status != http.StatusNotFound || !strings.Contains(p.body, `<nav aria-label="Main">`) {
			t.Errorf("GET %s = %d, want 404 with the navigation", path, p.status)
		}
	}
	token := csrf(t, mp)
	if p := ann.post("/modules/mod-platform/mark-bad", url.Values{"csrf_token": {token}, "version": {"1.0.0"}, "note": {"mine"}}); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "needs write on space") {
		t.Errorf("a reader's mark bad = %d:\n%.1500s", p.status, p.body)
	}
	if p := ann.post("/modules/mod-other/mark-bad", url.Values{"csrf_token": {token}, "version": {"1.0.0"}, "note": {"x"}}); p.status != http.StatusNotFound {
		t.Errorf("mark bad in an unreadable space = %d, want 404", p.status)
	}
	if p := ann.post("/modules", url.Values{"csrf_token": {token}, "name": {"mine"}, "provider": {"null"}, "space": {"platform"},
		"repository": {"acme/modules"}, "branch": {"main"}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "needs admin on it") {
		t.Errorf("a reader's create = %d:\n%.1500s", p.status, p.body)
	}
	if p := ann.post("/modules", url.Values{"name": {"mine"}}); p.status != http.StatusForbidden {
		t.Errorf("a create without the CSRF token = %d, want 403", p.status)
	}
	var vs struct{ Items []struct{ State string } }
	h.api("GET", "/api/v1/modules/mod-platform/versions", nil, http.StatusOK, &vs)
	var mods struct{ Items []struct{ ID string } }
	h.api("GET", "/api/v1/modules", nil, http.StatusOK, &mods)
	if len(vs.Items) != 1 || vs.Items[0].State != "published" || len(mods.Items) != 2 {
		t.Errorf("refused posts changed modules: %+v, %+v", vs.Items, mods.Items)
	}
}
