// Package httpapi is Hoist's JSON API (SPEC §6.2): routes on a standard
// ServeMux, handlers that return errors, one table from error kinds to HTTP
// statuses, strict JSON decoding, API-key authentication, request logging
// without secrets, health endpoints and the OpenAPI document.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/launchpad"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/schedule"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
	"github.com/hoistdev/hoist/internal/webhook"
)

// Config wires the API to the services.
type Config struct {
	Logger       *slog.Logger
	Identity     *identity.Service
	Spaces       *space.Service
	Integrations *integration.Service
	Stacks       *stack.Service
	Runs         *run.Service
	// Schedules are the stacks' schedules (issue 21).
	Schedules *schedule.Service
	State     *state.Service
	Modules   *module.Service
	Policies  *policy.Service
	// Notifications manages notification targets and their delivery log.
	Notifications *notify.Service
	Audit         audit.Store
	// ReadyFunc reports whether the server can serve (database reachable,
	// migrations applied); nil means always ready. An apperr.Unavailable
	// error (shutting down) is shown with its message.
	ReadyFunc func(ctx context.Context) error
	// Launchpad computes GET /api/v1/launchpad (shared with the web UI).
	Launchpad *launchpad.LaunchPad
	// Deliveries is the webhook delivery log.
	Deliveries *webhook.Log
	// GitLabWrites shows a run's writes to GitLab (SPEC §5) on the run.
	GitLabWrites *feedback.Service
	// AgentPools manages VCS agent pools; Agents is this process's registry
	// of connected agents (the connect endpoint).
	AgentPools *vcsagent.Service
	Agents     *tunnel.Registry
}

// Route is one registered method and path pattern.
type Route struct {
	Method  string
	Pattern string // ServeMux / OpenAPI syntax: /api/v1/spaces/{id}
}

// API is the HTTP handler of the JSON API.
type API struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []Route
	handler http.Handler
}

// handlerFunc is a handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New returns the API with every route registered.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	a.registerRoutes()
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, apperr.Errorf(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	a.handler = a.logRequests(a.recoverPanics(a.mux))
	return a
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Routes lists every registered route, in registration order.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

func (a *API) registerRoutes() {
	a.public("GET /healthz", a.healthz)
	a.public("GET /readyz", a.readyz)
	a.public("GET /api/v1/openapi.json", a.openAPI)

	a.authed("GET /api/v1/spaces", a.listSpaces)
	a.authed("POST /api/v1/spaces", a.createSpace)
	a.authed("GET /api/v1/spaces/{id}", a.getSpace)
	a.authed("PATCH /api/v1/spaces/{id}", a.updateSpace)
	a.authed("DELETE /api/v1/spaces/{id}", a.deleteSpace)

	a.authed("GET /api/v1/role-mappings", a.listRoleMappings)
	a.authed("POST /api/v1/role-mappings", a.createRoleMapping)
	a.authed("DELETE /api/v1/role-mappings/{id}", a.identityAction(a.cfg.Identity.DeleteRoleMapping))
	a.authed("GET /api/v1/api-keys", a.listAPIKeys)
	a.authed("POST /api/v1/api-keys", a.createAPIKey)
	a.authed("DELETE /api/v1/api-keys/{id}", a.identityAction(a.cfg.Identity.DeleteAPIKey))
	a.authed("POST /api/v1/api-keys/{id}/roles", a.grantRole(identity.APIKeyPrincipal))
	a.authed("DELETE /api/v1/api-keys/{id}/roles", a.revokeRole(identity.APIKeyPrincipal))
	a.personalKeyRoutes()

	a.authed("GET /api/v1/users", a.listUsers)
	a.authed("POST /api/v1/users", a.createUser)
	a.authed("POST /api/v1/users/{id}/roles", a.grantRole(identity.UserPrincipal))
	a.authed("DELETE /api/v1/users/{id}/roles", a.revokeRole(identity.UserPrincipal))
	a.authed("POST /api/v1/users/{id}/password", a.setPassword)
	a.authed("POST /api/v1/users/{id}/disable", a.identityAction(a.cfg.Identity.DisableUser))
	a.authed("POST /api/v1/users/{id}/enable", a.identityAction(a.cfg.Identity.EnableUser))
	a.authed("DELETE /api/v1/users/{id}", a.identityAction(a.cfg.Identity.DeleteUser))

	a.authed("GET /api/v1/integrations", a.listIntegrations)
	a.authed("POST /api/v1/integrations/gitlab", a.createIntegration)
	a.authed("GET /api/v1/integrations/gitlab/{id}", a.getIntegration)
	a.authed("PATCH /api/v1/integrations/gitlab/{id}", a.updateIntegration)
	a.authed("DELETE /api/v1/integrations/gitlab/{id}", a.deleteIntegration)
	a.authed("POST /api/v1/integrations/gitlab/{id}/test", a.testIntegration)
	a.authed("POST /api/v1/integrations/gitlab/{id}/rotate-webhook-secret", a.rotateWebhookSecret)
	a.authed("POST /api/v1/integrations/gitlab/{id}/webhooks", a.createWebhook)

	a.authed("GET /api/v1/audit", a.listAudit)

	a.authed("GET /api/v1/stacks", a.listStacks)
	a.authed("POST /api/v1/stacks", a.createStack)
	a.authed("GET /api/v1/stacks/{id}", a.getStack)
	a.authed("PATCH /api/v1/stacks/{id}", a.updateStack)
	a.authed("DELETE /api/v1/stacks/{id}", a.deleteStack)
	a.registerRunRoutes()
	a.registerScheduleRoutes()

	a.authed("GET /api/v1/modules", a.listModules)
	a.authed("POST /api/v1/modules", a.createModule)
	a.authed("GET /api/v1/modules/{id}", a.getModule)
	a.authed("DELETE /api/v1/modules/{id}", a.deleteModule)
	a.authed("GET /api/v1/modules/{id}/versions", a.listModuleVersions)
	a.authed("POST /api/v1/modules/{id}/versions", a.createModuleVersion)
	a.authed("POST /api/v1/modules/{id}/versions/{version}/mark-bad", a.markModuleVersionBad)

	a.registerPolicyRoutes()
	a.registerNotificationRoutes()

	a.authed("GET /api/v1/launchpad", a.getLaunchpad)

	a.authed("GET /api/v1/deliveries", a.listDeliveries)
	a.authed("GET /api/v1/deliveries/{id}", a.getDelivery)
	a.authed("POST /api/v1/deliveries/{id}/redeliver", a.redeliverDelivery)

	a.registerAgentPoolRoutes()
}

func (a *API) public(pattern string, h handlerFunc) { a.handle(pattern, a.serve(h)) }

func (a *API) authed(pattern string, h handlerFunc) { a.handle(pattern, a.serve(a.authenticate(h))) }

func (a *API) handle(pattern string, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	a.routes = append(a.routes, Route{Method: method, Pattern: path})
	a.mux.Handle(pattern, h)
}

// serve adapts a handlerFunc: its error becomes the error answer.
func (a *API) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, a.log, err)
		}
	})
}
