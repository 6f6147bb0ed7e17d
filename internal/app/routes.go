package app

import (
	"net/http"
	"strings"

	"github.com/hoistdev/hoist/internal/registry"
	"github.com/hoistdev/hoist/internal/vcsagent/tunnel"
	"github.com/hoistdev/hoist/internal/web"
)

// routes is every path the server answers and who serves it, in one place.
// The owners' own muxes route within what they are given here.
func routes(api http.Handler, ui *web.UI, reg *registry.Handler, intake, metrics, relay http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	// GitLab calls other servers on the database relay to this one's VCS
	// agents (behind the relay key), only on PostgreSQL.
	if relay != nil {
		mux.Handle(tunnel.RelayPath, relay)
	}
	// Prometheus, only with --metrics-key-file (behind its key); else
	// metrics are on --metrics-listen alone.
	if metrics != nil {
		mux.Handle("GET "+metricsPath, metrics)
	}
	// GitLab's webhooks, one endpoint per integration (POST only).
	mux.Handle("POST "+webhookPath+"{id}", intake)
	// OpenTofu's module registry protocol: discovery and /registry/….
	for _, p := range registry.Patterns() {
		mux.Handle(p, reg)
	}
	// The web UI's pages and assets: "/{$}", "/login", "/stacks/", ….
	pages := ui.Handler()
	for _, p := range ui.Paths() {
		mux.Handle(p, pages)
	}
	// Everything else is the API's: /api/v1/… (the JSON API, the state
	// backend, the worker protocol, the VCS agents' tunnel), /healthz,
	// /readyz, and JSON 404s for unknown paths — except that a browser
	// asking for a page outside /api/ gets the UI's 404 page, with the
	// navigation.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if browserPage(r) {
			pages.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	return mux
}

// browserPage reports whether r is a browser's page load outside the
// API's own paths: a GET (or HEAD) whose Accept names HTML first.
func browserPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if p := r.URL.Path; strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/internal/") {
		return false
	}
	accept := r.Header.Get("Accept")
	return strings.HasPrefix(accept, "text/html") || strings.HasPrefix(accept, "application/xhtml+xml")
}
