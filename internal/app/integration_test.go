package app_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Acceptance 2: the checks of SPEC §2.2 against the simulator.
func TestCreateChecksTokenAgainstGitLab(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("Team A", "root")

	var created api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Acme GitLab", "team-a", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(t, &created)
	if created.ID != "acme-gitlab" || created.TokenUser != "hoist-bot" || len(created.TokenScopes) != 1 ||
		!hex64.MatchString(created.WebhookSecret) || created.UserFacingHost != h.SimURL || len(created.Warnings) != 0 {
		t.Fatalf("created = %+v", created)
	}

	wrongHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>It works!</html>"))
	}))
	t.Cleanup(wrongHost.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String()
	closed.Close()
	past := time.Now().UTC().AddDate(0, 0, -3)

	refusals := []struct {
		name, host, token, field, want string
	}{
		{"no api scope", h.SimURL, h.Token(gitlabsim.TokenOptions{Scopes: []string{"read_api", "read_repository"}}), "token", "token has scopes [read_api read_repository]; Hoist needs the `api` scope"},
		{"revoked", h.SimURL, h.Token(gitlabsim.TokenOptions{Revoked: true}), "token", "GitLab rejected the token (revoked or expired) — create a new token"},
		{"expired", h.SimURL, h.Token(gitlabsim.TokenOptions{ExpiresAt: &past}), "token", "GitLab rejected the token (revoked or expired)"},
		{"wrong host", wrongHost.URL, h.Token(gitlabsim.TokenOptions{}), "api_host", wrongHost.URL + " does not look like a GitLab API"},
		{"unreachable host", unreachable, h.Token(gitlabsim.TokenOptions{}), "api_host", "cannot reach " + unreachable + ": connection refused — check the API host URL"},
	}
	for _, tt := range refusals {
		body := h.integrationBody("Refused "+tt.name, "team-a", tt.token)
		body["api_host"] = tt.host
		r := h.Call("POST", "/api/v1/integrations/gitlab", h.AdminKey, body)
		code, msg, field := r.APIError(t)
		if r.Status != http.StatusBadRequest || code != "invalid" || field != tt.field || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %s/%s %q, want 400 invalid/%s containing %q", tt.name, r.Status, code, field, msg, tt.field, tt.want)
		}
	}

	soon := time.Now().UTC().AddDate(0, 0, 10)
	var expiring api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Expiring", "team-a", h.Token(gitlabsim.TokenOptions{ExpiresAt: &soon}))).Decode(t, &expiring)
	if expiring.TokenExpiresAt == nil || len(expiring.Warnings) != 1 ||
		!strings.Contains(expiring.Warnings[0], "token expires on "+soon.Format(time.DateOnly)) || !strings.HasPrefix(expiring.Warnings[0], "WARNING") {
		t.Fatalf("expiring = %+v, want a loud expiry warning", expiring)
	}

	// Nothing half-written: only the two accepted integrations exist, and
	// the audit log holds exactly their creation.
	var list api.Page[api.Integration]
	h.Must(http.StatusOK, "GET", "/api/v1/integrations", h.AdminKey, nil).Decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != "expiring" || list.Items[1].ID != "acme-gitlab" {
		t.Fatalf("integrations = %+v", list.Items)
	}
	var auditLog struct {
		Items []struct{ Action, ResourceID string }
	}
	h.Must(http.StatusOK, "GET", "/api/v1/audit?resource_type=integration", h.AdminKey, nil).Decode(t, &auditLog)
	if len(auditLog.Items) != 2 || auditLog.Items[0].Action != "integration.create" {
		t.Fatalf("audit = %+v", auditLog.Items)
	}

	var tested struct {
		OK        bool   `json:"ok"`
		TokenUser string `json:"token_user"`
	}
	h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/acme-gitlab/test", h.AdminKey, nil).Decode(t, &tested)
	if !tested.OK || tested.TokenUser != "hoist-bot" {
		t.Fatalf("test = %+v", tested)
	}
	h.AssertNoTokenLeaked()
}

// Acceptance 3: one default, immutable names, stable endpoints, new secrets.
func TestDefaultNameAndEndpoint(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *app.Config) { c.PublicURL = "https://hoist.example.com/" })

	var first api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Acme GitLab", "", h.Token(gitlabsim.TokenOptions{}))).Decode(t, &first)
	if want := "https://hoist.example.com/webhooks/gitlab/acme-gitlab"; first.WebhookEndpoint != want || !first.IsDefault || first.Space != "root" {
		t.Fatalf("first = %+v, want endpoint %s in root", first, want)
	}

	r := h.Call("POST", "/api/v1/integrations/gitlab", h.AdminKey, h.integrationBody("Second Default", "", h.Token(gitlabsim.TokenOptions{})))
	if code, msg, _ := r.APIError(t); r.Status != http.StatusConflict || code != "conflict" || !strings.Contains(msg, "acme-gitlab") {
		t.Fatalf("second default: %d %s %q", r.Status, code, msg)
	}

	r = h.Call("PATCH", "/api/v1/integrations/gitlab/acme-gitlab", h.AdminKey, map[string]any{"name": "Renamed"})
	if code, _, field := r.APIError(t); r.Status != http.StatusBadRequest || code != "invalid" || field != "name" {
		t.Fatalf("rename: %d %s %s", r.Status, code, field)
	}

	var rotated api.Integration
	h.Must(http.StatusOK, "POST", "/api/v1/integrations/gitlab/acme-gitlab/rotate-webhook-secret", h.AdminKey, nil).Decode(t, &rotated)
	if rotated.WebhookSecret == first.WebhookSecret || !hex64.MatchString(rotated.WebhookSecret) {
		t.Fatal("rotation kept the webhook secret")
	}

	h.Must(http.StatusNoContent, "DELETE", "/api/v1/integrations/gitlab/acme-gitlab", h.AdminKey, nil)
	h.Must(http.StatusNotFound, "GET", "/api/v1/integrations/gitlab/acme-gitlab", h.AdminKey, nil)
	var again api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Acme GitLab", "", h.Token(gitlabsim.TokenOptions{}))).Decode(t, &again)
	if again.WebhookEndpoint != first.WebhookEndpoint {
		t.Fatalf("endpoint changed: %s → %s", first.WebhookEndpoint, again.WebhookEndpoint)
	}
	if again.WebhookSecret == first.WebhookSecret || again.WebhookSecret == rotated.WebhookSecret {
		t.Fatal("re-created integration kept an old webhook secret")
	}

	var auditLog struct{ Items []struct{ Action string } }
	h.Must(http.StatusOK, "GET", "/api/v1/audit?resource_type=integration&resource_id=acme-gitlab", h.AdminKey, nil).Decode(t, &auditLog)
	var actions []string
	for _, e := range auditLog.Items {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "integration.create,integration.delete,integration.rotate_webhook_secret,integration.create" {
		t.Fatalf("audit actions (newest first) = %s", got)
	}
	h.AssertNoTokenLeaked()
}

// Issue 14 item 9: GitLab's API URL pasted as the API host is normalised to
// GitLab's root (Hoist adds /api/v4 itself; repository links built on the
// host would 404 with it), on create and on update.
func TestAPIHostWithAPIPathIsNormalised(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	body := h.integrationBody("Pasted API URL", "", h.Token(gitlabsim.TokenOptions{}))
	body["api_host"] = h.SimURL + "/api/v4/"
	var created api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey, body).Decode(t, &created)
	if created.APIHost != h.SimURL || created.UserFacingHost != h.SimURL || created.TokenUser != "hoist-bot" {
		t.Fatalf("created = %+v, want both hosts %s and the token checked", created, h.SimURL)
	}
	var updated api.Integration
	h.Must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/pasted-api-url", h.AdminKey,
		map[string]any{"api_host": h.SimURL + "/api/v4", "user_facing_host": h.SimURL + "/api/v4"}).Decode(t, &updated)
	if updated.APIHost != h.SimURL || updated.UserFacingHost != h.SimURL {
		t.Fatalf("updated = %+v, want both hosts %s", updated, h.SimURL)
	}
}
