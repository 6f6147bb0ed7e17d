package gitlab_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// simEnv is a started simulator with one user.
type simEnv struct {
	sim  *gitlabsim.Server
	url  string
	user gitlabsim.User
}

func startSim(t *testing.T) simEnv {
	t.Helper()
	sim, url := apptest.StartGitLab(t)
	u, err := sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	return simEnv{sim: sim, url: url, user: u}
}

func (e simEnv) token(t *testing.T, o gitlabsim.TokenOptions) string {
	t.Helper()
	o.UserID = e.user.ID
	tok, err := e.sim.CreateToken(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

func TestCheckAgainstSimulator(t *testing.T) {
	t.Parallel()
	e := startSim(t)
	checker := gitlab.New(nil, nil)
	check := func(tok string) (vcs.TokenInfo, error) {
		return checker.CheckToken(t.Context(), vcs.Endpoint{APIHost: e.url, Token: tok})
	}

	t.Run("valid api token", func(t *testing.T) {
		info, err := check(e.token(t, gitlabsim.TokenOptions{Scopes: []string{"api", "read_user"}}))
		if err != nil {
			t.Fatal(err)
		}
		if info.User != "hoist-bot" || info.UserID != int64(e.user.ID) || !slices.Equal(info.Scopes, []string{"api", "read_user"}) || info.ExpiresAt != nil {
			t.Fatalf("info = %+v", info)
		}
	})
	t.Run("expiry recorded", func(t *testing.T) {
		exp := time.Now().UTC().AddDate(0, 0, 40)
		info, err := check(e.token(t, gitlabsim.TokenOptions{ExpiresAt: &exp}))
		if err != nil {
			t.Fatal(err)
		}
		if info.ExpiresAt == nil || info.ExpiresAt.Format(time.DateOnly) != exp.Format(time.DateOnly) {
			t.Fatalf("expires_at = %v, want %s", info.ExpiresAt, exp.Format(time.DateOnly))
		}
	})
	t.Run("no api scope", func(t *testing.T) {
		_, err := check(e.token(t, gitlabsim.TokenOptions{Scopes: []string{"read_api"}}))
		wantRefusal(t, err, "token", "token has scopes [read_api]; Hoist needs the `api` scope")
	})
	t.Run("revoked", func(t *testing.T) {
		_, err := check(e.token(t, gitlabsim.TokenOptions{Revoked: true}))
		wantRefusal(t, err, "token", "GitLab rejected the token (revoked or expired) — create a new token")
	})
	t.Run("expired", func(t *testing.T) {
		past := time.Now().UTC().AddDate(0, 0, -2)
		_, err := check(e.token(t, gitlabsim.TokenOptions{ExpiresAt: &past}))
		wantRefusal(t, err, "token", "GitLab rejected the token (revoked or expired)")
	})
	t.Run("unknown token", func(t *testing.T) {
		_, err := check(testToken)
		wantRefusal(t, err, "token", "GitLab rejected the token")
	})
}

// TestCheckSimulatorBehindTLS serves the simulator over TLS: without the CA
// the check stops at TLS; with it in ca_bundle the whole check passes.
func TestCheckSimulatorBehindTLS(t *testing.T) {
	t.Parallel()
	e := startSim(t)
	srv := httptest.NewUnstartedServer(e.sim.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tok := e.token(t, gitlabsim.TokenOptions{})
	checker := gitlab.New(nil, nil)

	_, err := checker.CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: tok})
	wantRefusal(t, err, "ca_bundle", "certificate signed by unknown authority — add the GitLab CA to ca_bundle")

	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	info, err := checker.CheckToken(t.Context(), vcs.Endpoint{APIHost: srv.URL, Token: tok, CABundle: ca})
	if err != nil {
		t.Fatalf("with the CA in ca_bundle: %v", err)
	}
	if info.User != "hoist-bot" {
		t.Fatalf("token user = %q", info.User)
	}
}
