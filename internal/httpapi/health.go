package httpapi

import (
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
)

func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
	return nil
}

// readyz answers 503 while the database is unreachable or not migrated,
// or the server shuts down (code unavailable, saying so), so load balancers
// send no traffic to this replica.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.ReadyFunc != nil {
		if err := a.cfg.ReadyFunc(r.Context()); apperr.Is(err, apperr.Unavailable) {
			writeJSON(w, http.StatusServiceUnavailable, api.Error{Error: api.ErrorDetail{Code: apperr.Unavailable, Message: apperr.MessageOf(err)}})
			return nil
		} else if err != nil {
			a.log.WarnContext(r.Context(), "not ready", "error", err.Error())
			writeJSON(w, http.StatusServiceUnavailable, api.Error{Error: api.ErrorDetail{Code: apperr.Internal, Message: "not ready: database unavailable or not migrated"}})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, api.Health{Status: "ready"})
	return nil
}

// openAPI serves the contract's document; a test keeps its paths and the
// registered routes identical.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(api.Document)))
	_, err := w.Write(api.Document)
	return err
}
