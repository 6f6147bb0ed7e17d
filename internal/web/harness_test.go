package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// harness is a real Hoist server on loopback and a real GitLab simulator
// (inproc.Start), with what the UI's tests add to it.
type harness struct {
	*inproc.Server
	t *testing.T
}

func setup(t *testing.T, tweak func(*app.Config)) *harness {
	t.Helper()
	return &harness{Server: inproc.Start(t, tweak), t: t}
}

// api calls the JSON API with the admin key and decodes the answer into out
// (when not nil), failing unless the status is want.
func (h *harness) api(method, path string, body any, want int, out any) {
	h.t.Helper()
	r := h.Must(want, method, path, h.AdminKey, body)
	if out != nil {
		r.Decode(h.t, out)
	}
}

// createIntegration sets up a default GitLab integration through the API
// and returns its details.
func (h *harness) createIntegration(name string) map[string]any {
	h.t.Helper()
	var out map[string]any
	h.api("POST", "/api/v1/integrations/gitlab", map[string]any{"name": name, "is_default": true,
		"api_host": h.SimURL, "token": h.Token(gitlabsim.TokenOptions{})}, http.StatusCreated, &out)
	return out
}

// infraStack makes project acme/infra holding infra/main.tf, with
// hoist-bot Maintainer of its group, stack "infra" (project root infra) on
// integration it (createIntegration's answer), and the project's webhook to
// it: hook with the endpoint and secret filled in.
func (h *harness) infraStack(it map[string]any, hook gitlabsim.HookOptions) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"infra/main.tf": "\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "integration": it["id"],
		"repository": "acme/infra", "branch": "main", "project_root": "infra"}, http.StatusCreated, nil)
	hook.URL, hook.Token = it["webhook_endpoint"].(string), it["webhook_secret"].(string)
	if _, err := h.Sim.AddHook(ctx, "acme/infra", hook); err != nil {
		h.t.Fatal(err)
	}
}

// hookedProject makes project acme/infra holding main.tf, with hoist-bot
// Maintainer of it, the default integration "GitLab" and the project's
// webhook to it.
func (h *harness) hookedProject() {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"main.tf": "\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	it := h.createIntegration("GitLab")
	if _, err := h.Sim.AddHook(ctx, "acme/infra", gitlabsim.HookOptions{URL: it["webhook_endpoint"].(string),
		Token: it["webhook_secret"].(string)}); err != nil {
		h.t.Fatal(err)
	}
}

// settleDeliveries waits until the simulator has sent every webhook it
// queued and Hoist has processed each delivery (processed or ignored). The
// simulator sends webhooks in the background and Hoist processes them in
// the background: a test that pushes and then creates or changes stacks
// must wait for this, or the push may be processed against the stacks as
// they are afterwards (a push to another branch then makes a proposed run
// of a stack created after it).
func (h *harness) settleDeliveries() {
	h.t.Helper()
	if err := h.Sim.WaitHooks(h.t.Context()); err != nil {
		h.t.Fatalf("wait for the simulator's webhooks: %v", err)
	}
	apptest.Eventually(h.t, 60*time.Second, "every delivery processed", func() error {
		var page struct {
			Items []struct{ ID, Status, Error string }
		}
		h.api("GET", "/api/v1/deliveries", nil, http.StatusOK, &page)
		for _, d := range page.Items {
			switch d.Status {
			case "processed", "ignored":
			case "failed":
				h.t.Fatalf("delivery %s failed: %s", d.ID, d.Error)
			default:
				return fmt.Errorf("delivery %s is %s", d.ID, d.Status)
			}
		}
		return nil
	})
}

// createUser adds a user with a read role on root and returns its password.
func (h *harness) createUser(name, role string) string {
	h.t.Helper()
	pw := "pw-" + name + "-0123456789"
	h.api("POST", "/api/v1/users", map[string]any{"username": name, "password": pw,
		"roles": []map[string]string{{"space": "root", "role": role}}}, http.StatusCreated, nil)
	return pw
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed (tests look at them).
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func (h *harness) client() *client { h.t.Helper(); return newClient(h.t, h.URL) }

// newClient is a client of the server at base (benchmarks have no
// harness).
func newClient(t testing.TB, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Transport: apitest.Transport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, header map[string]string) resp {
	c.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string) resp { c.t.Helper(); return c.do("GET", path, nil, nil) }

func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	return c.do("POST", path, form, nil)
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of a rendered page.
func csrf(t testing.TB, p resp) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf_token in page (%d): %.300s", p.status, p.body)
	}
	return m[1]
}

// login logs c in with a password and returns the answer to the POST.
func (c *client) login(username, password string) resp {
	c.t.Helper()
	token := csrf(c.t, c.get("/login"))
	return c.post("/login", url.Values{"csrf_token": {token}, "username": {username}, "password": {password}})
}

// mustLoginKey logs c in with an API key and fails unless it worked.
func (c *client) mustLoginKey(secret string) {
	c.t.Helper()
	token := csrf(c.t, c.get("/login"))
	if p := c.post("/login", url.Values{"csrf_token": {token}, "api_key": {secret}}); p.status != http.StatusSeeOther {
		c.t.Fatalf("API key login = %d", p.status)
	}
}

// mustLogin logs in and fails unless it worked.
func (c *client) mustLogin(username, password string) {
	c.t.Helper()
	if p := c.login(username, password); p.status != http.StatusSeeOther || p.header.Get("Location") == "/login" {
		c.t.Fatalf("login as %s = %d %s", username, p.status, p.header.Get("Location"))
	}
}
