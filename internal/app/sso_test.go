package app_test

import (
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/sso"
)

// TestSSOSettingsRefusedAtStart: settings the server could not honour stop
// it at start with a message naming the flag.
func TestSSOSettingsRefusedAtStart(t *testing.T) {
	t.Parallel()
	good := sso.Settings{Issuer: "https://gitlab.example.com", ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name  string
		tweak func(*app.Config)
		want  string
	}{
		{"local login off without an issuer", func(c *app.Config) { c.NoLocalLogin = true }, "--local-login=false needs --oidc-issuer"},
		{"http issuer", func(c *app.Config) { c.OIDC = good; c.OIDC.Issuer = "http://gitlab.example.com" }, "--oidc-issuer: must be an https URL"},
		{"no client id", func(c *app.Config) { c.OIDC = good; c.OIDC.ClientID = "" }, "--oidc-client-id is required"},
		{"no secret", func(c *app.Config) { c.OIDC = good; c.OIDC.ClientSecret = "" }, "--oidc-client-secret-file is required"},
		{"missing secret file", func(c *app.Config) { c.OIDC = good; c.OIDCClientSecretFile = "/nonexistent/oidc-secret" }, "--oidc-client-secret-file:"},
		{"refresh too short", func(c *app.Config) { c.OIDC = good; c.OIDC.Refresh = 1 }, "--oidc-refresh must be at least 1s"},
		{"local login off, no mapped root admin", func(c *app.Config) { c.OIDC = good; c.NoLocalLogin = true }, "no enabled user is root admin through a role mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := inproc.New(t, tt.tweak).Boot()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("start: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
