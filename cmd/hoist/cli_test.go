package main

// End-to-end tests of the client commands: the real server (internal/app)
// on a loopback port with a temporary data dir, the GitLab simulator, and
// the real program run in-process through run(). Every byte the commands
// print is kept and searched for the GitLab token at the end.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// e2e is one Hoist server and one GitLab simulator for one test.
type e2e struct {
	t        *testing.T
	url      string // Hoist's base URL
	adminKey string // root-admin API key from <data-dir>/admin-api-key
	sim      *gitlabsim.Server
	simURL   string

	mu      sync.Mutex
	printed bytes.Buffer // everything every command wrote, plus error messages
	secrets []string     // values that must never be printed

	// http checks every answer of the API against its document.
	http *http.Client
}

func setupE2E(t *testing.T) *e2e {
	t.Helper()
	h := &e2e{t: t, http: apitest.Client(t)}
	h.url, h.adminKey = startHoist(t)
	h.sim, h.simURL = apptest.StartGitLab(t)
	t.Cleanup(h.assertNoSecretPrinted)
	return h
}

// startHoist starts the real server on a free loopback port with SQLite in
// a temporary data dir and returns its URL and the root-admin API key that
// the first start wrote.
func startHoist(t *testing.T) (url, adminKey string) {
	t.Helper()
	s := inproc.StartServer(t, nil)
	return s.URL, s.AdminKey
}

// gitlabToken creates a GitLab user with a token of the given scopes
// (expiring at expires unless nil) and returns it with a file holding it
// (as an admin would pass it).
func (h *e2e) gitlabToken(username string, expires *time.Time, scopes ...string) (value, file string) {
	h.t.Helper()
	ctx := context.Background()
	u, err := h.sim.CreateUser(ctx, gitlabsim.UserOptions{Username: username})
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := h.sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: u.ID, Scopes: scopes, ExpiresAt: expires})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.secrets = append(h.secrets, tok.Value)
	h.mu.Unlock()
	file = filepath.Join(h.t.TempDir(), "gitlab-token")
	if err := os.WriteFile(file, []byte(tok.Value+"\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return tok.Value, file
}

// botProject sets up what a stack or module needs in GitLab: the hoist-bot
// user with an `api` token (its file is returned), a project at path
// holding files, and the bot as Maintainer of the project's group. It
// returns the token file, the head of main and the bot's user id.
func (h *e2e) botProject(path string, files map[string]string) (tokFile, head string, botID int) {
	h.t.Helper()
	ctx := context.Background()
	_, tokFile = h.gitlabToken("hoist-bot", nil, "api")
	bot, err := h.sim.UserByUsername("hoist-bot")
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: path, Files: files})
	if err != nil {
		h.t.Fatal(err)
	}
	group, _, _ := strings.Cut(path, "/")
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: group, UserID: bot.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	head, err = h.sim.ResolveRef(ctx, p.PathWithNamespace, "main")
	if err != nil {
		h.t.Fatal(err)
	}
	return tokFile, head, bot.ID
}

// run runs `hoist args...` as the holder of key, with extra environment.
func (h *e2e) run(key string, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "HOIST_URL":
			return h.url
		case "HOIST_TOKEN":
			return key
		}
		return vars[k]
	}
	err = runEnv(context.Background(), env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: getenv, http: h.http}, args)
	h.mu.Lock()
	h.printed.Write(out.Bytes())
	h.printed.Write(errOut.Bytes())
	if err != nil {
		printError(&h.printed, err) // what main prints
	}
	h.mu.Unlock()
	return out.String(), errOut.String(), err
}

// ok runs a command that must succeed.
func (h *e2e) ok(key string, args ...string) string {
	h.t.Helper()
	out, _, err := h.run(key, nil, args...)
	if err != nil {
		h.t.Fatalf("hoist %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// fails runs a command that must fail with the given code.
func (h *e2e) fails(code apperr.Code, key string, args ...string) error {
	h.t.Helper()
	_, _, err := h.run(key, nil, args...)
	if !apperr.Is(err, code) {
		h.t.Fatalf("hoist %s: err = %v (code %s), want code %s", strings.Join(args, " "), err, apperr.CodeOf(err), code)
	}
	return err
}

// jsonOut runs a command with -o json and decodes its output into v.
func (h *e2e) jsonOut(v any, key string, args ...string) {
	h.t.Helper()
	out := h.ok(key, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("hoist %s -o json: output does not parse: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (h *e2e) assertNoSecretPrinted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.secrets {
		if strings.Contains(h.printed.String(), s) {
			h.t.Errorf("a GitLab token appeared in the CLI output")
		}
	}
	if h.printed.Len() == 0 {
		h.t.Errorf("no output captured: the secrecy check checked nothing")
	}
}

func TestCLIIntegrationLifecycle(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	_, tokFile := h.gitlabToken("hoist-bot", nil, "api")
	descFile := filepath.Join(t.TempDir(), "desc.md")
	if err := os.WriteFile(descFile, []byte("# Acme\n\nOur *GitLab*.\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := h.ok(admin, "integration", "gitlab", "create", "--name", "Acme GitLab", "--api-host", h.simURL,
		"--token-file", tokFile, "--default", "--label", "team", "--label", "prod", "--description-file", descFile)
	wantEndpoint := "/webhooks/gitlab/acme-gitlab"
	for _, want := range []string{"acme-gitlab", wantEndpoint, "Webhook secret:", "hoist-bot", "Our *GitLab*."} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}

	out = h.ok(admin, "integration", "list")
	if !strings.Contains(out, "acme-gitlab") || !strings.Contains(out, "default") || !strings.Contains(out, "prod,team") {
		t.Errorf("list output:\n%s", out)
	}
	var list []api.Integration
	h.jsonOut(&list, admin, "integration", "list")
	if len(list) != 1 || list[0].ID != "acme-gitlab" || !list[0].IsDefault || list[0].WebhookSecret != "" {
		t.Errorf("list -o json = %+v, want one default integration without its secret", list)
	}

	var shown api.Integration
	h.jsonOut(&shown, admin, "integration", "show", "acme-gitlab")
	if !strings.HasSuffix(shown.WebhookEndpoint, wantEndpoint) || shown.WebhookSecret == "" || shown.TokenUser != "hoist-bot" {
		t.Errorf("show -o json = %+v", shown)
	}
	out = h.ok(admin, "integration", "show", "acme-gitlab")
	if !strings.Contains(out, shown.WebhookSecret) || !strings.Contains(out, shown.WebhookEndpoint) {
		t.Errorf("show does not print the endpoint and secret:\n%s", out)
	}

	// Renaming is refused before anything is sent.
	if _, _, err := h.run(admin, nil, "integration", "gitlab", "update", "acme-gitlab", "--name", "Other"); err == nil ||
		!strings.Contains(err.Error(), "cannot be changed") {
		t.Errorf("rename: err = %v", err)
	}

	var updated api.Integration
	h.jsonOut(&updated, admin, "integration", "gitlab", "update", "acme-gitlab", "--description", "moved", "--clear-labels")
	if updated.Description != "moved" || len(updated.Labels) != 0 || updated.Name != "Acme GitLab" {
		t.Errorf("update -o json = %+v", updated)
	}

	out = h.ok(admin, "integration", "gitlab", "test", "acme-gitlab")
	if !strings.Contains(out, "yes") || !strings.Contains(out, "hoist-bot") {
		t.Errorf("test output:\n%s", out)
	}

	var rotated api.Integration
	h.jsonOut(&rotated, admin, "integration", "gitlab", "rotate-secret", "acme-gitlab")
	if rotated.WebhookSecret == "" || rotated.WebhookSecret == shown.WebhookSecret || rotated.WebhookEndpoint != shown.WebhookEndpoint {
		t.Errorf("rotate: secret %q (was %q), endpoint %q", rotated.WebhookSecret, shown.WebhookSecret, rotated.WebhookEndpoint)
	}

	// A second default integration is a conflict.
	_, tok2 := h.gitlabToken("other-bot", nil, "api")
	h.fails(apperr.Conflict, admin, "integration", "gitlab", "create", "--name", "Second", "--api-host", h.simURL,
		"--token-file", tok2, "--default")

	h.ok(admin, "integration", "delete", "acme-gitlab")
	h.fails(apperr.NotFound, admin, "integration", "show", "acme-gitlab")
	h.jsonOut(&list, admin, "integration", "list")
	if len(list) != 0 {
		t.Errorf("after delete, list = %+v", list)
	}

	var entries []struct {
		Action     string `json:"action"`
		ResourceID string `json:"resource_id"`
	}
	h.jsonOut(&entries, admin, "audit", "list", "--resource-type", "integration")
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	for _, want := range []string{"integration.create", "integration.update", "integration.delete"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit actions %q lack %s", actions, want)
		}
	}
}

func TestCLITokenFromEnvAndRefusals(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	tok, _ := h.gitlabToken("bot", nil, "read_api")
	// A token without the api scope is refused with a message saying so.
	_, _, err := h.run(h.adminKey, map[string]string{"GL_TOKEN": tok}, "integration", "gitlab", "create",
		"--name", "Acme", "--api-host", h.simURL, "--gitlab-token-env", "GL_TOKEN", "--default")
	if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), "api") {
		t.Fatalf("read_api token: err = %v", err)
	}
	// Bad input names the field.
	_, okFile := h.gitlabToken("bot2", nil, "api")
	err = h.fails(apperr.Invalid, h.adminKey, "integration", "gitlab", "create", "--name", "Acme",
		"--api-host", "ftp://gitlab.example", "--token-file", okFile, "--default")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Field != "api_host" {
		t.Errorf("ftp host: err = %#v, want field api_host", err)
	}
	// A wrong API key is unauthorized.
	h.fails(apperr.Unauthorized, "hoist_nope_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "integration", "list")
}

func TestCLIExpiringTokenWarnsUntilReplaced(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	soon := time.Now().UTC().AddDate(0, 0, 10)
	_, soonFile := h.gitlabToken("soon-bot", &soon, "api")
	out, stderr, err := h.run(h.adminKey, nil, "integration", "gitlab", "create", "--name", "Acme",
		"--api-host", h.simURL, "--token-file", soonFile, "--default")
	if err != nil {
		t.Fatal(err)
	}
	date := soon.Format("2006-01-02")
	if !strings.Contains(stderr, "WARNING: token expires on "+date) || !regexp.MustCompile(`Token expires:\s+`+date).MatchString(out) {
		t.Fatalf("create with an expiring token:\nstdout:\n%s\nstderr:\n%s", out, stderr)
	}
	if _, stderr, err = h.run(h.adminKey, nil, "integration", "gitlab", "test", "acme"); err != nil || !strings.Contains(stderr, "WARNING") {
		t.Fatalf("test: err %v, stderr %q", err, stderr)
	}

	// Replacing the token from an environment variable clears the warning.
	fresh, _ := h.gitlabToken("fresh-bot", nil, "api")
	out, stderr, err = h.run(h.adminKey, map[string]string{"NEW_GL": fresh}, "integration", "gitlab", "update", "acme",
		"--token-env", "NEW_GL")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "warning") || strings.Contains(stderr, "WARNING") ||
		!strings.Contains(out, "fresh-bot") || !regexp.MustCompile(`Token expires:\s+never`).MatchString(out) {
		t.Fatalf("update with a fresh token:\nstdout:\n%s\nstderr:\n%s", out, stderr)
	}
}

func TestCLIReaderSeesListButNotDetails(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	_, tokFile := h.gitlabToken("hoist-bot", nil, "api")

	var sp struct {
		ID     string `json:"id"`
		Parent string `json:"parent"`
	}
	h.jsonOut(&sp, admin, "space", "create", "--name", "Team A", "--label", "a")
	if sp.ID != "team-a" {
		t.Fatalf("space create: %+v", sp)
	}
	var key struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	h.jsonOut(&key, admin, "api-key", "create", "--name", "reader", "--role", "team-a:read")
	if key.Secret == "" || key.ID == "" {
		t.Fatalf("api-key create: %+v", key)
	}
	reader := key.Secret

	h.ok(admin, "integration", "gitlab", "create", "--name", "Team A GitLab", "--api-host", h.simURL,
		"--token-file", tokFile, "--space", "team-a")

	var list []api.Integration
	h.jsonOut(&list, reader, "integration", "list")
	if len(list) != 1 || list[0].ID != "team-a-gitlab" || list[0].Space != "team-a" {
		t.Fatalf("reader's list = %+v", list)
	}
	err := h.fails(apperr.Forbidden, reader, "integration", "show", "team-a-gitlab")
	if apperr.MessageOf(err) == "" {
		t.Errorf("forbidden without a message")
	}
	h.fails(apperr.Forbidden, reader, "integration", "delete", "team-a-gitlab")
	h.fails(apperr.Forbidden, reader, "api-key", "list")
	h.fails(apperr.Forbidden, reader, "audit", "list")

	// The space holds an integration, so it cannot be deleted yet.
	h.fails(apperr.Conflict, admin, "space", "delete", "team-a")
	h.ok(admin, "integration", "delete", "team-a-gitlab")
	h.ok(admin, "space", "delete", "team-a")
	h.fails(apperr.NotFound, admin, "space", "show", "team-a")
}

func TestCLISpacesKeysAndUsers(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey

	h.ok(admin, "space", "create", "--name", "Platform", "--description", "the platform team")
	h.ok(admin, "space", "create", "--name", "Net", "--parent", "platform", "--inherit=false")
	out := h.ok(admin, "space", "list")
	for _, want := range []string{"root", "platform", "net"} {
		if !strings.Contains(out, want) {
			t.Errorf("space list lacks %s:\n%s", want, out)
		}
	}
	var net struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Parent  string   `json:"parent"`
		Inherit bool     `json:"inherit"`
		Labels  []string `json:"labels"`
	}
	h.jsonOut(&net, admin, "space", "update", "net", "--name", "Network", "--label", "infra")
	if net.ID != "net" || net.Name != "Network" || net.Parent != "platform" || net.Inherit || len(net.Labels) != 1 {
		t.Errorf("space update = %+v", net)
	}
	h.fails(apperr.Conflict, admin, "space", "delete", "platform") // has a child

	var k struct {
		ID string `json:"id"`
	}
	h.jsonOut(&k, admin, "api-key", "create", "--name", "ci", "--role", "platform:write")
	h.ok(admin, "api-key", "grant", k.ID, "--role", "net:admin")
	out = h.ok(admin, "api-key", "list")
	if !strings.Contains(out, "platform:write") || !strings.Contains(out, "net:admin") {
		t.Errorf("api-key list:\n%s", out)
	}
	h.ok(admin, "api-key", "revoke", k.ID, "--role", "net")
	out = h.ok(admin, "api-key", "list")
	if strings.Contains(out, "net:admin") {
		t.Errorf("revoked role still listed:\n%s", out)
	}

	var u struct {
		ID       string `json:"id"`
		Password string `json:"password"`
	}
	h.jsonOut(&u, admin, "user", "create", "alice", "--role", "platform:read")
	if u.ID != "alice" || u.Password == "" {
		t.Fatalf("user create = %+v, want a generated password", u)
	}
	h.ok(admin, "user", "grant", "alice", "--role", "net:write")
	out = h.ok(admin, "user", "list")
	if !strings.Contains(out, "alice") || !strings.Contains(out, "net:write") {
		t.Errorf("user list:\n%s", out)
	}
	h.ok(admin, "user", "revoke", "alice", "--role", "net:write")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.ok(admin, "user", "set-password", "alice", "--password-file", pwFile)
}
