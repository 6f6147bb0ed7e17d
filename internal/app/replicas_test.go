package app_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// replicas boots one server per tweak on one fresh PostgreSQL schema (the
// test skips without HOIST_TEST_POSTGRES), together, as replicas racing to
// bootstrap it, beside one simulator; all of them get the one admin key.
func replicas(t testing.TB, tweaks ...func(*app.Config)) []*harness {
	t.Helper()
	dbURL := dbtest.PostgresURL(t)
	key := make([]byte, 32)
	rand.Read(key)
	encKey := base64.StdEncoding.EncodeToString(key)
	getenv := func(k string) string {
		if k == "HOIST_ENCRYPTION_KEY" {
			return encKey // replicas must share the key
		}
		return ""
	}
	sim, simURL := apptest.StartGitLab(t)
	servers := make([]*harness, len(tweaks))
	errs := make([]error, len(tweaks))
	var wg sync.WaitGroup
	for i, tweak := range tweaks {
		h := &harness{Server: inproc.New(t, func(c *app.Config) {
			if tweak != nil {
				tweak(c)
			}
			c.DatabaseURL, c.Getenv = dbURL, getenv
		}), t: t}
		h.Sim, h.SimURL = sim, simURL
		servers[i] = h
		wg.Go(func() { errs[i] = h.Boot() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range servers {
		if b, err := os.ReadFile(filepath.Join(h.Config.DataDir, app.AdminAPIKeyFile)); err == nil {
			keys = append(keys, strings.TrimSpace(string(b)))
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("%d servers wrote an admin API key, want exactly 1", len(keys))
	}
	for _, h := range servers {
		h.AdminKey = keys[0]
	}
	return servers
}

// TestReplicasWakeEachOther is issue 16's "a delivery accepted by A is
// processed as fast as on one node": A accepts a push but has no workers;
// B's workers lease its run within two seconds although every poll is a
// minute and B's workers wait 30 s between looks for a lease. Only A's
// NOTIFY can explain it.
func TestReplicasWakeEachOther(t *testing.T) {
	t.Parallel()
	// Every fallback slow: only wake-ups can hand B the run within the
	// bound below.
	slow := func(c *app.Config) {
		c.SchedulerPoll, c.JobPoll, c.WorkerLeaseWait = 10*time.Minute, 10*time.Minute, 10*time.Minute
	}
	servers := replicas(t,
		func(c *app.Config) { slow(c); c.WorkerSlots = -1 },
		inproc.Runs(t, slow))
	a, b := servers[0], servers[1]
	ctx := t.Context()
	var err error
	if a.SimUser, err = a.Sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"}); err != nil {
		t.Fatal(err)
	}
	f := &hookFixture{harness: a, project: "acme/platform/infra"}
	if _, err := a.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: f.project, Files: map[string]string{"infra/main.tf": "# infra\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: a.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var in api.Integration
	a.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", a.AdminKey,
		a.integrationBody("GitLab", "", a.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(t, &in)
	a.Must(http.StatusCreated, "POST", "/api/v1/stacks", a.AdminKey,
		map[string]any{"name": "infra", "space": "root", "repository": f.project, "branch": "main", "project_root": "infra"})
	if !strings.HasPrefix(in.WebhookEndpoint, a.App.PublicURL()) {
		t.Fatalf("webhook endpoint %s is not server A's (%s)", in.WebhookEndpoint, a.App.PublicURL())
	}
	if f.hook, err = a.Sim.AddHook(ctx, f.project, gitlabsim.HookOptions{URL: in.WebhookEndpoint, Token: in.WebhookSecret}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // B's workers are waiting for a lease: their long wait has begun

	start := time.Now()
	f.push("feature", []string{"infra/change.tf"})
	f.settle()
	// Without the wake-ups B would wait minutes; a loaded machine may take
	// seconds.
	apptest.Eventually(t, time.Minute, "server B's workers to lease the run A's webhook made", func() error {
		var page struct{ Items []api.Run }
		b.Must(http.StatusOK, "GET", "/api/v1/stacks/infra/runs", b.AdminKey, nil).Decode(t, &page)
		if len(page.Items) != 1 {
			return fmt.Errorf("runs = %+v, want one", page.Items)
		}
		if st := page.Items[0].State; st == "QUEUED" || st == "READY" {
			return fmt.Errorf("run is %s", st)
		}
		return nil
	})
	t.Logf("push to leased run: %s", time.Since(start))
}
