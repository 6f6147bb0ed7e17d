package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/schedule"
)

// renderer holds one template set per page, each with the shared layout.
type renderer struct {
	pages map[string]*template.Template
}

// newRenderer parses every page; now is the clock relative times read.
func newRenderer(fsys fs.FS, now func() time.Time) (*renderer, error) {
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	r := &renderer{pages: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).Funcs(template.FuncMap{
			// ago is a relative time with the absolute one on hover.
			"ago": func(t time.Time) template.HTML { return ago(t, now()) },
		}).ParseFS(fsys, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", base, err)
		}
		r.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return r, nil
}

var funcs = template.FuncMap{
	"markdown": renderMarkdown,
	"join":     strings.Join,
	// shellWords writes a task's arguments as the schedule form reads them.
	"shellWords": schedule.FormatCommand,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"timep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	// httpURL keeps only http(s) URLs for links (private://… are not links).
	"httpURL": func(s string) bool { return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") },
}

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string // the active tab
	Viewer  *viewer
	CSRF    string
	Flash   string
	Status  int
	Stacks  bool // the stack pages exist
	Runs    bool // the runs list exists
	Modules bool // the Modules pages exist
	// Banners are warnings every page shows its viewer: integration
	// tokens about to expire, to the admins of their spaces.
	Banners []string
	// Refresh sends the browser on to this URL at once (the issuer's
	// logout, which a redirect could not reach: see loggedOutPage).
	Refresh string
	Content any
}

// viewer is the logged-in principal as the layout shows it.
type viewer struct {
	Principal string
	Name      string
	RootAdmin bool
	// PersonalKeys: a user, or a personal key of one, whose personal keys
	// /account/api-keys shows; a session logged in with an ordinary key
	// has no user, so the page would only refuse it.
	PersonalKeys bool
}

// render writes a page with status; templates render into a buffer first so
// a template error is a clean 500, not half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := u.pages.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if s, ok := sessionOf(r); ok {
		v.Viewer, v.CSRF = s.viewer, s.sess.CSRFToken
		v.Banners = u.tokenBanners(r.Context(), s.viewer.Principal)
	}
	v.Status, v.Stacks, v.Runs = status, u.cfg.Stacks != nil, u.cfg.Stacks != nil && u.cfg.Runs != nil
	v.Modules = u.cfg.Modules != nil
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	if err != nil {
		return errWritten
	}
	return nil
}

// errWritten means the answer is already (partly) sent: nothing more to do.
var errWritten = errors.New("response already written")

var errNotFound = apperr.Errorf(apperr.NotFound, "There is no such page.")

// errorPage is the content of error.html.
type errorPage struct {
	Heading string
	Message string
}

// fail answers err as an error page: client mistakes with their message,
// internal errors with a generic one (the detail goes to the log).
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errWritten) {
		return
	}
	status, heading := http.StatusInternalServerError, "Something went wrong"
	msg := "Hoist could not complete this request; the server log has the details."
	switch apperr.CodeOf(err) {
	case apperr.NotFound:
		status, heading, msg = http.StatusNotFound, "Not found", apperr.MessageOf(err)
	case apperr.Forbidden:
		status, heading, msg = http.StatusForbidden, "Not allowed", apperr.MessageOf(err)
	case apperr.Invalid, apperr.Conflict:
		status, heading, msg = http.StatusBadRequest, "Cannot do that", apperr.MessageOf(err)
	case apperr.Unauthorized:
		status, heading, msg = http.StatusUnauthorized, "Not logged in", apperr.MessageOf(err)
	case apperr.Unavailable:
		status, heading, msg = http.StatusServiceUnavailable, "Try again", apperr.MessageOf(err)
	default:
		u.log.ErrorContext(r.Context(), "web request failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
	}
	var te *tooManyError
	if errors.As(err, &te) {
		status, heading, msg = http.StatusTooManyRequests, "Too many attempts", te.Error()
	}
	if rerr := u.render(w, r, status, "error", view{Title: heading, Content: errorPage{Heading: heading, Message: msg}}); rerr != nil && !errors.Is(rerr, errWritten) {
		u.log.ErrorContext(r.Context(), "render error page", "error", rerr.Error())
		http.Error(w, msg, status)
	}
}

// tooManyError is a rate-limited login: 429.
type tooManyError struct{ window time.Duration }

func (e *tooManyError) Error() string {
	return fmt.Sprintf("Too many failed logins from this address or for this user. Wait %d minutes and try again.", int(e.window.Minutes()))
}
