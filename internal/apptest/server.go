package apptest

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// Server is a Hoist server in the test process, on loopback with a fresh
// data dir, for one test. Its Client calls the API at its URL.
type Server struct {
	*Client
	// Config is what the server (re)starts with.
	Config app.Config
	App    *app.Server
	// AdminKey and AdminPassword are the root admin's, from the data dir.
	AdminKey, AdminPassword string
	// Logs holds every line the server logged, at debug level.
	Logs *Buffer

	// Sim is the GitLab simulator beside the server (Start), with the
	// user SimUser, "hoist-bot".
	Sim     *gitlabsim.Server
	SimURL  string
	SimUser gitlabsim.User

	t      testing.TB
	mu     sync.Mutex
	tokens []string // every GitLab token Token handed out, and other secrets
}

// StartGitLab starts a GitLab simulator on loopback, closed when the test
// ends, and returns it with its URL.
func StartGitLab(t testing.TB) (*gitlabsim.Server, string) {
	t.Helper()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	u, err := sim.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sim, u
}

// Start starts a GitLab simulator with the user hoist-bot, then a server;
// tweak (may be nil) changes the server's config first.
func Start(t testing.TB, tweak func(*app.Config)) *Server {
	t.Helper()
	sim, simURL := StartGitLab(t)
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
		t.Fatalf("start server: %v", err)
	}
	s.AdminKey = s.DataFile(app.AdminAPIKeyFile)
	s.AdminPassword = s.DataFile(app.AdminPasswordFile)
	return s
}

// New is a server not started yet (Boot starts it): a fresh data dir, a
// free loopback port, its log into Logs and an empty environment, so that
// the admin secrets are generated rather than read from the developer's;
// tweak (may be nil) changes that.
func New(t testing.TB, tweak func(*app.Config)) *Server {
	t.Helper()
	s := &Server{Client: newClient(t), Logs: &Buffer{}, t: t}
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
// closing it fails the test). It does not fail the test itself, so that servers can start together from goroutines
// (replicas racing to bootstrap one database).
func (s *Server) Boot() error {
	srv, err := app.Start(s.t.Context(), s.Config)
	if err != nil {
		return err
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
		s.t.Fatalf("restart server: %v", err)
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
