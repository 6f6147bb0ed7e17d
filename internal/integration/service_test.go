package integration_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
	"github.com/hoistdev/hoist/internal/vcsagent"
)

const admin = "user:admin" // the bootstrap root admin

type fixture struct {
	svc    *integration.Service
	store  *sqlstore.Store
	box    *secret.Box
	sim    *gitlabsim.Server
	simURL string
	userID int
	now    time.Time
}

func setup(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/hoist.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if _, err := identity.NewService(store, store, clock).EnsureBootstrap(t.Context()); err != nil {
		t.Fatal(err)
	}
	spaces := space.NewService(store, store, clock)
	if _, err := spaces.Create(t.Context(), admin, space.CreateInput{Name: "A"}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sim, simURL := apptest.StartGitLab(t)
	u, err := sim.CreateUser(t.Context(), gitlabsim.UserOptions{Username: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	svc := integration.NewService(integration.Config{Store: store, Access: spaces, Pools: store, Checker: gitlab.New(nil, nil),
		Box: box, PublicURL: "https://hoist.example.com/", Clock: clock})
	return &fixture{svc: svc, store: store, box: box, sim: sim, simURL: simURL, userID: u.ID, now: now}
}

func (f *fixture) token(t *testing.T, o gitlabsim.TokenOptions) (string, int) {
	t.Helper()
	o.UserID = f.userID
	tok, err := f.sim.CreateToken(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value, tok.ID
}

func (f *fixture) lastAudit(t *testing.T) audit.Entry {
	t.Helper()
	es, _, err := f.store.ListAudit(t.Context(), audit.Filter{ResourceType: "integration"}, "", 1)
	if err != nil || len(es) == 0 {
		t.Fatalf("audit: %v %v", es, err)
	}
	return es[0]
}

func TestCreateSealsAndAudits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok, _ := f.token(t, gitlabsim.TokenOptions{})
	v, err := f.svc.Create(t.Context(), admin, integration.CreateInput{Name: "Acme GitLab", Space: "a", APIHost: f.simURL + "/", Token: tok, Labels: []string{"b", "a", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Details.WebhookEndpoint != "https://hoist.example.com/webhooks/gitlab/acme-gitlab" || v.APIHost != f.simURL || !slices.Equal(v.Labels, []string{"a", "b"}) {
		t.Fatalf("view = %+v %+v", v.Integration, v.Details)
	}
	stored, err := f.store.GetIntegration(t.Context(), "acme-gitlab")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.TokenSealed, []byte(tok)) || bytes.Contains(stored.WebhookSecretSealed, []byte(v.Details.WebhookSecret)) {
		t.Fatal("stored secrets are not sealed")
	}
	plain, err := f.box.Open(stored.TokenSealed, secret.AAD("integration", "acme-gitlab", "token"))
	if err != nil || string(plain) != tok {
		t.Fatalf("sealed token does not open to the token: %v", err)
	}
	e := f.lastAudit(t)
	if e.Action != "integration.create" || e.Actor != admin || e.SpaceID != "a" || strings.Contains(fmt.Sprint(e.Detail), tok) || !strings.Contains(fmt.Sprint(e.Detail), "token") {
		t.Fatalf("audit = %+v", e)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tok, tokID := f.token(t, gitlabsim.TokenOptions{})
	if _, err := f.svc.Create(t.Context(), admin, integration.CreateInput{Name: "GL", Space: "a", APIHost: f.simURL, Token: tok}); err != nil {
		t.Fatal(err)
	}
	desc, labels := "new words", []string{"x"}
	v, err := f.svc.Update(t.Context(), admin, "gl", integration.Patch{Description: &desc, Labels: &labels})
	if err != nil || v.Description != desc {
		t.Fatalf("update = %+v, %v", v.Integration, err)
	}
	if got := fmt.Sprint(f.lastAudit(t).Detail["fields"]); got != "[description labels]" {
		t.Errorf("audit fields = %s", got)
	}

	// A new API host is checked before anything is stored.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	if _, err := f.svc.Update(t.Context(), admin, "gl", integration.Patch{APIHost: &dead}); !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("update to a dead host: %v", err)
	}
	if got, _ := f.store.GetIntegration(t.Context(), "gl"); got.APIHost != f.simURL || got.UserFacingHost != f.simURL {
		t.Fatalf("failed update stored hosts %s %s", got.APIHost, got.UserFacingHost)
	}

	// A new token replaces the old one, which GitLab then revokes.
	newTok, _ := f.token(t, gitlabsim.TokenOptions{Scopes: []string{"api", "read_user"}})
	if v, err = f.svc.Update(t.Context(), admin, "gl", integration.Patch{Token: &newTok}); err != nil || len(v.TokenScopes) != 2 {
		t.Fatalf("token update = %+v, %v", v.Integration, err)
	}
	if err := f.sim.RevokeToken(t.Context(), tokID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Test(t.Context(), admin, "gl"); err != nil {
		t.Fatalf("test with the new token: %v", err)
	}

	// Moving a space-level integration to default, with one default only.
	yes := true
	if v, err = f.svc.Update(t.Context(), admin, "gl", integration.Patch{IsDefault: &yes}); err != nil || v.SpaceID != "root" {
		t.Fatalf("make default = %+v, %v", v.Integration, err)
	}
	tok2, _ := f.token(t, gitlabsim.TokenOptions{})
	if _, err := f.svc.Create(t.Context(), admin, integration.CreateInput{Name: "Other", Space: "a", APIHost: f.simURL, Token: tok2}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(t.Context(), admin, "other", integration.Patch{IsDefault: &yes}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second default by update: %v", err)
	}
}

func TestPrivateHostIsStoredUncheckedWithWarning(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pool := vcsagent.Pool{ID: "pool-1", Name: "pool-1", SpaceID: space.RootID, TokenHash: "h", CreatedAt: f.now, RotatedAt: f.now}
	if err := f.store.CreateAgentPool(t.Context(), pool, audit.Entry{At: f.now, Action: "vcs_agent_pool.create", ResourceType: "vcs_agent_pool", ResourceID: "pool-1"}); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Create(t.Context(), admin, integration.CreateInput{Name: "Private", IsDefault: true, APIHost: "private://pool-1", Token: "glpat-anything"})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Private() || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "token not checked") {
		t.Fatalf("view = %+v warnings %q", v.Integration, v.Warnings)
	}
}
