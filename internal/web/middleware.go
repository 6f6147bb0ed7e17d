package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/web/session"
)

// handlerFunc is a page handler that returns its error for fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type ctxKey int

const sessionKey ctxKey = iota

// current is the request's session and who it belongs to.
type current struct {
	sess   session.Session
	viewer *viewer
}

func sessionOf(r *http.Request) (*current, bool) {
	c, ok := r.Context().Value(sessionKey).(*current)
	return c, ok
}

// principal returns the logged-in principal (pages only run with one).
func principal(r *http.Request) string {
	if c, ok := sessionOf(r); ok {
		return c.sess.Principal
	}
	return ""
}

// maxFormBytes bounds a form post: a CA bundle (256 KiB) and a description
// (64 KiB) with room to spare.
const maxFormBytes = 1 << 20

// public serves a handler without a login (the session is still loaded
// when there is one, for the layout).
func (u *UI) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := u.loadSession(r); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), sessionKey, c))
		}
		if err := h(w, r); err != nil {
			u.fail(w, r, err)
		}
	})
}

// page serves a handler that needs a login; without one the browser goes
// to the login page and comes back afterwards.
func (u *UI) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.loadSession(r)
		if apperr.Is(err, apperr.Unauthorized) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, c))
		if err := h(w, r); err != nil {
			u.fail(w, r, err)
		}
	})
}

// form serves a POST that needs a login and the session's CSRF token in the
// csrf_token field; anything else is refused with 403 before the handler
// runs.
func (u *UI) form(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.loadSession(r)
		if err != nil {
			u.refuse(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, c))
		if err := u.checkForm(w, r, c.sess.CSRFToken); err != nil {
			u.refuse(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			u.fail(w, r, err)
		}
	})
}

var errCSRF = apperr.Errorf(apperr.Forbidden, "This form has expired or did not come from Hoist. Go back, reload the page and try again.")

// refuse answers a form that cannot be accepted: 403, whatever the reason
// (no session or a bad token), so cross-site posts learn nothing.
func (u *UI) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if !apperr.Is(err, apperr.Unauthorized) && !errors.Is(err, errCSRF) {
		u.fail(w, r, err)
		return
	}
	u.fail(w, r, errCSRF)
}

// checkForm parses the posted form (bounded) and checks the Origin header
// when the browser sends one and the CSRF token.
func (u *UI) checkForm(w http.ResponseWriter, r *http.Request, want string) error {
	if o := r.Header.Get("Origin"); o != "" && o != u.origin && o != requestOrigin(r) {
		return errCSRF
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return apperr.Errorf(apperr.Invalid, "The form is larger than %d KiB.", maxFormBytes>>10)
		}
		return apperr.Errorf(apperr.Invalid, "The form could not be read.")
	}
	if !session.TokensEqual(r.PostForm.Get("csrf_token"), want) {
		return errCSRF
	}
	return nil
}

// requestOrigin is the origin the browser addressed (loopback tests and
// servers reached by their listen address).
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// loadSession resolves the session cookie and names its principal.
func (u *UI) loadSession(r *http.Request) (*current, error) {
	ck, err := r.Cookie(u.cookieName())
	if err != nil {
		return nil, apperr.Errorf(apperr.Unauthorized, "not logged in")
	}
	s, err := u.sessions.Lookup(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	v, err := u.viewerOf(r.Context(), s.Principal)
	if err != nil {
		return nil, err
	}
	return &current{sess: s, viewer: v}, nil
}

// viewerOf names a principal for the layout. A principal deleted or
// disabled since the login, or an API key that expired since, ends the
// session (identity.Service.Active).
func (u *UI) viewerOf(ctx context.Context, p string) (*viewer, error) {
	name, err := u.cfg.Identity.Active(ctx, p)
	if err != nil {
		return nil, err
	}
	v := &viewer{Principal: p, Name: name}
	if v.RootAdmin, err = u.cfg.Identity.IsRootAdmin(ctx, p); err != nil {
		return nil, err
	}
	if v.PersonalKeys, err = u.cfg.Identity.CanHavePersonalKeys(ctx, p); err != nil {
		return nil, err
	}
	return v, nil
}

// secureHeaders keeps pages out of frames and caches and allows only the
// UI's own scripts and styles.
func (u *UI) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if u.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store") // pages can show webhook secrets
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one line per request: method, path (never the query:
// it may hold a next= URL; never the form), status and duration.
func (u *UI) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		u.log.LogAttrs(r.Context(), slog.LevelInfo, "web request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}
