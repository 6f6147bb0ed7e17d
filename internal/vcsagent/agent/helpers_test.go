package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
)

const pool = "lab"

// env is a GitLab simulator, a Hoist-side registry behind a real HTTP
// server, and whatever agents a test starts between them.
type env struct {
	sim       *gitlabsim.Server
	simURL    string
	glToken   string
	reg       *tunnel.Registry
	serverURL string
	logs      *apptest.Buffer
	// serverClient trusts the server's test certificate (TLS only).
	serverClient *http.Client

	mu        sync.Mutex
	poolToken string
	pingEvery time.Duration // how often the server re-checks a stream's token; 0: the default
}

func setup(t *testing.T) *env { t.Helper(); return newEnv(t, false) }

// newEnv starts the simulator and the server side; with useTLS the server
// speaks HTTPS (HTTP/2 enabled) and agents trust its certificate.
func newEnv(t *testing.T, useTLS bool) *env {
	t.Helper()
	ctx := context.Background()
	sim, simURL := apptest.StartGitLab(t)
	u, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"infra/net", "other/app"} {
		if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: path, Files: map[string]string{"main.tf": "# " + path + "\n"}}); err != nil {
			t.Fatal(err)
		}
		if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Project: path, UserID: u.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: u.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, simURL: simURL, glToken: tok.Value, logs: &apptest.Buffer{}, poolToken: vcsagent.NewToken(pool)}
	e.reg = tunnel.NewRegistry(slog.New(slog.NewTextHandler(e.logs, nil)), nil)
	t.Cleanup(e.reg.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+tunnel.ConnectPath, e.connect)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusting agent's handshakes fail on purpose
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		e.serverClient = srv.Client()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	e.serverURL = srv.URL
	return e
}

// connect is the server's connect endpoint: the bearer must be the current
// pool token (compared through its hash, as the real server does).
func (e *env) connect(w http.ResponseWriter, r *http.Request) {
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !secret.CheckAPIKey(bearer, secret.HashAPIKey(e.token())) {
		http.Error(w, "invalid VCS agent pool token", http.StatusUnauthorized)
		return
	}
	recheck := func(context.Context) error {
		if bearer != e.token() {
			return apperr.Errorf(apperr.Unauthorized, "rotated")
		}
		return nil
	}
	e.mu.Lock()
	every := e.pingEvery
	e.mu.Unlock()
	if err := e.reg.Serve(w, r, tunnel.Conn{Pool: pool, TokenHash: secret.HashAPIKey(bearer), Recheck: recheck,
		PingInterval: every}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

func (e *env) token() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.poolToken
}

// rotate mints a new pool token and disconnects streams of the old one, as
// vcsagent.Service.RotateToken does.
func (e *env) rotate() { e.reg.Disconnect(pool, e.rotateElsewhere()) }

// rotateElsewhere changes the pool token as another server would: this
// one learns of it only when it re-checks its streams' token. It returns
// the new token's hash.
func (e *env) rotateElsewhere() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.poolToken = vcsagent.NewToken(pool)
	return secret.HashAPIKey(e.poolToken)
}

// runningAgent is an agent started by a test.
type runningAgent struct {
	stop func()
	done chan struct{} // closed when Run returned
	err  error         // what Run returned, once done is closed
}

func (e *env) startAgent(t *testing.T, name, allowed string) *runningAgent {
	t.Helper()
	return e.startAgentWith(t, agent.Config{Name: name, AllowedProjects: allowed, PoolToken: e.token()})
}

func (e *env) startAgentWith(t *testing.T, cfg agent.Config) *runningAgent {
	t.Helper()
	if cfg.ServerURL == "" {
		cfg.ServerURL = e.serverURL
	}
	cfg.TargetBaseEndpoint, cfg.Vendor = e.simURL, "gitlab"
	if cfg.ServerClient == nil {
		cfg.ServerClient = e.serverClient
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil)).With("agent", cfg.Name)
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAgent{stop: cancel, done: make(chan struct{})}
	go func() {
		a.err = agent.Run(ctx, cfg)
		close(a.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-a.done
	})
	return a
}

// waitAgents waits until the pool has n agents with all their streams.
func (e *env) waitAgents(t *testing.T, n, streams int) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, fmt.Sprintf("%d agents with %d streams", n, streams), func() error {
		infos := e.reg.Connected(pool)
		ok := len(infos) == n
		for _, a := range infos {
			ok = ok && a.Streams == streams
		}
		if !ok {
			return fmt.Errorf("have %+v", infos)
		}
		return nil
	})
}

// gitlab is a client-go client that reaches GitLab only through the pool.
func (e *env) gitlab(t *testing.T) *gl.Client {
	t.Helper()
	c, err := gl.NewClient(e.glToken, gl.WithBaseURL("http://private."+pool), gl.WithoutRetries(),
		gl.WithHTTPClient(&http.Client{Transport: e.reg.RoundTripper(pool), Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wait(t *testing.T, a *runningAgent) error {
	t.Helper()
	select {
	case <-a.done:
		return a.err
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
		return nil
	}
}

func wantRefused(t *testing.T, err error, contains string) {
	t.Helper()
	var refused *vcsagent.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), contains) {
		t.Errorf("err = %v, want a refusal containing %q", err, contains)
	}
}
