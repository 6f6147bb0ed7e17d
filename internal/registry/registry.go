// Package registry serves Hoist's modules to OpenTofu through the module
// registry protocol: service discovery at /.well-known/terraform.json,
// version listing, and downloads that point at a short-lived signed Hoist
// URL serving the tar.gz of the version's project root (repacked from
// GitLab's archive and cached on disk).
//
// Listing and download lookups authenticate with a Hoist API key as a
// Bearer token (OpenTofu sends it from TF_TOKEN_<host> or a credentials
// block), or with a run's credential (RunToken) that reads what the run's
// stack's space can read. A principal without read on the module's space gets 404, as if
// the module did not exist. OpenTofu fetches the X-Terraform-Get URL without
// credentials, so that URL carries its own authorisation: an HMAC over the
// module, the version and an expiry.
package registry

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/module"
)

// Paths of the protocol. ModulesPath is what discovery announces.
const (
	DiscoveryPath = "/.well-known/terraform.json"
	ModulesPath   = "/registry/modules/v1/"
	ArchivesPath  = "/registry/archives/"
)

// LinkTTL is how long a download link stays valid: OpenTofu follows it
// right after asking for it.
const LinkTTL = 10 * time.Minute

// Config configures a Handler.
type Config struct {
	Modules *module.Service
	// Authenticate resolves an API key to a principal
	// (identity.Service.Authenticate).
	Authenticate func(ctx context.Context, key string) (string, error)
	// AuthenticateRun checks a run's credential (RunToken) and returns the
	// space of the run's stack; nil refuses runs' credentials. The module
	// service must then resolve access through RunAccess.
	AuthenticateRun func(ctx context.Context, runID, token string) (stackSpace string, err error)
	PublicURL       string // absolute base URL download links point at
	SigningKey      []byte // HMAC key of download links; the same on every replica
	CacheDir        string // where repacked archives are kept
	Clock           func() time.Time
	Logger          *slog.Logger
}

// Handler serves the registry protocol.
type Handler struct {
	cfg Config
	mux *http.ServeMux
	now func() time.Time
	log *slog.Logger
}

// New returns the registry handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), now: cfg.Clock, log: cfg.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	h.mux.HandleFunc("GET "+DiscoveryPath, h.discovery)
	h.mux.HandleFunc("GET "+ModulesPath+"{namespace}/{name}/{provider}/versions", h.authed(h.versions))
	h.mux.HandleFunc("GET "+ModulesPath+"{namespace}/{name}/{provider}/{version}/download", h.authed(h.download))
	h.mux.HandleFunc("GET "+ArchivesPath+"{module}/{file}", h.archive)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeErrors(w, http.StatusNotFound, "not found") })
	return h
}

// Patterns are the path prefixes to route to the Handler.
func Patterns() []string { return []string{DiscoveryPath, "/registry/"} }

// ServeHTTP serves the registry.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"modules.v1": ModulesPath})
}

type principalKey struct{}

// authed requires a Bearer API key.
func (h *Handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		key = strings.TrimSpace(key)
		if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hoist"`)
			writeErrors(w, http.StatusUnauthorized, "missing API key: set TF_TOKEN_<host> or a credentials block for this host to a Hoist API key")
			return
		}
		principal, err := h.authenticate(r.Context(), key)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal)))
	}
}

// resolve finds the module the request's path names for its principal.
func (h *Handler) resolve(r *http.Request) (module.Module, error) {
	ns, name, provider := r.PathValue("namespace"), r.PathValue("name"), r.PathValue("provider")
	if !module.ValidRegistryName(ns) || !module.ValidRegistryName(name) || !module.ValidRegistryProvider(provider) {
		return module.Module{}, apperr.Errorf(apperr.NotFound, "no module %s/%s/%s", ns, name, provider)
	}
	principal, _ := r.Context().Value(principalKey{}).(string)
	return h.cfg.Modules.Resolve(r.Context(), principal, ns, name, provider)
}

type versionsJSON struct {
	Modules []moduleVersionsJSON `json:"modules"`
}

type moduleVersionsJSON struct {
	Source   string        `json:"source"`
	Versions []versionJSON `json:"versions"`
}

type versionJSON struct {
	Version string `json:"version"`
}

// versions lists the versions not marked bad: a bad version is withdrawn
// from the registry, so no new `tofu init` selects it.
func (h *Handler) versions(w http.ResponseWriter, r *http.Request) {
	m, err := h.resolve(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vs, err := h.cfg.Modules.Available(r.Context(), m)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := moduleVersionsJSON{Source: m.SpaceID + "/" + m.ID + "/" + m.Provider, Versions: make([]versionJSON, 0, len(vs))}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionJSON{Version: v.Version})
	}
	writeJSON(w, http.StatusOK, versionsJSON{Modules: []moduleVersionsJSON{out}})
}

// download answers 204 with X-Terraform-Get: a signed link to the archive.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	m, err := h.resolve(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.cfg.Modules.AvailableVersion(r.Context(), m, r.PathValue("version"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("X-Terraform-Get", h.link(m.ID, v.Version))
	w.WriteHeader(http.StatusNoContent)
}

// link is the signed archive URL of a version. The path ends in .tar.gz so
// that OpenTofu's getter unpacks it.
func (h *Handler) link(moduleID, version string) string {
	exp := h.now().Add(LinkTTL).Unix()
	q := url.Values{"expires": {formatInt(exp)}, "signature": {sign(h.cfg.SigningKey, moduleID, version, exp)}}
	return h.cfg.PublicURL + ArchivesPath + url.PathEscape(moduleID) + "/" + url.PathEscape(version) + ".tar.gz?" + q.Encode()
}

// fail answers err in the protocol's error shape ({"errors": [...]}).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch apperr.CodeOf(err) {
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.Unauthorized:
		status = http.StatusUnauthorized
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.Invalid:
		status = http.StatusBadRequest
	case apperr.Conflict:
		status = http.StatusConflict
	}
	if status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "registry request failed", "path", r.URL.Path, "error", err)
	}
	writeErrors(w, status, apperr.MessageOf(err))
}

func writeErrors(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string][]string{"errors": {msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
