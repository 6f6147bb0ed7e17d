package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// logBuffer collects every log line of a server, for secret scans.
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

// harness is a real Hoist server on loopback plus a real GitLab simulator.
type harness struct {
	t        testing.TB
	cfg      app.Config
	srv      *app.Server
	logs     *logBuffer
	adminKey string
	// http sends the API calls and checks every answer against the API's
	// document (internal/api/apitest).
	http *http.Client

	sim     *gitlabsim.Server
	simURL  string
	simUser gitlabsim.User
	// apiHost is the API host integrations get: the simulator's URL, or a
	// stand-in in front of it (runsSetupBehind).
	apiHost string

	mu        sync.Mutex
	responses []string // every response body, for secret scans
	tokens    []string // every GitLab token handed to Hoist
}

// setup starts a simulator and a server with a fresh data dir; tweak may
// change the config before the start.
func setup(t testing.TB, tweak func(*app.Config)) *harness {
	t.Helper()
	h := &harness{t: t, logs: &logBuffer{}, http: apitest.Client(t)}
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
	h.cfg = app.Config{
		DataDir: t.TempDir(),
		Listen:  "127.0.0.1:0",
		Logger:  slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:  func(string) string { return "" },
	}
	if tweak != nil {
		tweak(&h.cfg)
	}
	h.start()
	h.adminKey = h.readDataFile(app.AdminAPIKeyFile)
	return h
}

// start (re)starts the server on h.cfg.
func (h *harness) start() {
	h.t.Helper()
	srv, err := app.Start(h.t.Context(), h.cfg)
	if err != nil {
		h.t.Fatalf("start server: %v", err)
	}
	h.srv = srv
	h.t.Cleanup(func() { srv.Close() })
}

func (h *harness) readDataFile(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.cfg.DataDir, name))
	if err != nil {
		h.t.Fatalf("read %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// token creates a GitLab token for the simulator's user.
func (h *harness) token(o gitlabsim.TokenOptions) string {
	h.t.Helper()
	o.UserID = h.simUser.ID
	tok, err := h.sim.CreateToken(h.t.Context(), o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, tok.Value)
	h.mu.Unlock()
	return tok.Value
}

// response is one answer of the API.
type response struct {
	status int
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError is the error body of an answer.
func (r response) apiError(t testing.TB) (code, message, field string) {
	t.Helper()
	var eb struct {
		Error struct{ Code, Message, Field string }
	}
	r.decode(t, &eb)
	return eb.Error.Code, eb.Error.Message, eb.Error.Field
}

// call sends one request with key as the API key; body is JSON-encoded
// unless it is already a string.
func (h *harness) call(method, path, key string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.srv.URL()+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.responses = append(h.responses, string(data))
	h.mu.Unlock()
	return response{status: resp.StatusCode, body: data}
}

// must is call that fails the test unless the status is want.
func (h *harness) must(want int, method, path, key string, body any) response {
	h.t.Helper()
	r := h.call(method, path, key, body)
	if r.status != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// apiKey creates an API key with the given roles ("space:role") as admin.
func (h *harness) apiKey(name string, roles ...string) string {
	h.t.Helper()
	rs := []map[string]string{}
	for _, r := range roles {
		sp, role, _ := strings.Cut(r, ":")
		rs = append(rs, map[string]string{"space": sp, "role": role})
	}
	var k struct{ Secret string }
	h.must(http.StatusCreated, "POST", "/api/v1/api-keys", h.adminKey, map[string]any{"name": name, "roles": rs}).decode(h.t, &k)
	return k.Secret
}

func (h *harness) space(name, parent string) {
	h.t.Helper()
	h.must(http.StatusCreated, "POST", "/api/v1/spaces", h.adminKey, map[string]any{"name": name, "parent": parent})
}

// integrationBody is a valid create request for the simulator.
func (h *harness) integrationBody(name, space, token string) map[string]any {
	host := h.simURL
	if h.apiHost != "" {
		host = h.apiHost
	}
	b := map[string]any{"name": name, "api_host": host, "token": token}
	if space == "" {
		b["is_default"] = true
	} else {
		b["space"] = space
	}
	return b
}

// assertNoTokenLeaked scans every response, the logs and every file of the
// data dir (database, WAL) for any GitLab token handed to Hoist.
func (h *harness) assertNoTokenLeaked() {
	h.t.Helper()
	h.mu.Lock()
	tokens := append([]string(nil), h.tokens...)
	responses := strings.Join(h.responses, "\n")
	h.mu.Unlock()
	if len(tokens) == 0 {
		h.t.Fatal("no tokens to look for")
	}
	logs := h.logs.String()
	var files []string
	err := filepath.WalkDir(h.cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, path+"\x00"+string(b))
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, tok := range tokens {
		if strings.Contains(responses, tok) {
			h.t.Errorf("a token appears in an API response")
		}
		if strings.Contains(logs, tok) {
			h.t.Errorf("a token appears in the server log")
		}
		for _, f := range files {
			if strings.Contains(f, tok) {
				name, _, _ := strings.Cut(f, "\x00")
				h.t.Errorf("a token appears in plaintext in %s", name)
			}
		}
	}
}
