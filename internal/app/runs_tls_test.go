package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestTrackedRunOnHTTPSServer: with --tls-cert from a private CA that the
// worker's OpenTofu does not trust, a tracked run still plans, applies and
// stores its state: the embedded workers reach the state backend on the
// server's loopback plain-HTTP listener (docs/runs.md).
func TestTrackedRunOnHTTPSServer(t *testing.T) {
	t.Parallel()
	tofu := tofuPath(t)
	ca := newTestCA(t)
	h := &tlsHarness{harness: setup(t, func(c *app.Config) {
		c.TLSCertFile, c.TLSKeyFile = ca.certFile, ca.keyFile
		c.TofuPath, c.SchedulerPoll, c.LeaseTTL = tofu, 50*time.Millisecond, 5*time.Second
	}), ca: ca, client: ca.client()}
	if !strings.HasPrefix(h.srv.URL(), "https://") {
		t.Fatalf("server URL %s, want https", h.srv.URL())
	}
	ctx := t.Context()
	if _, err := h.sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello")}}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.simUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var it struct {
		WebhookEndpoint string `json:"webhook_endpoint"`
		WebhookSecret   string `json:"webhook_secret"`
	}
	h.mustTLS(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.adminKey,
		h.integrationBody("GitLab", "", h.token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).decode(t, &it)
	noVerify := false // the simulator does not know the test CA
	if _, err := h.sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		EnableSSLVerification: &noVerify}); err != nil {
		t.Fatal(err)
	}
	h.mustTLS(http.StatusCreated, "POST", "/api/v1/spaces", h.adminKey, map[string]any{"name": "Platform", "parent": "root"})
	h.mustTLS(http.StatusCreated, "POST", "/api/v1/stacks", h.adminKey, map[string]any{"name": "web", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "infra"})

	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	r := h.waitTLSRun(sha, "UNCONFIRMED")
	h.mustTLS(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.adminKey, nil)
	r = h.waitTLSRun(sha, "FINISHED")
	if want := []string{"CONFIRMED", "PREPARING_APPLY", "APPLYING", "FINISHED"}; !slices.Equal(runStates(r)[len(runStates(r))-4:], want) {
		t.Fatalf("history %v", runStates(r))
	}
	var versions struct {
		Items []struct {
			Serial int64
			Run    string
		}
	}
	h.mustTLS(http.StatusOK, "GET", "/api/v1/stacks/web/state-versions", h.adminKey, nil).decode(t, &versions)
	if len(versions.Items) != 1 || versions.Items[0].Run != r.ID {
		t.Fatalf("state versions = %+v, want one by run %s", versions.Items, r.ID)
	}
	if logs := string(h.mustTLS(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs?follow=true", h.adminKey, nil).body); !strings.Contains(logs, "Apply complete! Resources: 1 added") {
		t.Errorf("apply log:\n%s", logs)
	}
}

// waitTLSRun waits (bounded) for the tracked run of web at sha to reach
// state; it fails at once when the run ends otherwise.
func (h *tlsHarness) waitTLSRun(sha, state string) api.Run {
	h.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var page struct{ Items []api.Run }
		h.mustTLS(http.StatusOK, "GET", "/api/v1/stacks/web/runs", h.adminKey, nil).decode(h.t, &page)
		for _, r := range page.Items {
			if r.CommitSHA != sha || r.Type != "TRACKED" {
				continue
			}
			if r.State == state {
				return r
			}
			if isTerminal(r.State) {
				logs := string(h.mustTLS(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs?follow=true", h.adminKey, nil).body)
				h.t.Fatalf("run %s ended %s (%s) waiting for %s; history %v; logs:\n%s", r.ID, r.State, r.Error, state, runStates(r), logs)
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no tracked run of web at %s reached %s", sha, state)
		}
		time.Sleep(50 * time.Millisecond) // polling the API, bounded above
	}
}
