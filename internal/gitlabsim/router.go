package gitlabsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// apiHandler serves one REST route; a returned *apiError is rendered as
// GitLab renders it, any other error as a 500.
type apiHandler func(c *call) error

type route struct {
	method string
	segs   []string
	h      apiHandler
}

// router matches on path segments split from the escaped path, so an :id of
// "group%2Fproject" stays one segment (http.ServeMux would decode %2F).
type router struct{ routes []route }

func (rt *router) handle(method, pattern string, h apiHandler) {
	rt.routes = append(rt.routes, route{method: method, segs: strings.Split(strings.Trim(pattern, "/"), "/"), h: h})
}

func splitPath(r *http.Request) ([]string, error) {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs[i] = u
	}
	return segs, nil
}

// match finds the route for method and segments. found reports whether the
// path matched some route (with another method when h is nil).
func (rt *router) match(method string, segs []string) (h apiHandler, params map[string]string, found bool) {
	for _, r := range rt.routes {
		if len(r.segs) != len(segs) {
			continue
		}
		p := map[string]string{}
		ok := true
		for i, s := range r.segs {
			switch {
			case strings.HasPrefix(s, ":"):
				p[s[1:]] = segs[i]
			case s != segs[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		found = true
		if r.method == method || (method == http.MethodHead && r.method == http.MethodGet) {
			return r.h, p, true
		}
	}
	return nil, nil, found
}

func (s *Server) serveAPI(rt *router, w http.ResponseWriter, r *http.Request) {
	segs, err := splitPath(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid path"})
		return
	}
	h, params, found := rt.match(r.Method, segs)
	if h == nil {
		if found {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Method Not Allowed"})
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	c := &call{s: s, w: w, r: r, params: params, base: s.URL()}
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
