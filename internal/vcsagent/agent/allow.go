package agent

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hoistdev/hoist/internal/vcsagent"
)

// route is one allow-listed GitLab API path below /api/v4. Segments are
// literal, or parameters: ":id" the project (numeric or URL-encoded
// namespace/project), ":ref" a branch or tag name (may hold an encoded
// "/"), ":n" a number or SHA, "archive*" the archive in any format.
type route struct {
	methods string // space-separated
	path    string
}

// allowList is exactly the GitLab API Hoist calls (SPEC §2.2, §4, §5):
// token checks, project and member checks for stacks, branches, changed
// files, source archives, module tags, and the write-back of commit
// statuses, merge request notes, environments, deployments and hooks,
// and drift issues.
// Module versions resolve abbreviated SHAs with repository/commits/:sha.
var allowList = []route{
	{"GET", "personal_access_tokens/self"},
	{"GET", "user"},
	{"GET", "projects/:id"},
	{"GET", "projects/:id/members/all/:n"},
	{"GET", "projects/:id/repository/branches/:ref"},
	{"GET", "projects/:id/repository/tags"},
	{"GET", "projects/:id/repository/tags/:ref"},
	{"GET", "projects/:id/repository/compare"},
	{"GET", "projects/:id/repository/archive*"},
	{"GET", "projects/:id/repository/commits/:n"},
	{"GET", "projects/:id/repository/commits/:n/statuses"},
	{"POST", "projects/:id/statuses/:n"},
	{"GET", "projects/:id/merge_requests/:n"},
	{"GET", "projects/:id/merge_requests/:n/diffs"},
	{"GET POST", "projects/:id/merge_requests/:n/notes"},
	{"GET PUT", "projects/:id/merge_requests/:n/notes/:n"},
	{"GET POST", "projects/:id/environments"},
	{"GET PUT", "projects/:id/environments/:n"},
	{"GET POST", "projects/:id/deployments"},
	{"GET PUT", "projects/:id/deployments/:n"},
	{"GET POST", "projects/:id/hooks"},
	{"GET PUT", "projects/:id/hooks/:n"},
	// A drifted stack's issue (docs/drift.md): found again by its marker
	// (listing the project's open issues), opened, then edited.
	{"GET POST", "projects/:id/issues"},
	{"PUT", "projects/:id/issues/:n"},
}

// apiRoot separates the GitLab relative URL root (private://pool/<root>)
// from the API path.
const apiRoot = "/api/v4/"

// match checks method and escaped path+query against the allow-list and
// returns the project named in the path ("" for user-level endpoints),
// decoded ("infra/net" or "42"). A refusal is a *vcsagent.RefusedError.
func match(method, rawPath string) (project string, err error) {
	u, err := url.Parse(rawPath)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(rawPath, "/") {
		return "", refuse("%s %s is not a GitLab API path", method, clip(rawPath))
	}
	escaped := u.EscapedPath()
	i := strings.Index(escaped, apiRoot)
	if i < 0 {
		return "", refuse("%s %s is not under /api/v4/ (only the GitLab REST API goes through agents)", method, clip(escaped))
	}
	if err := cleanSegments(escaped[:i]); err != nil {
		return "", err
	}
	segs := strings.Split(escaped[i+len(apiRoot):], "/")
	for _, r := range allowList {
		if p, ok := r.match(segs); ok {
			if method == http.MethodHead {
				method = http.MethodGet
			}
			if !strings.Contains(" "+r.methods+" ", " "+method+" ") {
				return "", refuse("%s %s is not on the agent's allow-list (allowed: %s)", method, clip(escaped), r.methods)
			}
			return p, nil
		}
	}
	return "", refuse("%s %s is not on the agent's allow-list", method, clip(escaped))
}

func (r route) match(segs []string) (project string, ok bool) {
	pat := strings.Split(r.path, "/")
	if len(pat) != len(segs) {
		return "", false
	}
	for i, p := range pat {
		dec, err := url.PathUnescape(segs[i])
		if err != nil || dec == "" || dec == "." || dec == ".." {
			return "", false
		}
		switch p {
		case ":id":
			if !validProject(dec) {
				return "", false
			}
			project = dec
		case ":ref":
			if strings.Contains(dec, "..") {
				return "", false
			}
		case ":n":
			if strings.Contains(dec, "/") {
				return "", false
			}
		case "archive*":
			if dec != "archive" && !strings.HasPrefix(dec, "archive.") {
				return "", false
			}
		default:
			if dec != p {
				return "", false
			}
		}
	}
	return project, true
}

// validProject accepts a numeric id or namespace/project (subgroups too)
// without empty, "." or ".." parts.
func validProject(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// cleanSegments refuses a relative URL root that could climb out of the
// target (".." once decoded) or hides encoded slashes.
func cleanSegments(prefix string) error {
	for _, seg := range strings.Split(strings.Trim(prefix, "/"), "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." || strings.Contains(dec, "/") {
			return refuse("path prefix %s is not allowed", clip(prefix))
		}
	}
	return nil
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func refuse(format string, args ...any) error {
	return &vcsagent.RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// clip keeps refusal messages (and logs) short.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
