// Package web is Hoist's browser UI (SPEC §6.3): server-rendered pages from
// html/template with embedded assets (one stylesheet, a little JavaScript for
// copy buttons), logins with a password or an API key, server-side sessions
// in HttpOnly cookies, a CSRF token on every form, and the Source control,
// GitLab integration and LaunchPad pages.
//
// Every decision about who may see or change what is made by the same
// services the JSON API calls, with the session's principal; this package
// only renders their answers.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/launchpad"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/web/session"
	"github.com/hoistdev/hoist/internal/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config wires the UI to the services.
type Config struct {
	Logger       *slog.Logger
	PublicURL    string // https:// makes cookies Secure
	Sessions     session.Store
	Identity     *identity.Service
	Spaces       *space.Service
	Integrations *integration.Service
	Launchpad    *launchpad.LaunchPad
	Stacks       *stack.Service    // nil hides the stack pages
	Deliveries   *webhook.Log      // nil leaves recent deliveries off the details page
	Runs         *run.Service      // nil hides runs (needs Stacks)
	Writes       RunWrites         // nil leaves the GitLab writes off the run page
	AgentPools   *vcsagent.Service // nil hides the VCS agent pools page
	Audit        audit.Store
	Clock        func() time.Time // default time.Now

	// Login rate limit per username and per client address; zero values
	// take session.DefaultMaxFailures (5) and session.DefaultWindow (15m).
	MaxLoginFailures int
	LoginWindow      time.Duration
}

// UI is the web UI's HTTP handler.
type UI struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	sessions *session.Manager
	limiter  *session.Limiter
	pages    *renderer
	mux      *http.ServeMux
	secure   bool   // cookies get Secure (public URL is https)
	origin   string // scheme://host of the public URL, for Origin checks
}

// New returns the UI with its routes registered.
func New(cfg Config) (*UI, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	pages, err := newRenderer(templateFS)
	if err != nil {
		return nil, err
	}
	u := &UI{cfg: cfg, log: cfg.Logger, now: cfg.Clock, pages: pages, mux: http.NewServeMux(),
		sessions: session.NewManager(cfg.Sessions, cfg.Clock, 0),
		limiter:  session.NewLimiter(cfg.Sessions, cfg.Clock, cfg.MaxLoginFailures, cfg.LoginWindow)}
	if pu, err := url.Parse(cfg.PublicURL); err == nil && pu.Host != "" {
		u.secure = pu.Scheme == "https"
		u.origin = pu.Scheme + "://" + pu.Host
	}
	u.routes()
	return u, nil
}

// prefixes are the paths the UI owns; Wrap sends everything else to the
// API so that routes other packages register keep working.
var prefixes = []string{"/{$}", "/login", "/logout", "/launchpad", "/source-control", "/source-control/", "/stacks", "/stacks/", "/runs", "/runs/", "/assets/"}

// Wrap returns a handler that serves the UI's paths and passes every other
// request to next (the JSON API, webhooks, health endpoints).
func (u *UI) Wrap(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	h := u.logRequests(u.secureHeaders(u.mux))
	for _, p := range prefixes {
		mux.Handle(p, h)
	}
	return mux
}

// ServeHTTP serves the UI's own routes.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.mux.ServeHTTP(w, r) }

func (u *UI) routes() {
	static, _ := fs.Sub(assetFS, "assets") // the directory is embedded: no error
	u.mux.Handle("GET /assets/", http.StripPrefix("/assets/", assetServer(static)))

	u.mux.Handle("GET /{$}", u.page(u.home))
	u.mux.Handle("GET /login", u.public(u.loginPage))
	u.mux.Handle("POST /login", u.public(u.login))
	u.mux.Handle("POST /logout", u.form(u.logout))
	if u.cfg.Launchpad != nil {
		u.mux.Handle("GET /launchpad", u.page(u.launchpadPage))
	}

	u.mux.Handle("GET /source-control", u.page(u.sourceControl))
	u.mux.Handle("GET /source-control/gitlab/new", u.page(u.newIntegrationPage))
	u.mux.Handle("POST /source-control/gitlab/new", u.form(u.createIntegration))
	u.mux.Handle("GET /source-control/gitlab/{id}", u.page(u.integrationDetails))
	u.mux.Handle("GET /source-control/gitlab/{id}/edit", u.page(u.editIntegrationPage))
	u.mux.Handle("POST /source-control/gitlab/{id}/edit", u.form(u.updateIntegration))
	u.mux.Handle("POST /source-control/gitlab/{id}/test", u.form(u.testIntegration))
	u.mux.Handle("POST /source-control/gitlab/{id}/rotate-secret", u.form(u.rotateSecret))
	u.mux.Handle("GET /source-control/gitlab/{id}/delete", u.page(u.deleteIntegrationPage))
	u.mux.Handle("POST /source-control/gitlab/{id}/delete", u.form(u.deleteIntegration))
	if u.cfg.AgentPools != nil {
		u.mux.Handle("GET /source-control/vcs-agent-pools", u.page(u.agentPools))
		u.mux.Handle("POST /source-control/vcs-agent-pools", u.form(u.createAgentPool))
	}

	if u.cfg.Stacks != nil {
		u.mux.Handle("GET /stacks", u.page(u.stacksList))
		u.mux.Handle("GET /stacks/{id}", u.page(u.stackDetails))
	}
	if u.cfg.Stacks != nil && u.cfg.Runs != nil {
		u.mux.Handle("POST /stacks/{id}/runs", u.form(u.triggerRun))
		u.mux.Handle("GET /runs", u.page(u.commitRuns))
		u.mux.Handle("GET /runs/{id}", u.page(u.runDetails))
		u.mux.Handle("GET /runs/{id}/log", u.page(u.runLog))
		u.mux.Handle("POST /runs/{id}/confirm", u.form(u.runAction(run.Confirm)))
		u.mux.Handle("POST /runs/{id}/discard", u.form(u.runAction(run.Discard)))
		u.mux.Handle("POST /runs/{id}/stop", u.form(u.runAction(run.Stop)))
	}

	u.mux.Handle("/", u.public(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound
	}))
}

// assetServer serves embedded files with a short cache lifetime (they change
// only with the binary).
func assetServer(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// home sends people to the LaunchPad.
func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/launchpad", http.StatusSeeOther)
	return nil
}
