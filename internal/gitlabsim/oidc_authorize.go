package gitlabsim

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authCode is a one-time authorization code, in memory only.
type authCode struct {
	appID       int
	redirectURI string
	nonce       string
	challenge   string // PKCE S256
	userID      int
	scopes      []string
	authTime    time.Time
	expires     time.Time
	used        bool
	family      int // the token family the code started, once exchanged
}

// authzRequest is a validated authorization request.
type authzRequest struct {
	app         OAuthApp
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	params      map[string]string // as received, for the page's form
}

var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method"}

// pkceRe is RFC 7636's code_verifier and code_challenge alphabet; an S256
// challenge is always 43 characters.
var pkceRe = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// parseAuthorize validates an authorization request. When the client or
// its redirect URI is not established, redirect is false and the error is
// shown to the user (RFC 6749 4.1.2.1); otherwise the error goes back to
// the client in a redirect.
func (s *Server) parseAuthorize(v url.Values) (req authzRequest, oerr *oauthError, redirect bool) {
	p, oerr := singleValues(v, authorizeParams...)
	if oerr != nil {
		return req, oerr, false
	}
	req.params = p
	s.mu.Lock()
	app := s.st.appByClientID(p["client_id"])
	if app != nil {
		req.app = *app
	}
	s.mu.Unlock()
	if app == nil {
		return req, &oauthError{status: http.StatusBadRequest, code: "invalid_client", desc: "Client authentication failed due to unknown client."}, false
	}
	if !slices.Contains(req.app.RedirectURIs, p["redirect_uri"]) {
		return req, &oauthError{status: http.StatusBadRequest, code: "invalid_redirect_uri",
			desc: "The redirect URI included is not valid."}, false
	}
	req.redirectURI, req.state, req.nonce, req.challenge = p["redirect_uri"], p["state"], p["nonce"], p["code_challenge"]
	req.scopes = strings.Fields(p["scope"])
	switch {
	case p["response_type"] != "code":
		return req, &oauthError{status: http.StatusBadRequest, code: "unsupported_response_type",
			desc: "The authorization server does not support this response type."}, true
	case req.state == "":
		return req, errInvalidRequest("state is required"), true
	case !slices.Contains(req.scopes, "openid"):
		return req, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", desc: "The scope must include openid."}, true
	case slices.ContainsFunc(req.scopes, func(sc string) bool { return !slices.Contains(req.app.Scopes, sc) }):
		return req, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
			desc: "The requested scope is invalid, unknown, or malformed."}, true
	case req.nonce == "":
		return req, errInvalidRequest("nonce is required"), true
	case req.challenge == "":
		return req, errInvalidRequest("code_challenge is required (PKCE)"), true
	case p["code_challenge_method"] != "S256":
		return req, errInvalidRequest("code_challenge_method must be S256"), true
	case len(req.challenge) != 43 || !pkceRe.MatchString(req.challenge):
		return req, errInvalidRequest("code_challenge is not a base64url SHA-256"), true
	}
	return req, nil, true
}

// redirectError sends the error to the client's redirect URI.
func redirectError(w http.ResponseWriter, r *http.Request, req authzRequest, e *oauthError) {
	q := url.Values{"error": {e.code}, "error_description": {e.desc}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, q), http.StatusFound)
}

// withQuery adds q to the redirect URI's own query.
func withQuery(ru string, q url.Values) string {
	u, err := url.Parse(ru)
	if err != nil {
		return ru // registered URIs were parsed at registration
	}
	have := u.Query()
	for k, vs := range q {
		have[k] = vs
	}
	u.RawQuery = have.Encode()
	return u.String()
}

func (s *Server) authorizeFailed(w http.ResponseWriter, r *http.Request, req authzRequest, e *oauthError, redirect bool) {
	if redirect {
		redirectError(w, r, req, e)
		return
	}
	renderError(w, e)
}

// serveAuthorizePage shows the users to sign in as: the simulator has no
// passwords, so choosing one is the login.
func (s *Server) serveAuthorizePage(w http.ResponseWriter, r *http.Request) {
	req, oerr, redirect := s.parseAuthorize(r.URL.Query())
	if oerr != nil {
		s.authorizeFailed(w, r, req, oerr, redirect)
		return
	}
	type field struct{ Name, Value string }
	data := struct {
		App    string
		Scopes string
		Hidden []field
		Users  []User
	}{App: req.app.Name, Scopes: strings.Join(req.scopes, " ")}
	for _, n := range authorizeParams {
		if v, ok := req.params[n]; ok {
			data.Hidden = append(data.Hidden, field{n, v})
		}
	}
	s.mu.Lock()
	for _, u := range s.st.Users {
		if !u.Bot {
			data.Users = append(data.Users, *u)
		}
	}
	s.mu.Unlock()
	renderPage(w, http.StatusOK, authorizePage, data)
}

// serveAuthorizeDecision is the page's form: it issues a one-time code for
// the chosen user and redirects to the client.
func (s *Server) serveAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxOAuthForm)
	if err := r.ParseForm(); err != nil {
		renderError(w, errInvalidRequest("the form cannot be read"))
		return
	}
	req, oerr, redirect := s.parseAuthorize(r.PostForm)
	if oerr != nil {
		s.authorizeFailed(w, r, req, oerr, redirect)
		return
	}
	uid, err := strconv.Atoi(r.PostForm.Get("user_id"))
	now := s.now()
	code := randomHex(32)
	s.mu.Lock()
	u := s.st.userByID(uid)
	known := err == nil && u != nil && !u.Bot
	room := false
	if known {
		for k, c := range s.oauth.codes {
			// Redeemed codes stay a while longer, so a late replay still revokes.
			if keep := c.expires.Add(usedCodeGrace); !now.Before(c.expires) && (!c.used || !now.Before(keep)) {
				delete(s.oauth.codes, k)
			}
		}
		if room = len(s.oauth.codes) < maxPendingCode; room {
			s.oauth.codes[code] = &authCode{appID: req.app.ID, redirectURI: req.redirectURI, nonce: req.nonce, challenge: req.challenge,
				userID: uid, scopes: req.scopes, authTime: now, expires: now.Add(authCodeTTL)}
		}
	}
	s.mu.Unlock()
	switch {
	case !known:
		renderError(w, errInvalidRequest("choose a user of the simulator"))
	case !room:
		redirectError(w, r, req, &oauthError{code: "temporarily_unavailable", desc: "Too many pending authorization codes."})
	default:
		http.Redirect(w, r, withQuery(req.redirectURI, url.Values{"code": {code}, "state": {req.state}}), http.StatusFound)
	}
}

func renderError(w http.ResponseWriter, e *oauthError) {
	renderPage(w, http.StatusBadRequest, errorPage, struct{ Code, Desc string }{e.code, e.desc})
}

func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = t.Execute(w, data) // the client went away; nothing to do
}

const pageStyle = `<style>body{font-family:sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
button{display:block;margin:.5rem 0;padding:.5rem 1rem;font-size:1rem}</style>`

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {{.App}} · GitLab simulator</title>` + pageStyle + `</head>
<body><h1>Authorize {{.App}}</h1>
<p>{{.App}} asks to use your account (scopes: {{.Scopes}}). The simulator has no passwords: choose whom to sign in as.</p>
<form method="post" action="/oauth/authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{range .Users}}<button type="submit" name="user_id" value="{{.ID}}" data-username="{{.Username}}">{{.Username}} ({{.Name}})</button>
{{else}}<p>The simulator has no users.</p>
{{end}}</form></body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization error · GitLab simulator</title>` + pageStyle + `</head>
<body><h1>An error has occurred</h1>
<p><code class="error">{{.Code}}</code>: {{.Desc}}</p></body></html>
`))
