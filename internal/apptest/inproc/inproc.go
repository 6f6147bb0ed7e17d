// Package inproc runs Hoist inside the test process for end-to-end tests:
// app.Start on a fresh data dir (Start, StartServer), beside a GitLab
// simulator (apptest.StartGitLab), its API reached through an
// apptest.Client that checks every answer against the API's document. It
// is the part of internal/apptest that needs the whole program. Imported
// only by tests.
package inproc

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// Server is a Hoist server in the test process, on loopback with a fresh
// data dir, for one test. Its Client calls the API at its URL.
type Server struct {
	*apptest.Client
	// Config is what the server (re)starts with.
	Config app.Config
	App    *app.Server
	// AdminKey and AdminPassword are the root admin's, from the data dir.
	AdminKey, AdminPassword string
	// Logs holds every line the server logged, at debug level.
	Logs *apptest.Buffer

	// Sim is the GitLab simulator beside the server (Start), with the
	// user SimUser, "hoist-bot".
	Sim     *gitlabsim.Server
	SimURL  string
	SimUser gitlabsim.User

	t      testing.TB
	mu     sync.Mutex
	tokens []string // every GitLab token Token handed out, and other secrets
}

// Start starts a GitLab simulator with the user hoist-bot, then a server;
// tweak (may be nil) changes the server's config first.
func Start(t testing.TB, tweak func(*app.Config)) *Server {
	t.Helper()
	sim, simURL := apptest.StartGitLab(t)
	user, err := sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	s := StartServer(t, tweak)
	s.Sim, s.SimURL, s.SimUser = sim, simURL, user
	return s
}

// StartServer is Start without a simulator, for tests that bring their
// own GitLab.
func StartServer(t testing.TB, tweak func(*app.Config)) *Server {
	t.Helper()
	s := New(t, tweak)
	if err := s.Boot(); err != nil {
		t.Fatal(err)
	}
	s.AdminKey = s.DataFile(app.AdminAPIKeyFile)
	s.AdminPassword = s.DataFile(app.AdminPasswordFile)
	return s
}

// Runs is a tweak for tests whose runs execute OpenTofu (apptest.Tofu: the
// test skips without it): a quick scheduler, and a short lease so that a
// lost worker shows within seconds. Then more (nil ones skipped) change the
// config further.
func Runs(t testing.TB, more ...func(*app.Config)) func(*app.Config) {
	t.Helper()
	tofu := apptest.Tofu(t)
	return func(c *app.Config) {
		c.TofuPath, c.SchedulerPoll, c.LeaseTTL = tofu, 50*time.Millisecond, 5*time.Second
		for _, tweak := range more {
			if tweak != nil {
				tweak(c)
			}
		}
	}
}

// New is a server not started yet (Boot starts it): a fresh data dir, a
// free loopback port, its log into Logs and an empty environment, so that
// the admin secrets are generated rather than read from the developer's;
// tweak (may be nil) changes that.
func New(t testing.TB, tweak func(*app.Config)) *Server {
	t.Helper()
	s := &Server{Client: apptest.NewClient(t, ""), Logs: &apptest.Buffer{}, t: t}
	s.Config = app.Config{
		DataDir: t.TempDir(),
		Listen:  "127.0.0.1:0",
		Logger:  slog.New(slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:  func(string) string { return "" },
	}
	if tweak != nil {
		tweak(&s.Config)
	}
	return s
}

// Boot starts the server on Config, closed when the test ends (an error
// closing it fails the test). It does not fail the test itself, so that
// servers can start together from goroutines (replicas racing to
// bootstrap one database).
func (s *Server) Boot() error {
	srv, err := app.Start(s.t.Context(), s.Config)
	if err != nil {
		return fmt.Errorf("start hoist server: %w", err)
	}
	s.t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			s.t.Errorf("close server: %v", err)
		}
	})
	s.App, s.URL = srv, srv.URL()
	return nil
}

// Restart closes the server and starts it again on Config (a new port
// when it listens on port 0).
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.App.Close(); err != nil {
		s.t.Fatalf("close server: %v", err)
	}
	if err := s.Boot(); err != nil {
		s.t.Fatal(err)
	}
}

// DataFile is the content of a file of the data dir, trimmed.
func (s *Server) DataFile(name string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Config.DataDir, name))
	if err != nil {
		s.t.Fatalf("read %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// Token creates a GitLab token for SimUser and remembers it for
// AssertNoTokenLeaked.
func (s *Server) Token(o gitlabsim.TokenOptions) string {
	s.t.Helper()
	o.UserID = s.SimUser.ID
	tok, err := s.Sim.CreateToken(s.t.Context(), o)
	if err != nil {
		s.t.Fatal(err)
	}
	s.WatchSecret(tok.Value)
	return tok.Value
}

// WatchSecret adds a secret for AssertNoTokenLeaked to look for.
func (s *Server) WatchSecret(secret string) {
	s.mu.Lock()
	s.tokens = append(s.tokens, secret)
	s.mu.Unlock()
}

// AssertNoTokenLeaked looks for every token Token handed out (and secret
// WatchSecret added) in every answer the Client read, in the server's log
// and in every file of the data dir (database, WAL), and fails the test
// where it finds one.
func (s *Server) AssertNoTokenLeaked() {
	s.t.Helper()
	s.mu.Lock()
	tokens := append([]string(nil), s.tokens...)
	s.mu.Unlock()
	if len(tokens) == 0 {
		s.t.Fatal("no tokens to look for")
	}
	answers, logs := s.Answers(), s.Logs.String()
	files, err := readTree(s.Config.DataDir)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, tok := range tokens {
		if strings.Contains(answers, tok) {
			s.t.Errorf("a token appears in an API response")
		}
		if strings.Contains(logs, tok) {
			s.t.Errorf("a token appears in the server log")
		}
		for name, content := range files {
			if strings.Contains(content, tok) {
				s.t.Errorf("a token appears in plaintext in %s", name)
			}
		}
	}
}

// readTree reads every file below dir, by path.
func readTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[path] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	return files, nil
}
