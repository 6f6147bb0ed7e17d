package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// listFixture is a server whose runs stay QUEUED or READY (no workers), with
// stack web in root and stack api in space team-a, both on acme/infra;
// carol writes team-a, bob reads team-b (and so reads root, which read
// flows up to, but not team-a). The push to main makes a TRACKED run of
// web and a PROPOSED one of api, with the commit's title; then web gets
// 52 runs triggered by hand, api two proposed ones (the first discarded)
// and a tracked one. apiRuns are api's runs, newest first.
type listFixture struct {
	*harness
	pushRun   string   // web's run made by the push
	pushSHA   string   // its commit
	apiRuns   []string // api's runs, newest first; all READY but the discarded one
	carolPw   string
	bobPw     string
	webHashes []string // the SHAs of web's runs triggered by hand
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	h := setup(t, func(c *app.Config) { c.WorkerSlots = -1 })
	ctx := t.Context()
	f := &listFixture{harness: h}
	h.hookedProject()
	// api tracks release, which must exist before the stack.
	if _, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "release", Commits: []gitlabsim.CommitSpec{{
		Message: "Release", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# r\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	// Processed later, the push to release would make a proposed run of
	// web, created next.
	h.settleDeliveries()
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team A"}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/spaces", map[string]any{"name": "Team B"}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "web", "space": "root", "repository": "acme/infra", "branch": "main"},
		http.StatusCreated, nil)
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "api", "space": "team-a", "repository": "acme/infra", "branch": "release"},
		http.StatusCreated, nil)
	f.carolPw, f.bobPw = "pw-carol-0123456789", "pw-bob-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": "carol", "password": f.carolPw,
		"roles": []map[string]string{{"space": "team-a", "role": "write"}}}, http.StatusCreated, nil)
	h.api("POST", "/api/v1/users", map[string]any{"username": "bob", "password": f.bobPw,
		"roles": []map[string]string{{"space": "team-b", "role": "read"}}}, http.StatusCreated, nil)

	push, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: "acme/infra", Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "Add the <web> stack\n\nWith a body the list does not show.",
		Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: "# v2\n"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.pushSHA = push.After
	h.settleDeliveries()
	var pushed struct {
		Items []struct {
			ID, Type  string
			CommitSHA string `json:"commit_sha"`
		}
	}
	h.api("GET", "/api/v1/stacks/web/runs", nil, http.StatusOK, &pushed)
	if len(pushed.Items) != 1 || pushed.Items[0].Type != "TRACKED" || pushed.Items[0].CommitSHA != push.After {
		t.Fatalf("web's runs after the push to main: %+v, want one TRACKED run at %s", pushed.Items, push.After)
	}
	f.pushRun = pushed.Items[0].ID
	trigger := func(stackID, typ, sha string) string {
		var r struct{ ID string }
		body := map[string]any{"type": typ}
		if sha != "" {
			body["commit_sha"] = sha
		}
		h.api("POST", "/api/v1/stacks/"+stackID+"/runs", body, http.StatusCreated, &r)
		return r.ID
	}
	for i := range 52 {
		sha := fmt.Sprintf("abc%037x", i)
		f.webHashes = append(f.webHashes, sha)
		trigger("web", "PROPOSED", sha)
	}
	discard := trigger("api", "PROPOSED", strings.Repeat("1", 40))
	trigger("api", "PROPOSED", strings.Repeat("2", 40))
	h.api("POST", "/api/v1/runs/"+discard+"/discard", nil, http.StatusOK, nil)
	trigger("api", "TRACKED", "")
	// The scheduler makes api's runs READY (the tracked one: no other
	// tracked run of api is past QUEUED), where they stay, no worker taking
	// them; until then some may still be QUEUED.
	var page struct{ Items []struct{ ID, State string } }
	apptest.Eventually(t, 60*time.Second, "api's runs READY but the discarded one", func() error {
		h.api("GET", "/api/v1/stacks/api/runs", nil, http.StatusOK, &page)
		for _, it := range page.Items {
			if it.ID != discard && it.State != "READY" {
				return fmt.Errorf("run %s is %s", it.ID, it.State)
			}
		}
		return nil
	})
	for _, it := range page.Items {
		f.apiRuns = append(f.apiRuns, it.ID)
	}
	if len(f.apiRuns) != 4 || f.apiRuns[2] != discard {
		t.Fatalf("api's runs: %+v", page.Items)
	}
	return f
}

var rowRe = regexp.MustCompile(`<tr id="run-([0-9a-z]+)"`)

// rows returns the run ids a list page shows, in order.
func rows(body string) []string {
	var out []string
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

var nextRe = regexp.MustCompile(`href="([^"]+)" id="next-page"`)

// TestRunsList (issue 19): the runs list across stacks, its filters, its
// pages, who sees what, and the row actions coming back to the list.
func TestRunsList(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	admin := f.client()
	admin.mustLogin("admin", f.AdminPassword)

	t.Run("pages", func(t *testing.T) {
		first := admin.get("/runs")
		if first.status != http.StatusOK || !strings.Contains(first.body, `<a href="/runs" aria-current="page">Runs</a>`) {
			t.Fatalf("/runs = %d, without the Runs tab current:\n%.1500s", first.status, first.body)
		}
		got := rows(first.body)
		m := nextRe.FindStringSubmatch(first.body)
		if len(got) != 50 || m == nil {
			t.Fatalf("first page: %d rows, next link %v", len(got), m)
		}
		second := admin.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		more := rows(second.body)
		if second.status != http.StatusOK || len(more) != 7 || nextRe.MatchString(second.body) || !strings.Contains(second.body, `id="first-page"`) {
			t.Fatalf("second page: %d, %d rows, next link %v", second.status, len(more), nextRe.MatchString(second.body))
		}
		all := append(got, more...)
		if !slices.IsSortedFunc(all, func(a, b string) int { return strings.Compare(b, a) }) || len(slices.Compact(slices.Clone(all))) != 57 {
			t.Errorf("the pages do not hold 57 distinct runs newest first: %v", all)
		}
		if !slices.Contains(all, f.pushRun) || !slices.Contains(all, f.apiRuns[0]) {
			t.Error("the pages miss the push's run or api's discarded run")
		}
		if !strings.Contains(first.body, `<time datetime="`) || !strings.Contains(first.body, "just now</time>") {
			t.Errorf("the list shows no relative times:\n%s", section(first.body, "runs-list"))
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string // nil: check only the count
			n     int
		}{
			{"stack=api", f.apiRuns, 4},
			{"space=team-a", f.apiRuns, 4},
			{"space=team-a&type=TRACKED", []string{f.apiRuns[0]}, 1},
			{"type=tracked&stack=web", []string{f.pushRun}, 1},
			{"state=DISCARDED", []string{f.apiRuns[2]}, 1},
			{"state=ready&stack=api&type=PROPOSED", []string{f.apiRuns[1], f.apiRuns[3]}, 2},
			{"commit=" + f.pushSHA, nil, 2}, // one delivery made both: same millisecond
			{"commit=" + f.pushSHA + "&stack=web", []string{f.pushRun}, 1},
			{"commit=" + f.webHashes[3], nil, 1},
			{"commit=" + f.webHashes[3][:39], nil, 16}, // abc000…0 to abc000…f
			{"commit=" + strings.Repeat("0", 40), []string{}, 0},
			{"attention=1", []string{}, 0},
			{"attention=1&state=QUEUED", []string{}, 0},
			{"space=team-b", []string{}, 0},
			{"stack=nope", []string{}, 0},
		} {
			p := admin.get("/runs?" + tc.query)
			got := rows(p.body)
			if p.status != http.StatusOK || len(got) != tc.n || (tc.want != nil && !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0)) {
				t.Errorf("/runs?%s = %d, rows %v, want %v", tc.query, p.status, got, tc.want)
			}
			if tc.n == 0 && !strings.Contains(p.body, "No runs match") {
				t.Errorf("/runs?%s: no empty state saying nothing matches", tc.query)
			}
		}
		p := admin.get("/runs?commit=" + f.pushSHA)
		if strings.Count(p.body, "Add the &lt;web&gt; stack</a>") != 2 || !strings.Contains(p.body, `id="commit-runs"`) || strings.Contains(p.body, "With a body") || !strings.Contains(p.body, "<code class=\"muted\">"+f.pushSHA[:8]+"</code>") {
			t.Errorf("the commit's list does not name the commit by its title and short SHA:\n%s", section(p.body, "runs-list"))
		}
		p = admin.get("/runs?state=UNCONFIRMED&type=PROPOSED&stack=web&attention=1")
		for _, want := range []string{`<option value="UNCONFIRMED" selected>`, `<option value="PROPOSED" selected>`, `id="f-stack" name="stack" value="web"`, `id="f-attention" name="attention" value="1" checked`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the filter form does not keep %s", want)
			}
		}
	})

	t.Run("hostile filters", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"state=DONE", `state: &#34;DONE&#34; is not a run state`},
			{"state=" + url.QueryEscape("<script>x</script>"), "is not a run state"},
			{"type=NIGHTLY", "is not a run type"},
			{"commit=nope", "commit: give a commit SHA"},
			{"commit=abc", "commit: give a commit SHA"},
			{"stack=" + url.QueryEscape("../../etc"), "stack: give a stack id"},
			{"space=" + url.QueryEscape("a' OR 1=1 --"), "space: give a space id"},
			{"cursor=not-a-cursor!", "cursor: is not a cursor"},
			{"cursor=" + strings.Repeat("A", 300), "cursor: is not a cursor"},
		} {
			p := admin.get("/runs?" + tc.query)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) || strings.Contains(p.body, "<script>x") ||
				!strings.Contains(p.body, `href="/runs"`) {
				t.Errorf("/runs?%s = %d, want 400 saying %q with the navigation:\n%s", tc.query, p.status, tc.want, section(p.body, "main"))
			}
		}
	})

	t.Run("visibility", func(t *testing.T) {
		// bob reads team-b, hence root (read flows up), not team-a.
		bob := f.client()
		bob.mustLogin("bob", f.bobPw)
		if got := rows(bob.get("/runs?stack=web").body); len(got) != 50 {
			t.Errorf("bob sees %d of root's runs on the first page, want 50", len(got))
		}
		for _, q := range []string{"", "?space=team-a", "?stack=api", "?commit=" + f.pushSHA, "?type=TRACKED", "?state=DISCARDED"} {
			p := bob.get("/runs" + q)
			for _, id := range f.apiRuns {
				if p.status != http.StatusOK || strings.Contains(p.body, id) {
					t.Errorf("bob (reader of team-b) on /runs%s = %d and sees team-a's run %s", q, p.status, id)
				}
			}
		}
		if got := rows(bob.get("/runs?space=team-a").body); len(got) != 0 {
			t.Errorf("bob sees %v in team-a", got)
		}
		// carol writes team-a: Discard on its runs only, none on root's.
		carol := f.client()
		carol.mustLogin("carol", f.carolPw)
		if got := rows(carol.get("/runs?space=team-a").body); !slices.Equal(got, f.apiRuns) {
			t.Errorf("carol (writer of team-a) sees %v in team-a, want %v", got, f.apiRuns)
		}
	})

	t.Run("actions come back to the list", func(t *testing.T) {
		carol := f.client()
		carol.mustLogin("carol", f.carolPw)
		p := carol.get("/runs?stack=api")
		if strings.Contains(p.body, `id="confirm-`) {
			t.Error("Confirm offered on runs that are not UNCONFIRMED")
		}
		token := csrf(t, p)
		back := "/runs?stack=api&state=READY"
		res := carol.post("/runs/"+f.apiRuns[1]+"/discard", url.Values{"csrf_token": {token}, "return": {back}})
		if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || loc != back {
			t.Errorf("discard from the list = %d to %q, want back to %s", res.status, loc, back)
		}
		if got := rows(carol.get(back).body); !slices.Equal(got, []string{f.apiRuns[0], f.apiRuns[3]}) {
			t.Errorf("after the discard the READY runs are %v", got)
		}
		for _, ret := range []string{"https://evil.example/runs", "//evil.example", "/stacks/api", "/runsx"} {
			res := carol.post("/runs/"+f.apiRuns[0]+"/confirm", url.Values{"csrf_token": {token}, "return": {ret}})
			if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || loc != "/runs/"+f.apiRuns[0]+"?refused=confirm" {
				t.Errorf("a refused confirm returning to %q = %d to %q, want the run page saying why", ret, res.status, loc)
			}
		}
		res = carol.post("/runs/"+f.apiRuns[3]+"/discard", url.Values{"csrf_token": {token}, "return": {"https://evil.example/runs"}})
		if loc := res.header.Get("Location"); loc != "/runs/"+f.apiRuns[3] {
			t.Errorf("discard with a foreign return went to %q, want the run page", loc)
		}
		if res := carol.post("/runs/"+f.apiRuns[0]+"/discard", url.Values{"return": {"/runs"}}); res.status != http.StatusForbidden {
			t.Errorf("a post without the CSRF token = %d, want 403", res.status)
		}
	})
}

// TestRunPageTitle (issue 19): a run page is titled by its stack, its
// type and its commit's title, in <title> and <h1>, with the ULID below;
// a run triggered by hand at a commit an event told the title of has it
// too.
func TestRunPageTitle(t *testing.T) {
	t.Parallel()
	f := newListFixture(t)
	c := f.client()
	c.mustLogin("admin", f.AdminPassword)
	p := c.get("/runs/" + f.pushRun)
	if !strings.Contains(p.body, "<title>web · TRACKED · Add the &lt;web&gt; stack · Hoist</title>") ||
		!strings.Contains(p.body, `<h1 id="run-title">web · TRACKED · Add the &lt;web&gt; stack</h1>`) ||
		!strings.Contains(p.body, `<code id="run-id">`+f.pushRun+`</code>`) {
		t.Errorf("run page heading:\n%.1500s", section(p.body, "main"))
	}
	var r struct{ ID string }
	f.api("POST", "/api/v1/stacks/web/runs", map[string]any{}, http.StatusCreated, &r)
	if p := c.get("/runs/" + r.ID); !strings.Contains(p.body, `<h1 id="run-title">web · TRACKED · Add the &lt;web&gt; stack</h1>`) {
		t.Errorf("a run triggered at the pushed commit is not titled by it:\n%.800s", section(p.body, "main"))
	}
	p = c.get("/runs/" + f.apiRuns[1]) // triggered by hand at 2222…
	if want := `<h1 id="run-title">api · PROPOSED · commit 22222222</h1>`; !strings.Contains(p.body, want) {
		t.Errorf("a run without a known commit title: want %s in\n%.800s", want, section(p.body, "main"))
	}
}
