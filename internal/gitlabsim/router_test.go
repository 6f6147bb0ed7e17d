package gitlabsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRouting: the REST API on http.ServeMux keeps GitLab's answers: an
// encoded project path is one {id}, literal segments win over the archive
// wildcard, unknown paths are JSON 404s and known paths with another
// method JSON 405s.
func TestRouting(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/v4/projects/acme%2Finfra%2Fapp", 200, `"path_with_namespace":"acme/infra/app"`},
		{"GET", "/api/v4/projects/acme%2Finfra%2Fapp/repository/branches", 200, `"name":"main"`},
		{"HEAD", "/api/v4/projects/acme%2Finfra%2Fapp/repository/archive.tar.gz?sha=main", 200, ""},
		{"GET", "/api/v4/projects/acme%2Finfra%2Fapp/repository/nothing", 404, `"message":"404 Not found"`},
		{"GET", "/api/v4/projects/acme%2Fnope", 404, `"message":"404 Project Not Found"`},
		{"GET", "/api/v4/no/such/route", 404, `{"error":"404 Not Found"}`},
		{"PATCH", "/api/v4/projects/acme%2Finfra%2Fapp", 405, `{"error":"405 Method Not Allowed"}`},
		{"DELETE", "/api/v4/user", 405, `{"error":"405 Method Not Allowed"}`},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, f.url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("PRIVATE-TOKEN", f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.body)
		}
		if ct := resp.Header.Get("Content-Type"); tt.method != "HEAD" && ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, ct)
		}
	}
}
