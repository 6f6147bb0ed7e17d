package gitlabsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// apiHandler serves one REST route; a returned *apiError is rendered as
// GitLab renders it, any other error as a 500.
type apiHandler func(c *call) error

// apiRoutes registers REST handlers on a ServeMux.
type apiRoutes struct {
	s   *Server
	mux *http.ServeMux
}

func (rt apiRoutes) handle(method, pattern string, h apiHandler) {
	rt.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) { rt.s.serveAPI(h, w, r) })
}

// unknown answers what no route serves as GitLab does: 405 when the path
// is served for another method, else 404.
func (rt apiRoutes) unknown(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := rt.mux.Handler(probe); pattern != "/api/v4/" {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Method Not Allowed"})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
}

func (s *Server) serveAPI(h apiHandler, w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r, base: s.URL()}
	if c.base == "" {
		c.base = "http://" + r.Host
	}
	if err := c.authenticate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := h(c); err != nil {
		s.writeError(w, r, err)
	}
}

// apiError is an error answer with GitLab's status and body.
type apiError struct {
	status int
	body   any
	header http.Header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %v", e.status, e.body) }

func msgError(status int, msg any) *apiError {
	return &apiError{status: status, body: map[string]any{"message": msg}}
}

// notFound is GitLab's not_found!: {"message":"404 Project Not Found"}.
func notFound(what string) *apiError {
	if what == "" {
		return msgError(http.StatusNotFound, "404 Not found")
	}
	return msgError(http.StatusNotFound, "404 "+what+" Not Found")
}

func forbidden() *apiError { return msgError(http.StatusForbidden, "403 Forbidden") }

func unauthorized() *apiError { return msgError(http.StatusUnauthorized, "401 Unauthorized") }

// paramError is Grape's parameter validation error, e.g. "state is missing".
func paramError(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, body: map[string]string{"error": msg}}
}

// validationError is render_validation_error!: {"message":{"field":["..."]}}.
func validationError(field, msg string) *apiError {
	return msgError(http.StatusBadRequest, map[string][]string{field: {msg}})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("gitlab-sim request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = msgError(http.StatusInternalServerError, "500 Internal Server Error")
	}
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	writeJSON(w, ae.status, ae.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"500 Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=0, private, must-revalidate")
	w.WriteHeader(status)
	w.Write(b)
}
