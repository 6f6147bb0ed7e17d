package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	type body struct {
		Name   string   `json:"name"`
		Labels []string `json:"labels"`
	}
	tests := []struct {
		name       string
		in         string
		wantStatus int
		wantField  string
		wantMsg    string
	}{
		{"ok", `{"name":"x","labels":["a"]}`, 0, "", ""},
		{"unknown field", `{"name":"x","tokn":"y"}`, 400, "tokn", "unknown field"},
		{"wrong type", `{"name":5}`, 400, "name", "must be a string"},
		{"not an object", `[1]`, 400, "", "JSON object"},
		{"malformed", `{"name":`, 400, "", "truncated"},
		{"syntax", `{"name" "x"}`, 400, "", "not valid JSON"},
		{"empty", ``, 400, "", "empty"},
		{"two objects", `{"name":"x"}{"name":"y"}`, 400, "", "exactly one JSON object"},
		{"too large", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "", "larger than the limit of 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tt.in))
			var b body
			err := decode(rec, req, &b)
			if tt.wantStatus == 0 {
				if err != nil || b.Name != "x" {
					t.Fatalf("decode = %v, %+v", err, b)
				}
				return
			}
			if err == nil {
				t.Fatal("decode accepted the body")
			}
			writeError(rec, req, slog.New(slog.DiscardHandler), err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			var eb api.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body %q: %v", rec.Body.String(), err)
			}
			if eb.Error.Code != "invalid" || eb.Error.Field != tt.wantField || !strings.Contains(eb.Error.Message, tt.wantMsg) {
				t.Errorf("error = %+v, want invalid on %q containing %q", eb.Error, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestUnknownRouteAndMissingAuth(t *testing.T) {
	t.Parallel()
	h := New(Config{})
	for _, tt := range []struct {
		method, path, auth string
		status             int
		code               string
	}{
		{"GET", "/api/v1/nope", "", 404, "not_found"},
		{"GET", "/api/v1/integrations", "", 401, "unauthorized"},
		{"GET", "/api/v1/integrations", "Basic abc", 401, "unauthorized"},
		{"GET", "/healthz", "", 200, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if err := apitest.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Errorf("%s %s: the answer does not match the document: %v", tt.method, tt.path, err)
		}
		if tt.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
			t.Errorf("%s %s body %s, want code %s", tt.method, tt.path, rec.Body.String(), tt.code)
		}
	}
}
