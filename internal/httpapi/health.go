package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/apperr"
)

// openAPIDoc is the OpenAPI 3.1 description of this API; a test keeps it
// and the registered routes identical.
//
//go:embed openapi.json
var openAPIDoc []byte

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 503 while the database is unreachable or not migrated, so
// load balancers send no traffic to this replica.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.ReadyFunc != nil {
		if err := a.cfg.ReadyFunc(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "error", err.Error())
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: apperr.Internal, Message: "not ready: database unavailable or not migrated"}})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
	_, err := w.Write(openAPIDoc)
	return err
}
