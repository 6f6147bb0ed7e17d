package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestTrackedRunOnHTTPSServer: with --tls-cert from a private CA that the
// worker's OpenTofu does not trust, a tracked run still plans, applies and
// stores its state: the embedded workers reach the state backend on the
// server's loopback plain-HTTP listener (docs/runs.md).
func TestTrackedRunOnHTTPSServer(t *testing.T) {
	t.Parallel()
	h := setupTLS(t, inproc.Runs(t))
	ctx := t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject,
		Files: map[string]string{"infra/main.tf": infraTF("hello")}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	var it api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("GitLab", "", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(t, &it)
	noVerify := false // the simulator does not know the test CA
	if _, err := h.Sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: it.WebhookEndpoint, Token: it.WebhookSecret,
		EnableSSLVerification: &noVerify}); err != nil {
		t.Fatal(err)
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/spaces", h.AdminKey, map[string]any{"name": "Platform", "parent": "root"})
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "web", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "infra"})

	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	r := h.waitTLSRun(sha, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
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
	h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/state-versions", h.AdminKey, nil).Decode(t, &versions)
	if len(versions.Items) != 1 || versions.Items[0].Run != r.ID {
		t.Fatalf("state versions = %+v, want one by run %s", versions.Items, r.ID)
	}
	if logs := string(h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs?follow=true", h.AdminKey, nil).Body); !strings.Contains(logs, "Apply complete! Resources: 1 added") {
		t.Errorf("apply log:\n%s", logs)
	}
}

// waitTLSRun waits (bounded) for the tracked run of web at sha to reach
// state; it fails at once when the run ends otherwise.
func (h *tlsHarness) waitTLSRun(sha, state string) api.Run {
	h.t.Helper()
	var run api.Run
	apptest.Eventually(h.t, 90*time.Second, fmt.Sprintf("the tracked run of web at %s to reach %s", sha, state), func() bool {
		var page struct{ Items []api.Run }
		h.Must(http.StatusOK, "GET", "/api/v1/stacks/web/runs", h.AdminKey, nil).Decode(h.t, &page)
		for _, r := range page.Items {
			if r.CommitSHA != sha || r.Type != "TRACKED" {
				continue
			}
			if r.State == state {
				run = r
				return true
			}
			if isTerminal(r.State) {
				logs := string(h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs?follow=true", h.AdminKey, nil).Body)
				h.t.Fatalf("run %s ended %s (%s) waiting for %s; history %v; logs:\n%s", r.ID, r.State, r.Error, state, runStates(r), logs)
			}
		}
		return false
	})
	return run
}
