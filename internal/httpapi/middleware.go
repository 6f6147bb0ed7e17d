package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	logInfoKey
)

// logInfo is filled in by inner handlers for the access log line.
type logInfo struct{ principal string }

// principalOf returns the authenticated principal of the request.
func principalOf(r *http.Request) string {
	p, _ := r.Context().Value(principalKey).(string)
	return p
}

// authenticate resolves `Authorization: Bearer <api-key>` to a principal.
// (User sessions come with the web UI.)
func (a *API) authenticate(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return apperr.Errorf(apperr.Unauthorized, "missing API key: send the header Authorization: Bearer <api-key>")
		}
		principal, err := a.cfg.Identity.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		if li, ok := r.Context().Value(logInfoKey).(*logInfo); ok {
			li.principal = principal
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), principalKey, principal)))
	}
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one line per request: method, path (never the query or
// headers, which can hold secrets), status, duration and principal.
func (a *API) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		li := &logInfo{}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logInfoKey, li)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("principal", li.principal),
		)
	})
}

// recoverPanics turns a panicking handler into a 500 with the stack logged.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, a.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
