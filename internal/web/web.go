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
	"slices"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/launchpad"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/sso"
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
	Schedules    *schedule.Service // nil hides schedules (needs Runs)
	Writes       RunWrites         // nil leaves the GitLab writes off the run page
	Policies     RunPolicies       // nil leaves the policy evaluations off the run page
	AgentPools   *vcsagent.Service // nil hides the VCS agent pools page
	Modules      *module.Service   // nil hides the Modules pages
	// Notifications manages notification targets; nil hides their pages.
	Notifications *notify.Service
	Audit         audit.Store
	Clock         func() time.Time // default time.Now

	// DeliveryPolicies lists a delivery's push policy evaluations; nil
	// leaves them off the delivery page.
	DeliveryPolicies DeliveryPolicies

	// SSO, when set, adds "Log in with <issuer>" (OpenID Connect);
	// NoLocalLogin refuses password logins (--local-login=false).
	SSO          *sso.Service
	NoLocalLogin bool

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
	paths    []string // Paths
	secure   bool     // cookies get Secure (public URL is https)
	origin   string   // scheme://host of the public URL, for Origin checks
	host     string   // host[:port] of the public URL: the module registry's host
}

// New returns the UI with its routes registered.
func New(cfg Config) (*UI, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	pages, err := newRenderer(templateFS, cfg.Clock)
	if err != nil {
		return nil, err
	}
	u := &UI{cfg: cfg, log: cfg.Logger, now: cfg.Clock, pages: pages, mux: http.NewServeMux(),
		sessions: session.NewManager(cfg.Sessions, cfg.Clock, 0),
		limiter:  session.NewLimiter(cfg.Sessions, cfg.Clock, cfg.MaxLoginFailures, cfg.LoginWindow)}
	if pu, err := url.Parse(cfg.PublicURL); err == nil && pu.Host != "" {
		u.secure = pu.Scheme == "https"
		u.origin = pu.Scheme + "://" + pu.Host
		u.host = pu.Host
	}
	u.routes()
	return u, nil
}

// Handler serves the UI's routes with its security headers and request
// log; the server's router sends it the paths of Paths.
func (u *UI) Handler() http.Handler { return u.logRequests(u.secureHeaders(u.mux)) }

// Paths are the top-level paths the UI owns, derived from the routes it
// registered: "/stacks" and the subtree "/stacks/" for GET /stacks and GET
// /stacks/{id}, "/{$}" for the home page. Everything else is another
// handler's (the API answers unknown paths).
func (u *UI) Paths() []string { return u.paths }

// handle registers h for pattern ("METHOD /path") and records the path's
// top-level segment in Paths.
func (u *UI) handle(pattern string, h http.Handler) {
	u.mux.Handle(pattern, h)
	_, path, _ := strings.Cut(pattern, " ")
	if seg, _, sub := strings.Cut(strings.TrimPrefix(path, "/"), "/"); sub {
		u.own("/" + seg + "/") // "/stacks/{id}", "/assets/": the subtree
	} else {
		u.own(path) // "/login", "/{$}"
	}
}

func (u *UI) own(path string) {
	if !slices.Contains(u.paths, path) {
		u.paths = append(u.paths, path)
	}
}

// ServeHTTP serves the UI's own routes.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.mux.ServeHTTP(w, r) }

func (u *UI) routes() {
	static, _ := fs.Sub(assetFS, "assets") // the directory is embedded: no error
	u.handle("GET /assets/", http.StripPrefix("/assets/", assetServer(static)))

	u.handle("GET /{$}", u.page(u.home))
	u.handle("GET /login", u.public(u.loginPage))
	u.handle("POST /login", u.public(u.login))
	u.handle("POST /logout", u.form(u.logout))
	if u.cfg.SSO != nil {
		u.oidcRoutes()
	}
	if u.cfg.Launchpad != nil {
		u.handle("GET /launchpad", u.page(u.launchpadPage))
	}

	u.handle("GET /source-control", u.page(u.sourceControl))
	u.handle("GET /source-control/gitlab/new", u.page(u.newIntegrationPage))
	u.handle("POST /source-control/gitlab/new", u.form(u.createIntegration))
	u.handle("GET /source-control/gitlab/{id}", u.page(u.integrationDetails))
	u.handle("GET /source-control/gitlab/{id}/edit", u.page(u.editIntegrationPage))
	u.handle("POST /source-control/gitlab/{id}/edit", u.form(u.updateIntegration))
	u.handle("POST /source-control/gitlab/{id}/test", u.form(u.testIntegration))
	u.handle("POST /source-control/gitlab/{id}/rotate-secret", u.form(u.rotateSecret))
	u.handle("GET /source-control/gitlab/{id}/delete", u.page(u.deleteIntegrationPage))
	u.handle("POST /source-control/gitlab/{id}/delete", u.form(u.deleteIntegration))
	u.handle("POST /source-control/gitlab/{id}/webhooks", u.form(u.createWebhooks))
	if u.cfg.Deliveries != nil {
		u.handle("GET /source-control/deliveries/{id}", u.page(u.deliveryDetails))
		u.handle("POST /source-control/deliveries/{id}/redeliver", u.form(u.redeliver))
	}
	if u.cfg.AgentPools != nil {
		u.handle("GET /source-control/vcs-agent-pools", u.page(u.agentPools))
		u.handle("POST /source-control/vcs-agent-pools", u.form(u.createAgentPool))
	}

	if u.cfg.Stacks != nil {
		u.handle("GET /stacks", u.page(u.stacksList))
		u.handle("GET /stacks/{id}", u.page(u.stackDetails))
		u.stackRoutes()
	}
	if u.cfg.Stacks != nil && u.cfg.Runs != nil {
		u.handle("POST /stacks/{id}/runs", u.form(u.triggerRun))
		u.handle("POST /stacks/{id}/variables", u.form(u.setStackVariable))
		u.handle("POST /stacks/{id}/variables/delete", u.form(u.deleteStackVariable))
		if u.cfg.Schedules != nil {
			u.handle("POST /stacks/{id}/schedules", u.form(u.createSchedule))
			u.handle("POST /stacks/{id}/schedules/delete", u.form(u.deleteSchedule))
		}
		u.handle("GET /runs", u.page(u.runsList))
		u.handle("GET /runs/{id}", u.page(u.runDetails))
		u.handle("GET /runs/{id}/log", u.page(u.runLog))
		u.handle("POST /runs/{id}/confirm", u.form(u.runAction(run.Confirm)))
		u.handle("POST /runs/{id}/discard", u.form(u.runAction(run.Discard)))
		u.handle("POST /runs/{id}/stop", u.form(u.runAction(run.Stop)))
		u.handle("POST /runs/{id}/reviews", u.form(u.reviewRun))
	}
	u.adminRoutes()
	u.accountRoutes()
	if u.cfg.Notifications != nil {
		u.notificationRoutes()
	}
	if u.cfg.Modules != nil {
		u.moduleRoutes()
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
