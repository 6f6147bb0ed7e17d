package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.Internal:     http.StatusInternalServerError,
	apperr.Unavailable:  http.StatusServiceUnavailable,
}

// tooLargeError is a request body over the limit: code invalid, status 413.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return "request body too large" }

// writeError answers err: the client gets the code, the client-safe message
// and the field; the log gets the full chain for internal errors only
// (client mistakes are routine and already in the access log).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := apperr.CodeOf(err)
	status := statusOf[code]
	var field string
	var ae *apperr.Error
	if errors.As(err, &ae) {
		field = ae.Field
	}
	msg := apperr.MessageOf(err)
	var tl *tooLargeError
	if errors.As(err, &tl) {
		code, status, msg = apperr.Invalid, http.StatusRequestEntityTooLarge, "request body is larger than the limit of "+humanBytes(tl.limit)
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == apperr.Internal {
		log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	} else if ae != nil && ae.Err != nil {
		log.LogAttrs(r.Context(), slog.LevelDebug, "request refused",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="hoist"`)
	case http.StatusServiceUnavailable:
		// A replica that shuts down: the next attempt reaches another one.
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, api.Error{Error: api.ErrorDetail{Code: code, Message: msg, Field: field}})
}

// writeJSON writes v with status. Encoding errors after the header is sent
// cannot be reported to the client; the connection just ends.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
