package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// The policies of the end-to-end test (issue 17 acceptance 1): the first
// two are docs/policies.md's examples 1 and 2; the plan policy is example 3
// and 4 for the resource type the test's configuration uses.
const (
	ignoreDocsRego = `package hoist

docs_only if {
	count(input.event.changed_files) > 0
	input.event.changed_extensions[".md"] == count(input.event.changed_files)
}

ignore if docs_only

message contains "only documentation changed" if docs_only
`
	noApplyRego = `package hoist

propose if {
	input.default.run == "track"
	some c in input.event.commits
	contains(c.message, "[no-apply]")
}

message contains "[no-apply] in a commit message: plan only" if propose
`
	protectDataRego = `package hoist

deny contains msg if {
	some rc in input.plan.resource_changes
	rc.type == "terraform_data"
	"delete" in rc.change.actions
	msg := sprintf("%s would be deleted: data is never deleted by a run", [rc.address])
}

changes := [rc | some rc in input.plan.resource_changes; rc.change.actions != ["no-op"]]

warn contains sprintf("%d resource(s) change (more than 0)", [count(changes)]) if count(changes) > 0
`
	loopRego = `package hoist

ignore if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i * j < 0
}
`
)

func (h *harness) createPolicy(name, typ, space, body string, labels ...string) api.Policy {
	h.t.Helper()
	var p api.Policy
	h.Must(http.StatusCreated, "POST", "/api/v1/policies", h.AdminKey, map[string]any{"name": name, "type": typ,
		"space": space, "body": body, "labels": labels}).Decode(h.t, &p)
	return p
}

// pushCommit pushes one commit with a message.
func (h *harness) pushCommit(branch, message string, actions ...gitlabsim.FileAction) string {
	h.t.Helper()
	res, err := h.Sim.Push(h.t.Context(), gitlabsim.PushOptions{Project: runsProject, Branch: branch,
		Commits: []gitlabsim.CommitSpec{{Message: message, Actions: actions}}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.After
}

// deliveryLine waits for the delivery log's line of stack for the push of
// sha and returns it, with the delivery's id.
func (h *harness) deliveryLine(stack, sha string) (api.DeliveryStack, string) {
	h.t.Helper()
	var line api.DeliveryStack
	var id string
	apptest.Eventually(h.t, 30*time.Second, "the delivery of "+sha, func() error {
		var page api.Page[api.Delivery]
		h.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=50", h.AdminKey, nil).Decode(h.t, &page)
		for _, d := range page.Items {
			var full api.Delivery
			h.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+d.ID, h.AdminKey, nil).Decode(h.t, &full)
			if full.Result == nil || !strings.Contains(string(h.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+d.ID, h.AdminKey, nil).Body), sha) {
				continue
			}
			for _, l := range full.Result.Stacks {
				if l.StackID == stack {
					line, id = l, d.ID
					return nil
				}
			}
		}
		return fmt.Errorf("no processed delivery for %s yet", sha)
	})
	return line, id
}

// Issue 17 acceptance 1 (push and plan policies), 2 (looping policy fails
// closed) through the simulator's real webhooks and real OpenTofu.
func TestPushAndPlanPoliciesEndToEnd(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.PolicyTimeout = 500 * time.Millisecond })
	docs := h.createPolicy("Ignore docs", "push", "platform", ignoreDocsRego, "autoattach:*")
	noApply := h.createPolicy("No apply", "push", "platform", noApplyRego)
	protect := h.createPolicy("Protect data", "plan", "platform", protectDataRego)
	for _, p := range []api.Policy{noApply, protect} {
		h.Must(http.StatusNoContent, "POST", "/api/v1/stacks/web/policies/"+p.ID, h.AdminKey, nil)
	}
	var attached api.Page[api.StackPolicy]
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/policies", h.AdminKey, nil).Decode(t, &attached)
	how := map[string]string{}
	for _, sp := range attached.Items {
		how[sp.Policy.ID] = fmt.Sprintf("%v %s", sp.Explicit, sp.Autoattach)
	}
	if want := map[string]string{docs.ID: "false autoattach:*", noApply.ID: "true ", protect.ID: "true "}; fmt.Sprint(how) != fmt.Sprint(want) {
		t.Errorf("stack policies = %v, want %v", how, want)
	}

	// A push of Markdown only under the project root: Hoist would track it;
	// the docs policy ignores it, and the delivery log says so.
	sha := h.pushCommit("main", "Explain", gitlabsim.FileAction{Action: "create", Path: "infra/NOTES.md", Content: "# notes\n"})
	line, delivery := h.deliveryLine("web", sha)
	if line.Result != "skipped" || !strings.Contains(line.Reason, "ignored by push policy ignore-docs: only documentation changed") ||
		!strings.Contains(line.Reason, "default: push to tracked branch main") {
		t.Errorf("docs-only push: %+v", line)
	}
	// The delivery's evaluations, for those who may read the delivery.
	var devs api.Page[api.PolicyEvaluation]
	h.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+delivery+"/policy-evaluations", h.AdminKey, nil).Decode(t, &devs)
	if len(devs.Items) != 2 || devs.Items[0].Stack != "web" || devs.Items[0].Type != "push" {
		t.Errorf("delivery evaluations %+v", devs.Items)
	}
	h.space("Aside", "root")
	h.Must(http.StatusNotFound, "GET", "/api/v1/deliveries/"+delivery+"/policy-evaluations", h.apiKey("reader-aside", "aside:read"), nil)

	// [no-apply] on the tracked branch: a proposed run instead of a tracked
	// one; the plan policy's warning is on its history.
	sha = h.pushCommit("main", "Greet differently [no-apply]",
		gitlabsim.FileAction{Action: "update", Path: "infra/main.tf", Content: infraTF("no apply")})
	r := h.waitState(h.waitRunAt("web", sha, "PROPOSED").ID, "FINISHED")
	if !strings.Contains(r.Reason, "proposed by push policy no-apply") {
		t.Errorf("reason of the [no-apply] run = %q", r.Reason)
	}
	if !historyNoted(r, "plan policy warnings: protect-data: 1 resource(s) change (more than 0)") {
		t.Errorf("history of the [no-apply] run lacks the warning: %+v", r.History)
	}
	var evs api.Page[api.PolicyEvaluation]
	h.space("Elsewhere", "root")
	h.Must(http.StatusNotFound, "GET", "/api/v1/runs/"+r.ID+"/policy-evaluations", h.apiKey("reader-elsewhere", "elsewhere:read"), nil)
	h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/policy-evaluations", h.AdminKey, nil).Decode(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Policy != protect.ID || evs.Items[0].Outcome != "warn" || evs.Items[0].PolicyVersion != 1 ||
		!strings.Contains(string(evs.Items[0].Input), `"resource_changes"`) {
		t.Errorf("evaluations of %s = %+v", r.ID, evs.Items)
	}

	// A plain push: tracked, warned, confirmed, applied — the state now
	// holds terraform_data.hello.
	sha = h.push("main", map[string]string{"infra/main.tf": infraTF("applied")})
	r = h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	h.waitState(r.ID, "FINISHED")

	// A merge request whose plan deletes it: denied, the run fails with the
	// policy's message, and the merge request note shows it. (The merge
	// request is opened first, so that the run is linked to it when it
	// fails.)
	h.push("feature", map[string]string{"README.md": "# infra, soon without data\n"})
	mr, err := h.Sim.CreateMergeRequest(t.Context(), gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature", Title: "Remove"})
	if err != nil {
		t.Fatal(err)
	}
	sha = h.push("feature", map[string]string{"infra/main.tf": `output "greeting" { value = "gone" }` + "\n"})
	denied := h.waitRun(h.waitRunAt("web", sha, "PROPOSED").ID, "FAILED", func(r api.Run) bool { return isTerminal(r.State) })
	want := "plan denied by policy: protect-data: terraform_data.hello would be deleted: data is never deleted by a run"
	if denied.State != "FAILED" || !strings.HasPrefix(denied.Error, want) {
		t.Errorf("denied run: %s %q, want FAILED with %q; history %v", denied.State, denied.Error, want, runStates(denied))
	}
	if got := strings.Join(runStates(denied), " "); !strings.HasSuffix(got, "PLANNING FAILED") {
		t.Errorf("denied run's history = %s", got)
	}
	waitGitLab(t, "the merge request note with the denial", func() bool {
		notes, _ := h.Sim.Notes(runsProject, mr.IID)
		return len(notes) == 1 && strings.Contains(notes[0].Body, "would be deleted: data is never deleted by a run")
	})
	waitGitLab(t, "the failed commit status with the denial", func() bool {
		st := statusOf(t, h.Sim, sha, "hoist/web")
		return st.State == "failed" && strings.Contains(st.Description, "plan denied by policy")
	})

	// A looping push policy fails closed by its bounds: the push is
	// ignored for the stack, with the error in the delivery log. Which
	// bound stops it first, the 500 ms or the heap's growth, depends on
	// the machine's speed and what else the process allocates meanwhile.
	loop := h.createPolicy("Loop", "push", "platform", loopRego)
	h.Must(http.StatusNoContent, "POST", "/api/v1/stacks/web/policies/"+loop.ID, h.AdminKey, nil)
	sha = h.push("main", map[string]string{"infra/main.tf": infraTF("loop")})
	line, _ = h.deliveryLine("web", sha)
	const failed = "push ignored: push policy failed (fail closed): loop: policy evaluation "
	if line.Result != "skipped" || !strings.Contains(line.Reason, failed+"timed out after 500ms") &&
		!strings.Contains(line.Reason, failed+"stopped: it used more memory than allowed") {
		t.Errorf("push under a looping policy: %+v", line)
	}
}

func historyNoted(r api.Run, s string) bool {
	for _, tr := range r.History {
		if strings.Contains(tr.Note, s) {
			return true
		}
	}
	return false
}

// Acceptance 2 and 3, and the object's API: refusals with the compiler's
// line, visibility by space, attach rights.
func TestPolicyAPI(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	h.space("Other", "root")
	readerOther := h.apiKey("reader-other", "other:read")
	readerPlatform := h.apiKey("reader-platform", "platform:read")
	adminPlatform := h.apiKey("admin-platform", "platform:admin")

	refusals := []struct {
		name, typ, body string
		want            []string
	}{
		{"Broken", "push", "package hoist\n\nignore if {\n\tinput.x ==\n}\n", []string{"body: line 5:", "unexpected"}},
		{"Wrong package", "push", "package other\nignore := true\n", []string{"line 1", `must be "hoist"`}},
		{"Calls out", "push", "package hoist\n\nignore if {\n\thttp.send({\"method\": \"GET\", \"url\": \"http://169.254.169.254/\"}).status_code == 200\n}\n",
			[]string{"line 4: http.send is not available"}},
		{"Env", "plan", "package hoist\ndeny contains opa.runtime().env.HOIST_ENCRYPTION_KEY\n", []string{"opa.runtime is not available"}},
	}
	for _, r := range refusals {
		resp := h.Must(http.StatusBadRequest, "POST", "/api/v1/policies", adminPlatform,
			map[string]any{"name": r.name, "type": r.typ, "space": "platform", "body": r.body})
		_, msg, field := resp.APIError(t)
		for _, w := range r.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", r.name, msg, w)
			}
		}
		if want := map[bool]string{true: "type", false: "body"}[r.typ == "approval"]; field != want {
			t.Errorf("%s: field %q, want %q", r.name, field, want)
		}
	}

	p := h.createPolicy("Ignore docs", "push", "platform", ignoreDocsRego)
	if p.Version != 1 || p.CreatedBy == "" || p.Labels == nil {
		t.Errorf("created %+v", p)
	}
	h.Must(http.StatusForbidden, "POST", "/api/v1/policies", readerPlatform,
		map[string]any{"name": "Mine", "type": "push", "space": "platform", "body": ignoreDocsRego})

	// Readers of the space see it; they may not change or attach it.
	h.Must(http.StatusOK, "GET", "/api/v1/policies/"+p.ID, readerPlatform, nil)
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/policies/"+p.ID, readerPlatform, map[string]any{"description": "x"})
	h.Must(http.StatusForbidden, "POST", "/api/v1/stacks/web/policies/"+p.ID, readerPlatform, nil)
	// A reader of another space: as if it did not exist.
	h.Must(http.StatusNotFound, "GET", "/api/v1/policies/"+p.ID, readerOther, nil)
	h.Must(http.StatusNotFound, "PATCH", "/api/v1/policies/"+p.ID, readerOther, map[string]any{"description": "x"})
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/policies/"+p.ID, readerOther, nil)
	h.Must(http.StatusNotFound, "POST", "/api/v1/stacks/web/policies/"+p.ID, readerOther, nil)
	var list api.Page[api.Policy]
	h.Must(http.StatusOK, "GET", "/api/v1/policies", readerOther, nil).Decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("reader of another space lists %+v", list.Items)
	}
	h.Must(http.StatusOK, "GET", "/api/v1/policies?type=push", readerPlatform, nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != p.ID {
		t.Errorf("reader of platform lists %+v", list.Items)
	}

	// The admin of the space changes it: a new body is compiled and counts.
	_, msg, _ := h.Must(http.StatusBadRequest, "PATCH", "/api/v1/policies/"+p.ID, adminPlatform,
		map[string]any{"body": "package hoist\nignore if {\n"}).APIError(t)
	if !strings.Contains(msg, "line ") {
		t.Errorf("bad update: %q", msg)
	}
	var updated api.Policy
	h.Must(http.StatusOK, "PATCH", "/api/v1/policies/"+p.ID, adminPlatform,
		map[string]any{"body": noApplyRego, "labels": []string{"autoattach:prod"}}).Decode(t, &updated)
	if updated.Version != 2 || updated.Body != noApplyRego || updated.Type != "push" {
		t.Errorf("updated %+v", updated)
	}
	h.Must(http.StatusNoContent, "POST", "/api/v1/stacks/web/policies/"+p.ID, adminPlatform, nil)
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/stacks/web/policies/"+p.ID, adminPlatform, nil)
	h.Must(http.StatusNotFound, "DELETE", "/api/v1/stacks/web/policies/"+p.ID, adminPlatform, nil)

	// A policy of another space cannot be attached to platform's stack.
	other := h.createPolicy("Elsewhere", "plan", "other", "package hoist\n")
	_, msg, _ = h.Must(http.StatusBadRequest, "POST", "/api/v1/stacks/web/policies/"+other.ID, h.AdminKey, nil).APIError(t)
	if !strings.Contains(msg, "only to stacks in that space or below") {
		t.Errorf("attach across spaces: %q", msg)
	}

	// Modules: refused, with the reason, rather than stored and ignored.
	_, msg, _ = h.Must(http.StatusBadRequest, "POST", "/api/v1/modules/any/policies/"+p.ID, h.AdminKey, nil).APIError(t)
	if !strings.Contains(msg, "cannot be attached to modules yet") {
		t.Errorf("attach to a module: %q", msg)
	}

	var audit api.Page[api.AuditEntry]
	h.Must(http.StatusOK, "GET", "/api/v1/audit?resource_type=policy&resource_id="+p.ID, h.AdminKey, nil).Decode(t, &audit)
	if len(audit.Items) != 4 { // create, update, attach, detach
		t.Errorf("audit of %s: %d entries", p.ID, len(audit.Items))
	}
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/policies/"+p.ID, adminPlatform, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/policies/"+p.ID, adminPlatform, nil)
}
