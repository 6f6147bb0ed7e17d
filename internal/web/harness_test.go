package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// logBuffer collects a server's log, for secret scans.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a real Hoist server on loopback and a real GitLab simulator.
type harness struct {
	t         *testing.T
	srv       *app.Server
	logs      *logBuffer
	dataDir   string
	adminKey  string
	adminPass string
	sim       *gitlabsim.Server
	simURL    string
	simUser   gitlabsim.User
	// http calls the JSON API and checks its answers against the API's
	// document (internal/api/apitest).
	http *http.Client
}

func setup(t *testing.T, tweak func(*app.Config)) *harness {
	t.Helper()
	h := &harness{t: t, logs: &logBuffer{}, dataDir: t.TempDir(), http: apitest.Client(t)}
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if h.simURL, err = sim.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h.sim = sim
	if h.simUser, err = sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{DataDir: h.dataDir, Listen: "127.0.0.1:0", Getenv: func(string) string { return "" },
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	h.srv = srv
	h.adminKey = h.dataFile(app.AdminAPIKeyFile)
	h.adminPass = h.dataFile(app.AdminPasswordFile)
	return h
}

func (h *harness) dataFile(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dataDir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// gitlabToken mints a simulator token for the simulator's user.
func (h *harness) gitlabToken(o gitlabsim.TokenOptions) string {
	h.t.Helper()
	o.UserID = h.simUser.ID
	tok, err := h.sim.CreateToken(h.t.Context(), o)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok.Value
}

// api calls the JSON API with the admin key and decodes the answer into out
// (when not nil), failing unless the status is want.
func (h *harness) api(method, path string, body any, want int, out any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.srv.URL()+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("decode %s: %v", b, err)
		}
	}
}

// createIntegration sets up a default GitLab integration through the API
// and returns its details.
func (h *harness) createIntegration(name string) map[string]any {
	h.t.Helper()
	var out map[string]any
	h.api("POST", "/api/v1/integrations/gitlab", map[string]any{"name": name, "is_default": true,
		"api_host": h.simURL, "token": h.gitlabToken(gitlabsim.TokenOptions{})}, http.StatusCreated, &out)
	return out
}

// infraStack makes project acme/infra holding infra/main.tf, with
// hoist-bot Maintainer of its group, stack "infra" (project root infra) on
// integration it (createIntegration's answer), and the project's webhook to
// it: hook with the endpoint and secret filled in.
func (h *harness) infraStack(it map[string]any, hook gitlabsim.HookOptions) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"infra/main.tf": "\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.simUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	h.api("POST", "/api/v1/stacks", map[string]any{"name": "Infra", "space": "root", "integration": it["id"],
		"repository": "acme/infra", "branch": "main", "project_root": "infra"}, http.StatusCreated, nil)
	hook.URL, hook.Token = it["webhook_endpoint"].(string), it["webhook_secret"].(string)
	if _, err := h.sim.AddHook(ctx, "acme/infra", hook); err != nil {
		h.t.Fatal(err)
	}
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
	t    *testing.T
	base string
	http *http.Client
}

func (h *harness) client() *client {
	h.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &client{t: h.t, base: h.srv.URL(), http: &http.Client{Jar: jar, Transport: apitest.Transport(h.t, nil),
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
func csrf(t *testing.T, p resp) string {
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

// mustLogin logs in and fails unless it worked.
func (c *client) mustLogin(username, password string) {
	c.t.Helper()
	if p := c.login(username, password); p.status != http.StatusSeeOther || p.header.Get("Location") == "/login" {
		c.t.Fatalf("login as %s = %d %s", username, p.status, p.header.Get("Location"))
	}
}
