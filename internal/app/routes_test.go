package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRoutesHaveOneOwnerEach: the server's one router sends each path to
// its owner — the web UI (HTML), the module registry, the webhook intake,
// or the API (JSON, also for unknown paths).
func TestRoutesHaveOneOwnerEach(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		method, path string
		status       int
		contentType  string // prefix
		body         string // a part of the body
	}{
		{"GET", "/login", 200, "text/html", "<form"},
		{"GET", "/", 303, "", ""},                                                                   // the UI sends a visitor to log in
		{"GET", "/stacks/nothing/here", 404, "text/html", ""},                                       // the UI's subtree: its own 404 page
		{"GET", "/assets/hoist.css", 200, "text/css", ""},                                           // the UI's assets
		{"GET", "/.well-known/terraform.json", 200, "application/json", "modules.v1"},               // the registry
		{"GET", "/healthz", 200, "application/json", ""},                                            // the API
		{"GET", "/api/v1/nothing", 404, "application/json", `"not_found"`},                          // the API's JSON 404
		{"GET", "/nothing", 404, "application/json", `"not_found"`},                                 // unknown: the API's
		{"GET", "/nothing?browser", 404, "text/html", "There is no such page"},                      // unknown, from a browser: the UI's page
		{"POST", "/webhooks/gitlab/nope", 404, "", ""},                                              // the intake: no such integration
		{"GET", "/webhooks/gitlab/nope", 404, "application/json", ""},                               // not a webhook: the API's
		{"GET", "/internal/v1/agent-relay/lab/api/v4/user", 404, "application/json", `"not_found"`}, // no relay on SQLite
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, h.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(tt.path, "?browser") {
			req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) ||
			!strings.Contains(string(b), tt.body) {
			t.Errorf("%s %s = %d %s %.120q, want %d %s with %q", tt.method, tt.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), b, tt.status, tt.contentType, tt.body)
		}
	}
}
