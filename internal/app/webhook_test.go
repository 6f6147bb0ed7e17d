package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// hookFixture is a server (no embedded workers, so runs stay queued) and
// the simulator's project acme/platform/infra with stacks "infra" (rooted
// at infra/) and "app" (rooted at app/, also watching shared/**), and the
// project's webhook pointing at Hoist.
type hookFixture struct {
	*harness
	project string
	hook    gitlabsim.Hook
}

func hookSetup(t *testing.T) *hookFixture {
	t.Helper()
	return hookSetupWith(t, nil)
}

// hookSetupWith is hookSetup with the hook's options changed by tweak.
func hookSetupWith(t *testing.T, tweak func(*gitlabsim.HookOptions)) *hookFixture {
	t.Helper()
	h := setup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	ctx := t.Context()
	f := &hookFixture{harness: h, project: "acme/platform/infra"}
	_, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: f.project, Files: map[string]string{
		"infra/main.tf": "# infra\n", "app/main.tf": "# app\n", "shared/vars.tf": "# shared\n", "docs/README.md": "docs\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var in api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("GitLab", "", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(t, &in)
	for _, st := range []map[string]any{
		{"name": "infra", "space": "root", "repository": f.project, "branch": "main", "project_root": "infra"},
		{"name": "app", "space": "root", "repository": f.project, "branch": "main", "project_root": "app/",
			"additional_project_globs": []string{"shared/**"}},
	} {
		h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, st)
	}
	o := gitlabsim.HookOptions{URL: in.WebhookEndpoint, Token: in.WebhookSecret, TagPushEvents: true, MergeRequestsEvents: true}
	if tweak != nil {
		tweak(&o)
	}
	if f.hook, err = h.Sim.AddHook(ctx, f.project, o); err != nil {
		t.Fatal(err)
	}
	return f
}

// push pushes one commit per file list to branch (created from main when
// missing) and returns the new head.
func (f *hookFixture) push(branch string, commits ...[]string) string {
	f.t.Helper()
	o := gitlabsim.PushOptions{Project: f.project, Branch: branch, StartBranch: "main", UserID: f.SimUser.ID}
	for i, files := range commits {
		c := gitlabsim.CommitSpec{Message: fmt.Sprintf("change %d", i)}
		for _, p := range files {
			c.Actions = append(c.Actions, gitlabsim.FileAction{Action: "create", Path: p, Content: fmt.Sprintf("%s %d\n", p, i)})
		}
		o.Commits = append(o.Commits, c)
	}
	res, err := f.Sim.Push(f.t.Context(), o)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.After
}

// settle waits until GitLab sent every queued webhook and Hoist processed
// every delivery it accepted, and returns the deliveries, newest first.
func (f *hookFixture) settle() []api.Delivery {
	f.t.Helper()
	if err := f.Sim.WaitHooks(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	sent := f.Sim.Deliveries(f.hook.ID)
	keys := map[string]bool{}
	for _, d := range sent {
		if d.StatusCode/100 != 2 {
			f.t.Fatalf("Hoist answered %d to a %s: %s", d.StatusCode, d.Event, d.ResponseBody)
		}
		keys[d.IdempotencyKey] = true
	}
	var page struct{ Items []api.Delivery }
	apptest.Eventually(f.t, 15*time.Second, "Hoist to process every delivery", func() error {
		f.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=200", f.AdminKey, nil).Decode(f.t, &page)
		done := len(page.Items) == len(keys)
		for _, d := range page.Items {
			done = done && (d.Status == "processed" || d.Status == "ignored" || d.Status == "failed")
		}
		if !done {
			return fmt.Errorf("%d stored for %d sent: %+v", len(page.Items), len(keys), page.Items)
		}
		return nil
	})
	return page.Items
}

func (f *hookFixture) runs(stack string) []api.Run {
	f.t.Helper()
	var page struct{ Items []api.Run }
	f.Must(http.StatusOK, "GET", "/api/v1/stacks/"+stack+"/runs?limit=200", f.AdminKey, nil).Decode(f.t, &page)
	return page.Items
}

// TestWebhooksMakeRuns is issue 4's acceptance 1, through the simulator's
// real webhooks, step by step on one repository.
func TestWebhooksMakeRuns(t *testing.T) {
	t.Parallel()
	f := hookSetup(t)

	// A push to the tracked branch touching infra/: one TRACKED run for
	// infra, none for app, and infra's tracked commit moves.
	head := f.push("main", []string{"infra/network.tf"})
	ds := f.settle()
	infra := f.runs("infra")
	if len(infra) != 1 || infra[0].Type != "TRACKED" || infra[0].CommitSHA != head || infra[0].Branch != "main" {
		t.Fatalf("infra runs after a tracked push = %+v", infra)
	}
	if !strings.HasPrefix(infra[0].TriggeredBy, "gitlab/push:") {
		t.Errorf("triggered_by = %q", infra[0].TriggeredBy)
	}
	if app := f.runs("app"); len(app) != 0 {
		t.Fatalf("app runs after a push to infra/ = %+v", app)
	}
	var st api.Stack
	f.Must(http.StatusOK, "GET", "/api/v1/stacks/infra", f.AdminKey, nil).Decode(t, &st)
	if st.TrackedCommit == nil || st.TrackedCommit.SHA != head {
		t.Errorf("infra tracked commit = %+v, want %s", st.TrackedCommit, head)
	}
	checkStackLine(t, ds[0], "app", "skipped", "does not touch app/")
	checkStackLine(t, ds[0], "infra", "created", "")

	// A new feature branch: its change is its difference from main (the
	// compare API), so a PROPOSED run for infra.
	compares := f.Sim.CallCount("GET /api/v4/projects/*/repository/compare")
	feature := f.push("feature", []string{"infra/feature.tf"})
	f.settle()
	proposed := only(t, f.runs("infra"), "PROPOSED", feature)
	if f.Sim.CallCount("GET /api/v4/projects/*/repository/compare") == compares {
		t.Error("a new branch was not compared with the default branch")
	}

	// Opening a merge request for it: no second run, but the run is linked.
	mr, err := f.Sim.CreateMergeRequest(t.Context(), gitlabsim.MROptions{Project: f.project, SourceBranch: "feature", Title: "Feature", UserID: f.SimUser.ID})
	if err != nil {
		t.Fatal(err)
	}
	ds = f.settle()
	linked := only(t, f.runs("infra"), "PROPOSED", feature)
	if linked.ID != proposed.ID || linked.MergeRequestIID != int64(mr.IID) {
		t.Errorf("after the MR opened: run %+v, want %s linked to !%d", linked, proposed.ID, mr.IID)
	}
	checkStackLine(t, ds[0], "infra", "deduplicated", "")

	// A title edit: nothing.
	title := "Feature, renamed"
	if _, err := f.Sim.UpdateMergeRequest(t.Context(), f.project, mr.IID, gitlabsim.MRUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	ds = f.settle()
	if n := len(f.runs("infra")); n != 2 {
		t.Errorf("a title edit changed the runs: %d", n)
	}
	checkStackLine(t, ds[0], "infra", "skipped", "without new commits")

	// A glob of additional_project_globs triggers app.
	shared := f.push("main", []string{"shared/vars.tf.new"})
	f.settle()
	only(t, f.runs("app"), "TRACKED", shared)

	// 45 commits whose only infra change is the oldest: the payload lists
	// the newest 20, so only the compare API sees it.
	if _, err := f.Sim.CreateBranch(t.Context(), f.project, "big", "main", f.SimUser.ID); err != nil {
		t.Fatal(err)
	}
	commits := [][]string{{"infra/oldest.tf"}}
	for i := 1; i < 45; i++ {
		commits = append(commits, []string{fmt.Sprintf("docs/page-%d.md", i)})
	}
	big := f.push("big", commits...)
	f.settle()
	only(t, f.runs("infra"), "PROPOSED", big)

	// Deleting the feature branch cancels its queued proposed run.
	if err := f.Sim.DeleteBranch(t.Context(), f.project, "feature", f.SimUser.ID); err != nil {
		t.Fatal(err)
	}
	ds = f.settle()
	var canceled api.Run
	f.Must(http.StatusOK, "GET", "/api/v1/runs/"+proposed.ID, f.AdminKey, nil).Decode(t, &canceled)
	if canceled.State != "CANCELED" {
		t.Errorf("run of the deleted branch is %s, want CANCELED", canceled.State)
	}
	if ds[0].Result == nil || !slices.Contains(ds[0].Result.RunsCanceled, proposed.ID) {
		t.Errorf("delivery of the deletion = %+v", ds[0].Result)
	}

	// A tag push creates no stack run.
	before := len(f.runs("infra")) + len(f.runs("app"))
	if _, err := f.Sim.CreateTag(t.Context(), gitlabsim.TagOptions{Project: f.project, Tag: "v1.0.0", Ref: "main"}); err != nil {
		t.Fatal(err)
	}
	ds = f.settle()
	if after := len(f.runs("infra")) + len(f.runs("app")); after != before {
		t.Errorf("a tag push made %d runs", after-before)
	}
	checkStackLine(t, ds[0], "infra", "skipped", "tag")
}

// only returns the one run of type at sha among runs.
func only(t *testing.T, runs []api.Run, typ, sha string) api.Run {
	t.Helper()
	var found []api.Run
	for _, r := range runs {
		if r.Type == typ && r.CommitSHA == sha {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s runs at %s among %+v, want 1", len(found), typ, sha, runs)
	}
	return found[0]
}

// checkStackLine checks the delivery log's line for a stack.
func checkStackLine(t *testing.T, d api.Delivery, stack, result, reason string) {
	t.Helper()
	if d.Result == nil {
		t.Fatalf("delivery %s (%s) has no result: %+v", d.ID, d.Event, d)
	}
	for _, l := range d.Result.Stacks {
		if l.StackID == stack {
			if l.Result != result || !strings.Contains(l.Reason, reason) {
				t.Errorf("delivery %s (%s): stack %s is %s (%q), want %s (%q)", d.ID, d.Event, stack, l.Result, l.Reason, result, reason)
			}
			return
		}
	}
	t.Errorf("delivery %s (%s) has no line for stack %s: %+v", d.ID, d.Event, stack, d.Result.Stacks)
}

// TestWebhookDuplicatesAndRedelivery: GitLab sending the same delivery
// three times makes one delivery and one set of runs; redelivering from
// Hoist processes the stored body again without new runs; an event Hoist
// does not act on is 202 and logged as ignored; the log is for the
// integration's admins only.
func TestWebhookDuplicatesAndRedelivery(t *testing.T) {
	t.Parallel()
	f := hookSetup(t)
	head := f.push("main", []string{"infra/a.tf", "app/a.tf"})
	f.settle()
	sent := f.Sim.Deliveries(f.hook.ID)
	for range 2 {
		d, err := f.Sim.Redeliver(t.Context(), sent[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.StatusCode != http.StatusOK || !strings.Contains(d.ResponseBody, `"duplicate":true`) {
			t.Errorf("resent delivery answered %d %s", d.StatusCode, d.ResponseBody)
		}
	}
	ds := f.settle()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries stored for one sent three times", len(ds))
	}
	only(t, f.runs("infra"), "TRACKED", head)
	only(t, f.runs("app"), "TRACKED", head)

	f.Must(http.StatusAccepted, "POST", "/api/v1/deliveries/"+ds[0].ID+"/redeliver", f.AdminKey, nil)
	ds = f.settle()
	if len(f.runs("infra")) != 1 || len(f.runs("app")) != 1 {
		t.Errorf("redelivery made runs again")
	}
	checkStackLine(t, ds[0], "infra", "deduplicated", "")
	// Issue 14 item 7: the first processing keeps its result.
	var got api.Delivery
	f.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+ds[0].ID, f.AdminKey, nil).Decode(t, &got)
	if p := got.Processings; len(p) != 2 || p[0].Trigger != "received" || p[0].Counts["created"] != 2 ||
		p[1].Trigger != "redelivered" || p[1].RequestedBy == "" || p[1].Counts["deduplicated"] != 2 || p[1].Counts["created"] != 0 {
		t.Errorf("processings after a redelivery = %+v", p)
	}

	// Other events are acknowledged and logged as ignored.
	var in api.Integration
	f.Must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/gitlab", f.AdminKey, nil).Decode(t, &in)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", in.WebhookEndpoint, strings.NewReader(`{"object_kind":"pipeline"}`))
	req.Header.Set("X-Gitlab-Event", "Pipeline Hook")
	req.Header.Set("X-Gitlab-Token", in.WebhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("Pipeline Hook answered %d, want 202", resp.StatusCode)
	}
	resp, err = http.Post(strings.Replace(in.WebhookEndpoint, "/gitlab/gitlab", "/gitlab/nope", 1), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown integration answered %d, want 404", resp.StatusCode)
	}
	var page struct{ Items []api.Delivery }
	f.Must(http.StatusOK, "GET", "/api/v1/deliveries?integration=gitlab", f.AdminKey, nil).Decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].Status != "ignored" || page.Items[0].Event != "Pipeline Hook" ||
		page.Items[0].Processings == nil || len(page.Items[0].Processings) != 0 || len(page.Items[1].Processings) != 2 {
		t.Errorf("deliveries = %+v", page.Items)
	}

	// Only admins see the log of a default integration.
	reader := f.apiKey("reader", "root:read")
	f.Must(http.StatusForbidden, "GET", "/api/v1/deliveries?integration=gitlab", reader, nil)
	f.Must(http.StatusOK, "GET", "/api/v1/deliveries", reader, nil).Decode(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("a reader sees %d deliveries", len(page.Items))
	}
	f.Must(http.StatusNotFound, "GET", "/api/v1/deliveries/"+ds[0].ID, reader, nil)
	f.Must(http.StatusNotFound, "POST", "/api/v1/deliveries/"+ds[0].ID+"/redeliver", reader, nil)
}

// TestWebhookMergeRequestDiffs: merge request events alone (the hook
// sends no pushes) find their files in every page of the MR's diffs, and
// a rename counts for the folder it left.
func TestWebhookMergeRequestDiffs(t *testing.T) {
	t.Parallel()
	noPush := false
	f := hookSetupWith(t, func(o *gitlabsim.HookOptions) { o.PushEvents = &noPush })
	ctx := t.Context()

	// 150 documentation files, and the one infra change past the first
	// page of 100 diffs.
	files := []string{"infra/zzz.tf"}
	for i := range 150 {
		files = append(files, fmt.Sprintf("docs/page-%03d.md", i))
	}
	wide := f.push("wide", files)
	if _, err := f.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: f.project, SourceBranch: "wide", Title: "Docs", UserID: f.SimUser.ID}); err != nil {
		t.Fatal(err)
	}
	f.settle()
	only(t, f.runs("infra"), "PROPOSED", wide)
	if n := f.Sim.CallCount("GET /api/v4/projects/*/merge_requests/*/diffs"); n < 2 {
		t.Errorf("the merge request's diffs were read in %d page(s), want 2", n)
	}

	// A merge request that only moves infra/main.tf out of infra/.
	res, err := f.Sim.Push(ctx, gitlabsim.PushOptions{Project: f.project, Branch: "moved", StartBranch: "main", UserID: f.SimUser.ID,
		Commits: []gitlabsim.CommitSpec{{Message: "archive", Actions: []gitlabsim.FileAction{
			{Action: "move", Path: "archive/main.tf", PreviousPath: "infra/main.tf"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Sim.CreateMergeRequest(ctx, gitlabsim.MROptions{Project: f.project, SourceBranch: "moved", Title: "Archive", UserID: f.SimUser.ID}); err != nil {
		t.Fatal(err)
	}
	f.settle()
	only(t, f.runs("infra"), "PROPOSED", res.After)
	if app := f.runs("app"); len(app) != 0 {
		t.Errorf("app runs = %+v", app)
	}
}

// TestWebhookGitLabTrouble: GitLab failing the compare call delays the
// run (the delivery retries with backoff) but does not lose it.
func TestWebhookGitLabTrouble(t *testing.T) {
	t.Parallel()
	f := hookSetup(t)
	for _, fault := range []gitlabsim.Fault{
		{Path: "/api/v4/projects/*/repository/compare", Status: http.StatusBadGateway, Count: 1},
		{Path: "/api/v4/projects/*/repository/compare", Status: http.StatusTooManyRequests, RetryAfter: 1, Count: 1},
	} {
		if _, err := f.Sim.AddFault(fault); err != nil {
			t.Fatal(err)
		}
	}
	head := f.push("feature", []string{"infra/x.tf"})
	ds := f.settle()
	only(t, f.runs("infra"), "PROPOSED", head)
	var d struct {
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
		Status   string `json:"status"`
	}
	f.Must(http.StatusOK, "GET", "/api/v1/deliveries/"+ds[0].ID, f.AdminKey, nil).Decode(t, &d)
	if d.Attempts != 3 || d.Status != "processed" || d.Error != "" {
		t.Errorf("delivery after two GitLab failures = %+v, want processed on attempt 3", d)
	}
}
