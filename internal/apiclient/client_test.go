package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
)

// These tests cover decoding and error paths against canned answers; the
// behaviour of the real server is tested end to end in cmd/hoist.

func setup(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "hoist_k_secret")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorBodyDecodesToAppErr(t *testing.T) {
	t.Parallel()
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"invalid","message":"name: names are immutable","field":"name"}}`)
	})
	_, err := c.UpdateGitLabIntegration(context.Background(), "acme", api.UpdateGitLabIntegration{})
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *apperr.Error", err, err)
	}
	if ae.Code != apperr.Invalid || ae.Field != "name" || ae.Message != "name: names are immutable" {
		t.Fatalf("got %+v", ae)
	}
	if err.Error() != "name: names are immutable" {
		t.Fatalf("Error() = %q", err.Error())
	}
}

func TestNonJSONErrorUsesStatusAndHidesBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   apperr.Code
	}{
		{http.StatusUnauthorized, apperr.Unauthorized},
		{http.StatusForbidden, apperr.Forbidden},
		{http.StatusNotFound, apperr.NotFound},
		{http.StatusConflict, apperr.Conflict},
		{http.StatusRequestEntityTooLarge, apperr.Invalid},
		{http.StatusServiceUnavailable, apperr.Unavailable},
		{http.StatusBadGateway, apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			c := setup(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, "<html>proxy page with internal detail</html>")
			})
			_, err := c.GetSpace(context.Background(), "root")
			if got := apperr.CodeOf(err); got != tt.code {
				t.Fatalf("code = %s, want %s (err %v)", got, tt.code, err)
			}
			if strings.Contains(err.Error(), "proxy page") {
				t.Fatalf("error echoes the body: %v", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Fatalf("error does not name the status: %v", err)
			}
		})
	}
}

func TestRequestCarriesBearerAndOnlyGivenFields(t *testing.T) {
	t.Parallel()
	var gotAuth, gotMethod, gotPath string
	var gotBody map[string]any
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotMethod, gotPath = r.Header.Get("Authorization"), r.Method, r.URL.Path
		if err := json.NewDecoder(r.Body).Decode(&gotBody); err != nil {
			t.Errorf("decode body: %v", err)
		}
		io.WriteString(w, `{"id":"acme-gitlab","name":"Acme GitLab","provider":"gitlab","space":"root","is_default":true,
			"api_host":"https://gitlab.example","user_facing_host":"https://gitlab.example","private":false,
			"webhook_endpoint":"http://hoist.example/webhooks/gitlab/acme-gitlab","webhook_secret":"s3",
			"token_user":"bot","token_scopes":["api"],"token_expires_at":"2027-01-05T00:00:00Z",
			"warnings":["token expires on 2027-01-05 (in 40 days)"],"created_at":"2026-01-01T10:00:00Z"}`)
	})
	desc := "new"
	labels := []string{}
	it, err := c.UpdateGitLabIntegration(context.Background(), "acme-gitlab", api.UpdateGitLabIntegration{Description: &desc, Labels: &labels})
	if err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer hoist_k_secret" || gotMethod != http.MethodPatch || gotPath != "/api/v1/integrations/gitlab/acme-gitlab" {
		t.Fatalf("request = %s %s auth %q", gotMethod, gotPath, gotAuth)
	}
	if len(gotBody) != 2 || gotBody["description"] != "new" {
		t.Fatalf("body = %v, want only description and labels", gotBody)
	}
	if l, ok := gotBody["labels"].([]any); !ok || len(l) != 0 {
		t.Fatalf("labels = %#v, want an empty list (clearing them)", gotBody["labels"])
	}
	if it.WebhookSecret != "s3" || it.TokenExpiresAt == nil || it.TokenExpiresAt.Year() != 2027 || len(it.Warnings) != 1 {
		t.Fatalf("decoded %+v", it)
	}
}

func TestListFollowsCursor(t *testing.T) {
	t.Parallel()
	var cursors []string
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		cur := r.URL.Query().Get("cursor")
		cursors = append(cursors, cur)
		if r.URL.Query().Get("resource_type") != "integration" {
			t.Errorf("filter lost on page %q: %s", cur, r.URL.RawQuery)
		}
		switch cur {
		case "":
			io.WriteString(w, `{"items":[{"id":"3","action":"integration.delete"},{"id":"2","action":"integration.update"}],"next_cursor":"c2"}`)
		case "c2":
			io.WriteString(w, `{"items":[{"id":"1","action":"integration.create"}],"next_cursor":""}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	got, err := c.ListAudit(context.Background(), AuditFilter{ResourceType: "integration"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "3" || got[2].Action != "integration.create" {
		t.Fatalf("got %+v", got)
	}
	if strings.Join(cursors, ",") != ",c2" {
		t.Fatalf("cursors = %q", cursors)
	}
}

func TestListStopsOnRepeatedCursor(t *testing.T) {
	t.Parallel()
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"items":[{"id":"root"}],"next_cursor":"same"}`)
	})
	if _, err := c.ListSpaces(context.Background()); err == nil || !strings.Contains(err.Error(), "repeated cursor") {
		t.Fatalf("err = %v, want repeated cursor error", err)
	}
}

func TestDeleteAcceptsNoContent(t *testing.T) {
	t.Parallel()
	var gotMethod, gotQuery string
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotQuery = r.Method, r.URL.RawQuery
		w.WriteHeader(http.StatusNoContent)
	})
	if err := c.RevokeAPIKeyRole(context.Background(), "ci", "team-a"); err != nil {
		t.Fatal(err)
	}
	if gotMethod != http.MethodDelete || gotQuery != "space=team-a" {
		t.Fatalf("got %s ?%s", gotMethod, gotQuery)
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://x", "127.0.0.1:8080", "http://user:pw@host"} {
		if _, err := New(u, "t"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("New(%q) err = %v, want invalid", u, err)
		}
	}
}

func TestUnreachableServerErrorHasNoToken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := New("http://"+addr, "hoist_k_verysecret")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListIntegrations(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach Hoist") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "verysecret") {
		t.Fatalf("error leaks the token: %v", err)
	}
}
