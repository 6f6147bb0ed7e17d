package module_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

// The module's code in the simulator: a module with a variable and an
// output that needs no provider, in a folder of the repository.
const (
	project = "acme/modules/greeting"
	root    = "modules/greeting"
	mainTF  = "variable \"name\" {\n  type = string\n}\n\noutput \"greeting\" {\n  value = \"hello, ${var.name}\"\n}\n"
)

// fixture is a module.Service on SQLite with a default integration on a
// real GitLab simulator, principals with roles, and the commit statuses
// it posted.
type fixture struct {
	t        *testing.T
	store    *sqlstore.Store
	svc      *module.Service
	sim      *gitlabsim.Server
	hookID   int
	admin    string // root admin
	writer   string // write on platform
	reader   string // read on platform
	outsider string // read on other
	statuses *statusRecorder
}

type statusRecorder struct {
	mu  sync.Mutex
	got []module.CommitStatus
}

func (r *statusRecorder) PostModuleStatus(_ context.Context, st module.CommitStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, st)
	return nil
}

func (r *statusRecorder) all() []module.CommitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]module.CommitStatus(nil), r.got...)
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{t: t, statuses: &statusRecorder{}}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f.store = store
	now := time.Now().UTC()
	for _, sp := range []space.Space{{ID: space.RootID, Name: "root"}, {ID: "platform", Name: "platform", ParentID: space.RootID, Inherit: true},
		{ID: "other", Name: "other", ParentID: space.RootID, Inherit: true}} {
		sp.CreatedAt, sp.UpdatedAt = now, now
		if err := store.CreateSpace(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	f.admin = f.principal("admin", space.RootID, space.Admin)
	f.writer = f.principal("writer", "platform", space.Write)
	f.reader = f.principal("reader", "platform", space.Read)
	f.outsider = f.principal("outsider", "other", space.Read)

	var simURL string
	f.sim, simURL = apptest.StartGitLab(t)
	bot, err := f.sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: bot.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: project, Files: map[string]string{
		root + "/main.tf": mainTF, "README.md": "# modules\n", "other/x.tf": "# not the module\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: bot.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	// The hook's receiver only acknowledges: the tests hand the recorded
	// payloads to OnTagPush themselves.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(receiver.Close)
	h, err := f.sim.AddHook(ctx, project, gitlabsim.HookOptions{URL: receiver.URL, Token: "s", PushEvents: new(bool), TagPushEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	f.hookID = h.ID

	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	it := integration.Integration{ID: "acme-gitlab", Provider: integration.GitLab, Name: "acme-gitlab", IsDefault: true,
		SpaceID: space.RootID, APIHost: simURL, UserFacingHost: simURL, TokenUser: bot.Username, TokenUserID: int64(bot.ID),
		TokenScopes: []string{"api"}, TokenSealed: box.Seal([]byte(tok.Value), secret.AAD("integration", "acme-gitlab", "token")),
		CreatedAt: now, UpdatedAt: now}
	it.WebhookSecretSealed = box.Seal([]byte("s"), secret.AAD("integration", "acme-gitlab", "webhook_secret"))
	if err := store.CreateIntegration(ctx, it, audit.Entry{At: now, Actor: f.admin, Action: "integration.create",
		ResourceType: "integration", ResourceID: it.ID}); err != nil {
		t.Fatal(err)
	}
	checker := gitlab.New(nil, nil)
	f.svc = module.NewService(module.Config{Store: store, Access: space.NewService(store, store, nil), Integrations: store,
		Checker: checker, Source: checker, Statuses: f.statuses, Box: box, PublicURL: "https://hoist.example"})
	return f
}

// principal creates an API key holding one role and returns its principal.
func (f *fixture) principal(id, spaceID string, role space.Role) string {
	f.t.Helper()
	k := identity.APIKey{ID: id, Name: id, SecretHash: "x", CreatedAt: time.Now().UTC()}
	e := audit.Entry{At: k.CreatedAt, Actor: "test", Action: "api_key.create", ResourceType: "api_key", ResourceID: id}
	if err := f.store.CreateAPIKey(f.t.Context(), k, []space.Binding{{SpaceID: spaceID, Role: role}}, e); err != nil {
		f.t.Fatal(err)
	}
	return identity.APIKeyPrincipal(id)
}

// createModule creates the greeting module in platform.
func (f *fixture) createModule() module.View {
	f.t.Helper()
	v, err := f.svc.Create(f.t.Context(), f.admin, module.CreateInput{Name: "Greeting", Provider: "null", Space: "platform",
		Repository: project, Branch: "main", ProjectRoot: root})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// tagEvent runs fn (which pushes or deletes a tag in the simulator) and
// returns the tag push event GitLab delivered for it, parsed as the
// webhook processing parses it.
func (f *fixture) tagEvent(fn func() error) vcs.Event {
	f.t.Helper()
	before := len(f.sim.Deliveries(f.hookID))
	if err := fn(); err != nil {
		f.t.Fatal(err)
	}
	if err := f.sim.WaitHooks(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	ds := f.sim.Deliveries(f.hookID)
	if len(ds) != before+1 {
		f.t.Fatalf("%d deliveries, want %d", len(ds), before+1)
	}
	d := ds[len(ds)-1]
	ev, err := gitlab.ParseEvent(d.Event, d.RequestBody)
	if err != nil {
		f.t.Fatalf("parse %s: %v", d.Event, err)
	}
	return ev
}

func (f *fixture) pushTag(tag, message string) vcs.Event {
	f.t.Helper()
	return f.tagEvent(func() error {
		_, err := f.sim.CreateTag(f.t.Context(), gitlabsim.TagOptions{Project: project, Tag: tag, Ref: "main", Message: message})
		return err
	})
}

func (f *fixture) deleteTag(tag string) vcs.Event {
	f.t.Helper()
	return f.tagEvent(func() error { return f.sim.DeleteTag(f.t.Context(), project, tag, 0) })
}

func (f *fixture) head() string {
	f.t.Helper()
	sha, err := f.sim.ResolveRef(f.t.Context(), project, "main")
	if err != nil {
		f.t.Fatal(err)
	}
	return sha
}
