package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDocumentLoads(t *testing.T) {
	t.Parallel()
	if err := Load(); err != nil {
		t.Fatal(err)
	}
}

const space = `{"id":"root","name":"root","parent":"","inherit":false,"description":"","labels":[],"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`

const run = `{"id":"run_1","stack":"app","type":"TRACKED","state":"FAILED","commit_sha":"abc","branch":"main","merge_request_iid":0,"trigger":"manual","triggered_by":"apikey:x","reason":"","delta":null,"history":[],"resources":[],"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		ct, body           string
		wantErr            string // "" for none
	}{
		{"space", "GET", "/api/v1/spaces/root", 200, "application/json", space, ""},
		{"field the document lacks", "GET", "/api/v1/spaces/root", 200, "application/json",
			strings.Replace(space, `"id"`, `"colour":"red","id"`, 1), "colour"},
		{"required field missing", "GET", "/api/v1/spaces/root", 200, "application/json",
			strings.Replace(space, `"labels":[],`, "", 1), "labels"},
		{"wrong type", "GET", "/api/v1/spaces/root", 200, "application/json",
			strings.Replace(space, `"inherit":false`, `"inherit":"no"`, 1), "inherit"},
		{"null delta before a plan", "GET", "/api/v1/runs/run_1", 200, "application/json", run, ""},
		{"delta", "GET", "/api/v1/runs/run_1", 200, "application/json",
			strings.Replace(run, `"delta":null`, `"delta":{"add":1,"change":0,"destroy":0,"import":0}`, 1), ""},
		{"state outside the enum", "GET", "/api/v1/runs/run_1", 200, "application/json",
			strings.Replace(run, `"FAILED"`, `"EXPLODED"`, 1), "state"},
		{"list", "GET", "/api/v1/spaces", 200, "application/json", `{"items":[` + space + `],"next_cursor":""}`, ""},
		{"error", "GET", "/api/v1/spaces/nope", 404, "application/json", `{"error":{"code":"not_found","message":"no space nope"}}`, ""},
		{"error of an unknown route", "GET", "/api/v1/nope", 404, "application/json", `{"error":{"code":"not_found","message":"no route"}}`, ""},
		{"success of an unknown route", "GET", "/api/v1/nope", 200, "application/json", `{}`, "no documented route"},
		{"error body that is not one", "GET", "/api/v1/spaces/nope", 404, "application/json", `{"message":"nope"}`, "error"},
		{"streamed log", "GET", "/api/v1/runs/run_1/logs?follow=true", 200, "text/plain; charset=utf-8", "", ""},
		{"archive", "GET", "/api/v1/workers/runs/run_1/source", 200, "application/gzip", "", ""},
		{"archive as something else", "GET", "/api/v1/workers/runs/run_1/source", 200, "text/html", "", "content type"},
		{"no content", "DELETE", "/api/v1/spaces/x", 204, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			h := http.Header{}
			if tt.ct != "" {
				h.Set("Content-Type", tt.ct)
			}
			var body []byte
			if isJSON(h) {
				body = []byte(tt.body)
			}
			err := Check(req, tt.status, h, body)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Check passed, want an error naming %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Check: %v\nwant it to name %q", err, tt.wantErr)
			}
		})
	}
}

func TestBrief(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("GET", "/api/v1/spaces/root", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	err := Check(req, 200, h, []byte(strings.Replace(space, `"id"`, `"colour":"red","id"`, 1)))
	got := brief(err)
	if !strings.Contains(got, "additional properties 'colour' not allowed") || strings.Contains(got, "\n") {
		t.Fatalf("brief = %q", got)
	}
}

// answerFunc is a RoundTripper that answers every request with a JSON body.
type answerFunc func(*http.Request) string

func (f answerFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(f(r))), Request: r}, nil
}

func TestTransportReportsAndKeepsTheBody(t *testing.T) {
	t.Parallel()
	answer := space
	var reports []string
	rt := NewTransport(answerFunc(func(*http.Request) string { return answer }), func(msg string) { reports = append(reports, msg) })
	body := func(path string) string {
		t.Helper()
		resp, err := rt.RoundTrip(httptest.NewRequest(http.MethodGet, path, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := body("/api/v1/spaces/root"); got != space || len(reports) != 0 {
		t.Fatalf("body %q, reports %q", got, reports)
	}
	if body("/web/spaces"); len(reports) != 0 {
		t.Fatalf("a page outside the API was checked: %q", reports)
	}
	answer = strings.Replace(space, `"id"`, `"colour":"red","id"`, 1)
	if got := body("/api/v1/spaces/root"); got != answer || len(reports) != 1 {
		t.Fatalf("body %q, reports %q", got, reports)
	}
	for _, want := range []string{"GET /api/v1/spaces/root → 200", "colour"} {
		if !strings.Contains(reports[0], want) {
			t.Errorf("report %q does not say %q", reports[0], want)
		}
	}
}
