// Package gitlabsim is a GitLab simulator: a real HTTP server on loopback,
// backed by real bare Git repositories on disk, that speaks a subset of
// GitLab's REST v4 API, serves Git over smart HTTP, delivers GitLab's
// webhooks, acts as an OpenID Connect provider (oidc*.go), and injects
// faults. Hoist's tests, benchmarks and demo run
// against it; of the program, only the demo (internal/demo) and the CLI's
// `hoist gitlab-sim` import it — the server never talks to it but through
// GitLab's API, like to any GitLab.
//
// Tests drive it in-process through the Go API on *Server (CreateUser,
// CreateProject, Push, CreateMergeRequest, AddFault, ...); the same
// operations are exposed over HTTP under /-/sim/ (see docs/gitlab-sim.md).
package gitlabsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Version is the GitLab version the simulator claims to be (User-Agent of
// webhook deliveries).
const Version = "17.11.0"

// Config configures a Server.
type Config struct {
	// DataDir holds the state snapshot, gitlab-sim.json and the repositories.
	DataDir string
	// Logger receives the simulator's logs; nil discards them.
	Logger *slog.Logger
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// HookTimeout bounds one webhook delivery; zero means GitLab's 10 s.
	HookTimeout time.Duration
	// HookClient sends webhooks; nil means a plain client with HookTimeout.
	HookClient *http.Client
}

// Server is one simulated GitLab instance.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	statePth string

	mu           sync.Mutex // guards st, tokenByValue, baseURL and the OAuth fields
	st           *state
	tokenByValue map[string]*Token
	baseURL      string
	oauth        oauthIndex

	gitMu sync.Mutex // serialises writes to repositories and their hooks

	faults   *faults
	webhooks *webhooks
	handler  http.Handler

	srvMu     sync.Mutex
	httpSrv   *http.Server
	closed    bool
	closeErr  error
	serveDone chan struct{}

	// accepted and ended count the started server's TCP connections.
	accepted, ended atomic.Int64
}

// New opens (or creates) the simulator state in cfg.DataDir.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("gitlabsim: DataDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.HookTimeout == 0 {
		cfg.HookTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "repos"), 0o755); err != nil {
		return nil, fmt.Errorf("gitlabsim: create data dir: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      func() time.Time { return cfg.Clock().UTC() },
		statePth: filepath.Join(cfg.DataDir, "state.json"),
		faults:   newFaults(),
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.webhooks = newWebhooks(s)
	s.handler = s.buildHandler()
	return s, nil
}

// load reads the snapshot, or initialises a fresh instance with its root
// administrator and admin token.
func (s *Server) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.statePth)
	switch {
	case err == nil:
		st := &state{}
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("gitlabsim: read state %s: %w", s.statePth, err)
		}
		s.st = st
	case errors.Is(err, os.ErrNotExist):
		s.st = &state{Seq: map[string]int{}, AdminToken: "glpat-" + randomHex(10)}
		now := s.now()
		root := &User{ID: s.st.nextID("user"), Username: "root", Name: "Administrator", Email: "admin@example.com", Admin: true, CreatedAt: now}
		s.st.Users = append(s.st.Users, root)
		s.st.Tokens = append(s.st.Tokens, &Token{
			ID: s.st.nextID("token"), Name: "gitlab-sim admin", Value: s.st.AdminToken, UserID: root.ID,
			Kind: TokenPersonal, Scopes: []string{"api", "read_api", "read_user", "read_repository", "write_repository", "sudo"}, CreatedAt: now,
		})
	default:
		return fmt.Errorf("gitlabsim: read state: %w", err)
	}
	if s.st.Seq == nil {
		s.st.Seq = map[string]int{}
	}
	if s.st.Pipelines == nil {
		s.st.Pipelines = map[string]int{}
	}
	s.tokenByValue = map[string]*Token{}
	for _, t := range s.st.Tokens {
		s.tokenByValue[t.Value] = t
	}
	s.oauth = newOAuthIndex(s.st)
	return s.persistLocked()
}

// persistLocked writes the snapshot atomically (temp file + rename) so a
// crash never leaves a torn file. Callers hold s.mu.
func (s *Server) persistLocked() error {
	b, err := json.Marshal(s.st)
	if err != nil {
		return fmt.Errorf("gitlabsim: encode state: %w", err)
	}
	return writeFileAtomic(s.statePth, b, 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("gitlabsim: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("gitlabsim: write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("gitlabsim: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("gitlabsim: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gitlabsim: write %s: %w", path, err)
	}
	return nil
}

// mutate runs fn under the state lock and persists the result when fn
// succeeds.
func (s *Server) mutate(fn func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(s.st); err != nil {
		return err
	}
	return s.persistLocked()
}

// Handler serves the whole simulator: REST v4, Git smart HTTP, the control
// API, with fault injection and call counting in front.
func (s *Server) Handler() http.Handler { return s.handler }

// AdminToken is the root administrator's token; it authenticates the
// control API and is also a valid GitLab API token (scope api, admin).
func (s *Server) AdminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.AdminToken
}

// URL is the base URL (no trailing slash) once started, or the one set by
// SetURL when the handler is served by the caller.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// SetURL sets the base URL used in web_url fields and webhook payloads when
// the caller serves Handler itself (for example with httptest).
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = u
}

// Start listens on listenAddr ("127.0.0.1:0" picks a port), serves until
// Close, writes <data-dir>/gitlab-sim.json and returns the base URL.
func (s *Server) Start(ctx context.Context, listenAddr string) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.closed || s.httpSrv != nil {
		return "", errors.New("gitlabsim: server already started or closed")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listenAddr)
	if err != nil {
		return "", fmt.Errorf("gitlabsim: listen %s: %w", listenAddr, err)
	}
	base := "http://" + ln.Addr().String()
	s.SetURL(base)
	info, err := json.MarshalIndent(map[string]string{"url": base, "admin_token": s.AdminToken()}, "", "  ")
	if err != nil {
		ln.Close()
		return "", fmt.Errorf("gitlabsim: encode gitlab-sim.json: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.cfg.DataDir, "gitlab-sim.json"), append(info, '\n'), 0o600); err != nil {
		ln.Close()
		return "", err
	}
	s.httpSrv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState: s.countConn}
	s.serveDone = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gitlab-sim serve", "error", err)
		}
	}(s.httpSrv, s.serveDone)
	s.log.Info("gitlab-sim listening", "url", base, "data_dir", s.cfg.DataDir)
	return base, nil
}

// Connections reports how many TCP connections the started server has
// accepted, and how many of them have ended (closed by either side), so
// tests can see whether clients reuse their connections.
func (s *Server) Connections() (accepted, ended int64) {
	return s.accepted.Load(), s.ended.Load()
}

func (s *Server) countConn(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.accepted.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.ended.Add(1)
	}
}

// Close stops the HTTP server and the webhook queue. It is safe to call
// more than once.
func (s *Server) Close() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			s.httpSrv.Close()
		}
		<-s.serveDone
	}
	s.webhooks.close()
	return s.closeErr
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("gitlabsim: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("gitlabsim: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
