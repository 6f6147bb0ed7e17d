package gitlabsim

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/gitlabsim/gitrepo"
)

// call is one REST request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request // path parameters: r.PathValue
	user  *User         // nil when anonymous; a copy
	token *Token
	body  map[string]any
	base  string // the simulator's base URL, for Link headers
}

func tokenFromRequest(r *http.Request) string {
	if t := r.Header.Get("Private-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	if t := r.URL.Query().Get("private_token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

// authenticate resolves the token, if any, and enforces its scopes the way
// GitLab's API guard does: reads need read_api or api, writes need api.
func (c *call) authenticate() error {
	value := tokenFromRequest(c.r)
	if value == "" {
		if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
			return unauthorized()
		}
		return nil
	}
	s := c.s
	s.mu.Lock()
	t := s.apiTokenLocked(value)
	var u *User
	if t != nil {
		u = s.st.userByID(t.UserID)
	}
	now := s.now()
	if t != nil && !t.Revoked && !t.expired(now) {
		t.LastUsedAt = &now
	}
	var tc Token
	var uc User
	if t != nil && u != nil {
		tc, uc = *t, *u
		tc.Scopes = slices.Clone(t.Scopes)
	}
	s.mu.Unlock()
	switch {
	case t == nil || u == nil:
		return unauthorized()
	case tc.Revoked:
		return invalidToken("Token was revoked. You have to re-authorize from the user.")
	case tc.expired(now):
		return invalidToken("Token is expired. You can either do re-authorization or token refresh.")
	}
	c.token, c.user = &tc, &uc
	allowed := []string{"api"}
	if c.r.Method == http.MethodGet || c.r.Method == http.MethodHead {
		allowed = append(allowed, "read_api")
	}
	segs := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	switch {
	case len(segs) == 4 && segs[2] == "personal_access_tokens" && segs[3] == "self":
		return nil // any scope may introspect itself
	case len(segs) == 3 && segs[2] == "user" && c.r.Method == http.MethodGet:
		allowed = append(allowed, "read_user")
	}
	for _, sc := range tc.Scopes {
		if slices.Contains(allowed, sc) {
			return nil
		}
	}
	return insufficientScope(allowed)
}

// apiTokenLocked finds a personal, project or group token, or an OAuth
// access token (GitLab's API takes those as Bearer tokens too) presented
// as a Token of kind oauth. Callers hold s.mu.
func (s *Server) apiTokenLocked(value string) *Token {
	if t := s.tokenByValue[value]; t != nil {
		return t
	}
	ot := s.oauth.byAccess[value]
	if ot == nil {
		return nil
	}
	exp := ot.ExpiresAt
	return &Token{ID: ot.ID, Name: "oauth", Value: value, UserID: ot.UserID, Kind: TokenOAuth, Scopes: ot.Scopes,
		ExpiresAt: &exp, Revoked: ot.Revoked, CreatedAt: ot.CreatedAt}
}

func (t *Token) expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

func invalidToken(desc string) *apiError {
	return &apiError{
		status: http.StatusUnauthorized,
		body:   map[string]string{"error": "invalid_token", "error_description": desc},
		header: http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer realm="", error="invalid_token", error_description=%q`, desc)}},
	}
}

func insufficientScope(scopes []string) *apiError {
	const desc = "The request requires higher privileges than provided by the access token."
	scope := strings.Join(scopes, " ")
	return &apiError{
		status: http.StatusForbidden,
		body:   map[string]string{"error": "insufficient_scope", "error_description": desc, "scope": scope},
		header: http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer realm="", error="insufficient_scope", error_description=%q, scope=%q`, desc, scope)}},
	}
}

// requireUser answers 401 for anonymous calls.
func (c *call) requireUser() error {
	if c.user == nil {
		return unauthorized()
	}
	return nil
}

// loadBody parses a JSON or form body once; GitLab accepts both, and query
// parameters on any method.
func (c *call) loadBody() {
	if c.body != nil {
		return
	}
	c.body = map[string]any{}
	if c.r.Body == nil || c.r.Method == http.MethodGet {
		return
	}
	ct, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(c.r.Body, 16<<20))
		if err == nil && len(b) > 0 {
			json.Unmarshal(b, &c.body)
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := c.r.ParseMultipartForm(16 << 20); err != nil {
			c.r.ParseForm()
		}
		for k, v := range c.r.PostForm {
			if len(v) > 0 {
				c.body[k] = v[0]
			}
		}
	}
}

// param returns a request parameter as a string and whether it was given.
func (c *call) param(name string) (string, bool) {
	c.loadBody()
	if v, ok := c.body[name]; ok && v != nil {
		switch x := v.(type) {
		case string:
			return x, true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(x), true
		default:
			b, _ := json.Marshal(x)
			return string(b), true
		}
	}
	q := c.r.URL.Query()
	if q.Has(name) {
		return q.Get(name), true
	}
	return "", false
}

func (c *call) str(name string) string {
	v, _ := c.param(name)
	return v
}

// boolParam reads a boolean parameter, def when absent.
func (c *call) boolParam(name string, def bool) bool {
	v, ok := c.param(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// intParam reads an integer path or request parameter; -1 when invalid.
func (c *call) pathInt(name string) int {
	n, err := strconv.Atoi(c.r.PathValue(name))
	if err != nil {
		return -1
	}
	return n
}

// project resolves :id, hiding projects the caller cannot see (404) and
// refusing callers below minLevel (403).
func (c *call) project(minLevel int) (Project, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(c.r.PathValue("id"))
	if err != nil || !s.st.canSee(c.user, p) {
		return Project{}, notFound("Project")
	}
	if c.level(p) < minLevel {
		if c.user == nil {
			return Project{}, unauthorized()
		}
		return Project{}, forbidden()
	}
	return *p, nil
}

// projectRepo is project with the project's Git repository.
func (c *call) projectRepo(minLevel int) (Project, *gitrepo.Repo, error) {
	p, err := c.project(minLevel)
	if err != nil {
		return Project{}, nil, err
	}
	repo, err := c.s.repo(p)
	return p, repo, err
}

// level is the caller's access, with non-members of public (and, when
// signed in, internal) projects reading like Reporters. Callers hold s.mu.
func (c *call) level(p *Project) int {
	level := c.s.st.accessLevel(c.user, p)
	if p.Visibility == "public" || (p.Visibility == "internal" && c.user != nil) {
		level = max(level, Reporter)
	}
	return level
}

func (c *call) ok(status int, v any) error {
	writeJSON(c.w, status, v)
	return nil
}
