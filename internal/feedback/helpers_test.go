package feedback_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/postgres"
	"github.com/hoistdev/hoist/internal/store/sqlite"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
	"github.com/hoistdev/hoist/internal/vcs/gitlab"
)

const (
	project   = "acme/infra"
	integ     = "acme-gitlab"
	publicURL = "https://hoist.example.com"
)

// fakeStacks is the stack store at the edge of these tests: the stacks
// package's own store is tested elsewhere.
type fakeStacks struct {
	mu     sync.Mutex
	stacks map[string]stack.Stack
}

func (f *fakeStacks) GetStack(_ context.Context, id string) (stack.Stack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.stacks[id]
	if !ok {
		return stack.Stack{}, apperr.Errorf(apperr.NotFound, "no stack %q", id)
	}
	return st, nil
}

func (f *fakeStacks) add(st stack.Stack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.IntegrationID == "" {
		st.IntegrationID = integ
	}
	if st.Repository == "" {
		st.Repository = project
	}
	f.stacks[st.ID] = st
}

// env is one test's world: a simulator with a project, a SQLite store with
// an integration reaching it, a Service and a Dispatcher.
type env struct {
	t      *testing.T
	ctx    context.Context
	sim    *gitlabsim.Server
	dbPath string
	pgURL  string // "" for SQLite at dbPath
	store  *sqlstore.Store
	box    *secret.Box
	stacks *fakeStacks
	svc    *feedback.Service
	disp   *feedback.Dispatcher
	main   string // head of main
}

// forEachDB runs fn on a fresh env over each database (PostgreSQL only
// when HOIST_TEST_POSTGRES is set).
func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, d))
		})
	}
}

// setup builds an env on a fresh database of dialect (dbtest.Dialects).
func setup(t *testing.T, dialect string) *env {
	t.Helper()
	ctx := context.Background()
	pgURL := ""
	if dialect == "postgres" {
		pgURL = dbtest.PostgresURL(t) // skips without HOIST_TEST_POSTGRES
	}
	sim, simURL := apptest.StartGitLab(t)
	if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: project, Files: map[string]string{"main.tf": "# v1\n"}}); err != nil {
		t.Fatal(err)
	}
	head, err := sim.ResolveRef(ctx, project, "main")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, sim: sim, dbPath: filepath.Join(t.TempDir(), "hoist.db"), pgURL: pgURL,
		stacks: &fakeStacks{stacks: map[string]stack.Stack{}}, main: head}
	key := make([]byte, 32)
	rand.Read(key)
	if e.box, err = secret.NewBox(key); err != nil {
		t.Fatal(err)
	}
	e.store = e.openStore()
	now := time.Now().UTC()
	if err := e.store.CreateSpace(ctx, space.Space{ID: space.RootID, Name: "root", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	it := integration.Integration{ID: integ, Provider: integration.GitLab, Name: "Acme GitLab", IsDefault: true,
		SpaceID: space.RootID, APIHost: simURL, UserFacingHost: simURL,
		TokenSealed:         e.box.Seal([]byte(sim.AdminToken()), secret.AAD("integration", integ, "token")),
		WebhookSecretSealed: e.box.Seal([]byte("s"), secret.AAD("integration", integ, "webhook_secret")),
		CreatedAt:           now, UpdatedAt: now}
	if err := e.store.CreateIntegration(ctx, it, audit.Entry{At: now, Actor: "test", Action: "integration.create",
		ResourceType: "integration", ResourceID: integ}); err != nil {
		t.Fatal(err)
	}
	e.stacks.add(stack.Stack{ID: "app", Branch: "main"})
	e.svc = e.newService(e.store, nil)
	return e
}

func (e *env) openStore() *sqlstore.Store {
	e.t.Helper()
	open := func() (*sqlstore.Store, error) { return sqlite.Open(e.ctx, e.dbPath, nil) }
	if e.pgURL != "" {
		open = func() (*sqlstore.Store, error) { return postgres.Open(e.ctx, e.pgURL, nil) }
	}
	s, err := open()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) newService(store *sqlstore.Store, d *feedback.Dispatcher) *feedback.Service {
	cfg := feedback.Config{Store: store, Stacks: e.stacks, PublicURL: publicURL}
	if d != nil {
		cfg.Notify = d.Notify
	}
	return feedback.NewService(cfg)
}

// fastBackoff keeps retries test-sized while honouring GitLab's
// Retry-After of a few seconds.
var fastBackoff = feedback.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, Cap: 3 * time.Second}

// start runs a dispatcher on store and wires the service to wake it.
func (e *env) start(store *sqlstore.Store, cfg feedback.DispatcherConfig) *feedback.Dispatcher {
	e.t.Helper()
	cfg.Store = store
	if cfg.GitLab == nil {
		cfg.GitLab = gitlab.New(nil, nil)
	}
	if cfg.Endpoints == nil {
		cfg.Endpoints = feedback.NewEndpoints(store, e.box)
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Backoff == (feedback.Backoff{}) {
		cfg.Backoff = fastBackoff
	}
	d := feedback.NewDispatcher(cfg)
	d.Start(e.ctx)
	e.t.Cleanup(d.Stop)
	e.disp = d
	e.svc = e.newService(store, d)
	return d
}

// push pushes one commit changing main.tf to branch and returns its SHA.
func (e *env) push(branch, content string) string {
	e.t.Helper()
	res, err := e.sim.Push(e.ctx, gitlabsim.PushOptions{Project: project, Branch: branch, Commits: []gitlabsim.CommitSpec{
		{Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: "main.tf", Content: content}}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.After
}

// newRun returns a run of stackID at sha, not yet queued.
func newRun(stackID string, typ run.Type, sha, branch string, mr int64) *run.Run {
	return &run.Run{ID: run.NewID(time.Now()), StackID: stackID, Type: typ, CommitSHA: sha, Branch: branch, MergeRequestIID: mr}
}

// move records r's transitions to each of states, in order.
func (e *env) move(r *run.Run, note string, states ...run.State) {
	e.t.Helper()
	for _, to := range states {
		if err := e.svc.OnRunTransition(e.ctx, *r, r.State, to, note); err != nil {
			e.t.Fatalf("transition %s → %s: %v", r.State, to, err)
		}
		r.State = to
	}
}

// settle waits until none of the run's writes is still to be sent, and
// returns them.
func (e *env) settle(runID string) []feedback.Write {
	e.t.Helper()
	return e.settleWithin(runID, 10*time.Second)
}

func (e *env) settleWithin(runID string, bound time.Duration) []feedback.Write {
	e.t.Helper()
	var ws []feedback.Write
	apptest.Eventually(e.t, bound, "the writes of run "+runID+" to be sent", func() error {
		var err error
		if ws, err = e.store.ListWrites(e.ctx, runID); err != nil {
			e.t.Fatal(err)
		}
		open := 0
		for _, w := range ws {
			if w.State == feedback.StatePending || w.State == feedback.StateRetrying {
				open++
			}
		}
		if open > 0 {
			return fmt.Errorf("%d still open: %+v", open, ws)
		}
		return nil
	})
	return ws
}

// statuses returns the commit statuses on sha (the current and the
// replaced ones).
func (e *env) statuses(sha string) []gitlabsim.CommitStatus {
	e.t.Helper()
	st, err := e.sim.CommitStatuses(project, sha)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}
