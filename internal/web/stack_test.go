package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// stackProject makes the simulator project acme/infra (infra/main.tf) with
// hoist-bot Maintainer of its group, and a default integration; it returns
// the integration (createIntegration's answer).
func (h *harness) stackProject() map[string]any {
	h.t.Helper()
	it := h.createIntegration("Acme GitLab")
	if _, err := h.Sim.CreateProject(h.t.Context(), gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"infra/main.tf": "\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(h.t.Context(), gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	return it
}

// stackForm is a valid create form for stack Infra.
func stackForm() url.Values {
	return url.Values{"name": {"Infra"}, "space": {"root"}, "integration": {"acme-gitlab"}, "repository": {"acme/infra"},
		"branch": {"main"}, "project_root": {"infra"}, "tool": {"opentofu"}, "worker_pool": {"embedded"},
		"mr_plan_min_access": {"developer"}, "mr_apply_min_access": {"maintainer"}}
}

// apiMessage is the API's message for a stack create body (a refusal),
// without its field in front, as the form shows it next to the field.
func (h *harness) apiMessage(body map[string]any) (field, msg string) {
	h.t.Helper()
	_, msg, field = h.Call("POST", "/api/v1/stacks", h.AdminKey, body).APIError(h.t)
	return field, html.EscapeString(strings.TrimPrefix(msg, field+": "))
}

// TestStackCreateEditDelete: the create form refuses what the API refuses,
// with the API's message next to the field; a valid form creates the
// stack; the edit form changes its settings (MR settings and apply
// requirements included) and refuses a bad tool version; delete wants the
// name typed.
func TestStackCreateEditDelete(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	admin, page, post := adminOn(t, h, "/stacks/new")
	for _, want := range []string{`<option value="acme-gitlab" data-spaces="root" data-drift="now off" selected>Acme GitLab (default)</option>`,
		`<option value="root" selected>`, `name="apply_requirements" value="undiverged"`, `<label for="repository">`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the create form lacks %s:\n%.3000s", want, page.body)
		}
	}

	for _, tt := range []struct {
		what  string
		set   map[string]string
		field string
	}{
		{"a URL for the repository", map[string]string{"repository": "https://gitlab.com/acme/infra"}, "repository"},
		{"a branch GitLab does not have", map[string]string{"branch": "nope"}, "branch"},
		{"a relative project root leaving the repository", map[string]string{"project_root": "../etc"}, "project_root"},
		{"a bad glob", map[string]string{"additional_project_globs": "ok/**\n[bad"}, "additional_project_globs"},
		{"an unknown access level", map[string]string{"mr_plan_min_access": "boss"}, "mr_plan_min_access"},
		{"an unknown apply requirement", map[string]string{"apply_requirements": "green"}, "apply_requirements"},
		{"a version the server cannot run", map[string]string{"tool_version": "1.9.0"}, "tool_version"},
		{"an empty name", map[string]string{"name": " "}, "name"},
		{"drift issue labels without the drift issue", map[string]string{"drift_issue_labels": "drift"}, "drift_issue_labels"},
		{"a drift issue label with a comma", map[string]string{"drift_issue_mode": "on", "drift_issue_labels": "drift\na,b"}, "drift_issue_labels"},
		{"drift issue labels with the drift issue off", map[string]string{"drift_issue_mode": "off", "drift_issue_labels": "drift"}, "drift_issue_labels"},
		{"an unknown drift issue mode", map[string]string{"drift_issue_mode": "sometimes"}, "drift_issue_mode"},
	} {
		form, body := stackForm(), map[string]any{}
		for k, v := range form {
			body[k] = v[0]
		}
		for k, v := range tt.set {
			form.Set(k, v)
			body[k] = v
		}
		if k, ok := body["additional_project_globs"].(string); ok {
			body["additional_project_globs"] = strings.Split(k, "\n")
		}
		if k, ok := body["apply_requirements"].(string); ok {
			body["apply_requirements"] = []string{k}
		}
		if k, ok := body["drift_issue_labels"].(string); ok {
			body["drift_issue_labels"] = strings.Split(k, "\n")
		}
		field, msg := h.apiMessage(body)
		if field != tt.field || msg == "" {
			t.Fatalf("%s: the API refused field %q with %q, want field %s", tt.what, field, msg, tt.field)
		}
		wantField(t, tt.what, post("/stacks/new", form), http.StatusBadRequest, tt.field, msg)
	}
	if p := admin.get("/api/v1/stacks/infra"); p.status == http.StatusOK {
		t.Fatal("a refused form created the stack")
	}

	form := stackForm()
	form.Set("labels", "eu\n\n prod \n")
	form.Set("description", "Owned by **platform**.")
	p := post("/stacks/new", form)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/stacks/infra?done=created" {
		t.Fatalf("create = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	var st struct {
		Labels            []string              `json:"labels"`
		ProjectRoot       string                `json:"project_root"`
		Autodeploy        bool                  `json:"autodeploy"`
		MRApply           bool                  `json:"mr_apply"`
		ApplyRequirements []string              `json:"apply_requirements"`
		DriftIssue        bool                  `json:"drift_issue"`
		DriftIssueMode    string                `json:"drift_issue_mode"`
		DriftIssueLabels  []string              `json:"drift_issue_labels"`
		MRPlanMinAccess   string                `json:"mr_plan_min_access"`
		TrackedCommit     *struct{ SHA string } `json:"tracked_commit"`
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if strings.Join(st.Labels, ",") != "eu,prod" || st.ProjectRoot != "infra" || st.TrackedCommit == nil || st.DriftIssueMode != "inherit" {
		t.Errorf("created stack = %+v", st)
	}
	if p := admin.get("/stacks/infra?done=created"); !strings.Contains(p.body, "Stack created.") || !strings.Contains(p.body, `id="edit-stack"`) ||
		!strings.Contains(p.body, "<strong>platform</strong>") || !strings.Contains(p.body, `id="no-runs"`) {
		t.Errorf("the new stack's page:\n%.3000s", p.body)
	}
	if p := post("/stacks/new", form); p.status != http.StatusConflict || !strings.Contains(p.body, "already exists") {
		t.Errorf("creating it again = %d:\n%.1500s", p.status, p.body)
	}

	if p := admin.get("/stacks/infra/edit"); p.status != http.StatusOK || !strings.Contains(p.body, `value="acme/infra"`) ||
		!strings.Contains(p.body, "eu\nprod</textarea>") {
		t.Fatalf("edit form = %d:\n%.3000s", p.status, p.body)
	}
	// "Follow the integration" says what the integration's setting is now.
	if p := admin.get("/stacks/infra/edit"); !strings.Contains(p.body, `<span class="muted" id="drift-inherit-now">(now off)</span>`) ||
		!strings.Contains(p.body, `data-drift="now off"`) {
		t.Errorf("the edit form does not say the integration's drift issue is off:\n%.6000s", p.body)
	}
	h.api("PATCH", "/api/v1/integrations/gitlab/acme-gitlab", map[string]any{"drift_issue": true, "drift_issue_labels": []string{"drift", "infra"}},
		http.StatusOK, nil)
	if p := admin.get("/stacks/new"); !strings.Contains(p.body, `id="drift-inherit-now">(now on, labelled drift infra)</span>`) {
		t.Errorf("the new stack form does not say the integration's drift issue is on:\n%.6000s", p.body)
	}
	if p := admin.get("/stacks/infra"); !strings.Contains(p.body, `as the integration says (now on, labelled drift infra)`) {
		t.Errorf("the stack page does not say the integration's drift issue is on:\n%.6000s", p.body)
	}
	edit := stackForm()
	edit.Set("labels", "prod")
	edit.Set("autodeploy", "on")
	edit.Set("mr_apply", "on")
	edit.Set("mr_plan_min_access", "maintainer")
	edit["apply_requirements"] = []string{"undiverged", "approved"}
	edit.Set("drift_issue_mode", "on")
	edit.Set("drift_issue_labels", " drift\n\nteam::infra\ndrift\n")
	if p := post("/stacks/infra/edit", edit); p.status != http.StatusSeeOther || p.header.Get("Location") != "/stacks/infra?done=updated" {
		t.Fatalf("edit = %d %s:\n%.1500s", p.status, p.header.Get("Location"), p.body)
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if strings.Join(st.Labels, ",") != "prod" || !st.Autodeploy || !st.MRApply || st.MRPlanMinAccess != "maintainer" ||
		strings.Join(st.ApplyRequirements, ",") != "approved,undiverged" || !st.DriftIssue || st.DriftIssueMode != "on" ||
		strings.Join(st.DriftIssueLabels, ",") != "drift,team::infra" {
		t.Errorf("edited stack = %+v", st)
	}
	if p := admin.get("/stacks/infra/edit"); !strings.Contains(p.body, `id="drift_issue_mode-on" checked`) ||
		strings.Contains(p.body, `id="drift_issue_mode-inherit" checked`) || !strings.Contains(p.body, "drift\nteam::infra</textarea>") {
		t.Errorf("the edit form does not show the drift issue setting:\n%.6000s", p.body)
	}
	// Off: kept with no labels, shown on the form and the stack's page.
	off := stackForm()
	for k, v := range edit {
		off[k] = v
	}
	off.Set("drift_issue_mode", "off")
	off.Set("drift_issue_labels", "")
	if p := post("/stacks/infra/edit", off); p.status != http.StatusSeeOther {
		t.Fatalf("edit to off = %d:\n%.1500s", p.status, p.body)
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if st.DriftIssue || st.DriftIssueMode != "off" || len(st.DriftIssueLabels) != 0 {
		t.Errorf("stack turned off in the form = %+v", st)
	}
	if p := admin.get("/stacks/infra/edit"); !strings.Contains(p.body, `id="drift_issue_mode-off" checked`) {
		t.Errorf("the edit form does not show the drift issue off:\n%.6000s", p.body)
	}
	if p := admin.get("/stacks/infra"); !strings.Contains(p.body, `<dd id="drift-issue">off, whatever the integration says</dd>`) {
		t.Errorf("the stack page does not show the drift issue off:\n%.6000s", p.body)
	}
	if p := post("/stacks/infra/edit", edit); p.status != http.StatusSeeOther {
		t.Fatalf("edit back to on = %d:\n%.1500s", p.status, p.body)
	}
	if p := admin.get("/stacks/infra"); !strings.Contains(p.body, `<span class="label">approved</span> <span class="label">undiverged</span>`) ||
		!strings.Contains(p.body, "allowed before merge, for maintainer or above") {
		t.Errorf("the stack page's MR settings:\n%.4000s", p.body)
	}
	edit.Set("tool_version", "banana")
	wantField(t, "a bad tool version", post("/stacks/infra/edit", edit), http.StatusBadRequest, "tool_version", "must be a release version")
	edit.Set("tool_version", "")
	edit.Set("branch", "gone")
	wantField(t, "a branch GitLab does not have", post("/stacks/infra/edit", edit), http.StatusBadRequest, "branch", "")

	if p := admin.get("/stacks/infra/delete"); p.status != http.StatusOK || !strings.Contains(p.body, `<label for="confirm_name">Type <strong>Infra</strong> to confirm</label>`) {
		t.Fatalf("delete page = %d:\n%.1500s", p.status, p.body)
	}
	for _, typed := range []string{"", "infra", "Infra2"} {
		if p := post("/stacks/infra/delete", url.Values{"confirm_name": {typed}}); p.status != http.StatusBadRequest ||
			!strings.Contains(p.body, "Type the stack&#39;s name, Infra, exactly to delete it.") {
			t.Errorf("delete confirmed with %q = %d:\n%.1500s", typed, p.status, p.body)
		}
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, nil)
	if p := post("/stacks/infra/delete", url.Values{"confirm_name": {"Infra"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/stacks?done=deleted" {
		t.Fatalf("delete = %d %s", p.status, p.header.Get("Location"))
	}
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusNotFound, nil)
	if p := admin.get("/stacks?done=deleted"); !strings.Contains(p.body, "Stack deleted") || strings.Contains(p.body, `id="stack-infra"`) {
		t.Errorf("the list after the delete:\n%.1500s", p.body)
	}
}

// TestStackFormsRefuseNonAdmins: a writer of the stack's space sees no
// Edit or Delete and is answered 403 on every form and post; a reader of
// another space gets 404; the stack is unchanged.
func TestStackFormsRefuseNonAdmins(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "repository": "acme/infra", "branch": "main"}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Other", "parent": "root", "inherit": false}, http.StatusCreated, nil)
	pw := h.createUser("writer", "write")
	outsiderPW := "pw-outsider-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": "outsider", "password": outsiderPW,
		"roles": []map[string]string{{"space": "other", "role": "read"}}}, http.StatusCreated, nil)

	w := h.client()
	w.mustLogin("writer", pw)
	page := w.get("/stacks/infra")
	if page.status != http.StatusOK || strings.Contains(page.body, `id="edit-stack"`) || strings.Contains(page.body, `id="delete-stack"`) ||
		strings.Contains(page.body, `id="var-form"`) || !strings.Contains(page.body, `id="trigger-run"`) {
		t.Errorf("a writer's stack page offers the admin's actions (or not the trigger):\n%.3000s", page.body)
	}
	if p := w.get("/stacks"); strings.Contains(p.body, `href="/stacks/new"`) {
		t.Error("a writer is offered New stack")
	}
	for _, path := range []string{"/stacks/new", "/stacks/infra/edit", "/stacks/infra/delete"} {
		if p := w.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, `<nav aria-label="Main">`) {
			t.Errorf("writer GET %s = %d, want 403 with the navigation:\n%.800s", path, p.status, p.body)
		}
	}
	token := csrf(t, page)
	for path, form := range map[string]url.Values{
		"/stacks/new":                    stackForm(),
		"/stacks/infra/edit":             {"name": {"Taken over"}, "space": {"root"}, "repository": {"acme/infra"}, "branch": {"main"}},
		"/stacks/infra/delete":           {"confirm_name": {"Infra"}},
		"/stacks/infra/variables":        {"name": {"X"}, "value": {"y"}},
		"/stacks/infra/variables/delete": {"name": {"X"}},
	} {
		form.Set("csrf_token", token)
		if p := w.post(path, form); p.status != http.StatusForbidden {
			t.Errorf("writer POST %s = %d, want 403:\n%.800s", path, p.status, p.body)
		}
	}
	var st struct{ Name string }
	h.api("GET", "/api/v1/stacks/infra", nil, http.StatusOK, &st)
	if st.Name != "Infra" {
		t.Errorf("refused posts changed the stack: %+v", st)
	}

	o := h.client()
	o.mustLogin("outsider", outsiderPW)
	for _, path := range []string{"/stacks/infra", "/stacks/infra/edit", "/stacks/infra/delete"} {
		if p := o.get(path); p.status != http.StatusNotFound || strings.Contains(p.body, "acme/infra") {
			t.Errorf("outsider GET %s = %d, want 404 saying nothing of it:\n%.800s", path, p.status, p.body)
		}
	}
}

// TestStackVariablesCard: an admin adds a plain and a secret variable on
// the stack page; the secret's value is never shown again; a bad name is
// refused next to the field without echoing the value; delete removes it.
func TestStackVariablesCard(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "repository": "acme/infra", "branch": "main"}, http.StatusCreated, nil)
	admin, page, post := adminOn(t, h, "/stacks/infra")
	if !strings.Contains(page.body, `id="no-vars"`) || !strings.Contains(page.body, `id="var-secret" checked`) {
		t.Fatalf("the variables card of a stack without variables:\n%.3000s", page.body)
	}
	const secret = "s3cr3t-value-never-shown"
	h.WatchSecret(secret)
	if p := post("/stacks/infra/variables", url.Values{"name": {"TF_VAR_token"}, "value": {secret}, "secret": {"on"}}); p.status != http.StatusSeeOther {
		t.Fatalf("set secret = %d:\n%.1500s", p.status, p.body)
	}
	if p := post("/stacks/infra/variables", url.Values{"name": {"REGION"}, "value": {"eu-west-1"}}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/stacks/infra?done=var-set#variables" {
		t.Fatalf("set plain = %d %s", p.status, p.header.Get("Location"))
	}
	p := admin.get("/stacks/infra")
	if strings.Contains(p.body, secret) || !strings.Contains(p.body, `<tr id="var-TF_VAR_token">`) ||
		!strings.Contains(p.body, "•••••• secret") || !strings.Contains(p.body, "<code>eu-west-1</code>") {
		t.Errorf("variables card:\n%.4000s", p.body)
	}
	bad := post("/stacks/infra/variables", url.Values{"name": {"1BAD"}, "value": {secret}, "secret": {"on"}})
	wantField(t, "a bad variable name", bad, http.StatusBadRequest, "var-name", "must be an environment variable name")
	if strings.Contains(bad.body, secret) {
		t.Error("a refused form shows the secret value again")
	}
	if p := post("/stacks/infra/variables/delete", url.Values{"name": {"REGION"}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete = %d", p.status)
	}
	if p := post("/stacks/infra/variables/delete", url.Values{"name": {"REGION"}}); p.status != http.StatusNotFound {
		t.Errorf("deleting it again = %d, want 404", p.status)
	}
	var vars struct{ Items []struct{ Name string } }
	h.api("GET", "/api/v1/stacks/infra/variables", nil, http.StatusOK, &vars)
	if len(vars.Items) != 1 || vars.Items[0].Name != "TF_VAR_token" {
		t.Errorf("variables after the delete: %+v", vars.Items)
	}
	h.AssertNoTokenLeaked()
}

// TestStackFormsHostileInput: oversized, malformed and foreign values get
// a message next to their field (or about the form) and a 4xx, never a
// 500, and create nothing.
func TestStackFormsHostileInput(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.stackProject()
	admin, _, post := adminOn(t, h, "/stacks/new")
	many := make([]string, 101)
	for i := range many {
		many[i] = "l" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	for _, tt := range []struct {
		what, field, msg string
		set              map[string]string
	}{
		{"a 5,000-character name", "name", "", map[string]string{"name": strings.Repeat("n", 5000)}},
		{"a label with a control character", "labels", "control characters", map[string]string{"labels": "ok\nbad\x01label"}},
		{"101 labels", "labels", "at most", map[string]string{"labels": strings.Join(many, "\n")}},
		{"a 70 KiB description", "description", "at most", map[string]string{"description": strings.Repeat("d", 70<<10)}},
		{"a space that does not exist", "space", "no space", map[string]string{"space": "nope"}},
		{"an integration that does not exist", "integration", "no integration", map[string]string{"integration": "nope"}},
		{"a tool Hoist does not know", "tool", "must be opentofu or terraform", map[string]string{"tool": "pulumi"}},
		{"a worker pool that is not a slug", "worker_pool", "must be the id of a worker pool", map[string]string{"worker_pool": "../../etc"}},
		{"an absolute project root", "project_root", "not an absolute path", map[string]string{"project_root": "/etc"}},
		{"a NUL in the branch", "branch", "not a valid Git branch name", map[string]string{"branch": "ma\x00in"}},
	} {
		form := stackForm()
		for k, v := range tt.set {
			form.Set(k, v)
		}
		wantField(t, tt.what, post("/stacks/new", form), http.StatusBadRequest, tt.field, tt.msg)
	}
	big := stackForm()
	big.Set("description", strings.Repeat("d", 2<<20))
	if p := post("/stacks/new", big); p.status != http.StatusBadRequest || !strings.Contains(p.body, "The form is larger than") {
		t.Errorf("a 2 MiB form = %d:\n%.800s", p.status, p.body)
	}
	for _, path := range []string{"/stacks/%00/edit", "/stacks/..%2f..%2fetc/delete", "/stacks/" + strings.Repeat("x", 4000)} {
		if p := admin.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %.60s = %d, want 404", path, p.status)
		}
	}
	var list struct{ Items []any }
	h.api("GET", "/api/v1/stacks", nil, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("hostile forms created %d stacks", len(list.Items))
	}
}
