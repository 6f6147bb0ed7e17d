package app_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// fault is the simulator's fault rule id as it stands now.
func fault(t *testing.T, sim *gitlabsim.Server, id int) gitlabsim.Fault {
	t.Helper()
	for _, f := range sim.Faults() {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no fault %d", id)
	return gitlabsim.Fault{}
}

func addFault(t *testing.T, sim *gitlabsim.Server, f gitlabsim.Fault) int {
	t.Helper()
	added, err := sim.AddFault(f)
	if err != nil {
		t.Fatal(err)
	}
	return added.ID
}

// TestAgentPathCapsAPIAnswers: a GitLab reached only through a VCS agent
// floods its answer to the token check. The check fails naming the cap,
// as on a direct connection, and the transfer is cut, not drained.
func TestAgentPathCapsAPIAnswers(t *testing.T) {
	t.Parallel()
	h, token := privateSetup(t, false, func(c *app.Config) { c.MaxGitLabResponseBytes = 1 << 20 })
	id := addFault(t, h.Sim, gitlabsim.Fault{Method: "GET", Path: "/api/v4/personal_access_tokens/self", Flood: 256 << 20})
	h.startAgent("only", token, "")
	h.waitAgents(1)
	r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab", h.AdminKey, map[string]any{"name": "Lab GitLab",
		"is_default": true, "api_host": "private://lab", "token": h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})})
	_, msg, field := r.APIError(t)
	want := "GitLab's answer to GET /api/v4/personal_access_tokens/self is larger than the 1 MiB cap (--max-gitlab-response)"
	if field != "api_host" || !strings.Contains(msg, want) {
		t.Fatalf("check through the agent: %s, want field api_host and %q", r.Body, want)
	}
	waitGitLab(t, "the flood to be cut", func() bool { return fault(t, h.Sim, id).Cut == 1 })
	if !strings.Contains(h.Logs.String(), "/api/v4/personal_access_tokens/self") {
		t.Error("the agent did not carry the check")
	}
}

// randomComment is a line of n bytes of hex digits: an archive holding it
// is at least about n/2 bytes.
func randomComment(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return "# " + hex.EncodeToString(b) + "\n"
}

// runsSetupOn is runsSetup with the stack's runs on the embedded worker,
// or on a remote worker process (no embedded one).
func runsSetupOn(t *testing.T, remote bool, tweak func(*app.Config)) *harness {
	t.Helper()
	h := runsSetup(t, func(c *app.Config) {
		if remote {
			c.WorkerSlots = -1
		}
		if tweak != nil {
			tweak(c)
		}
	})
	if remote {
		h.startRemoteWorker(h.workerPool("Remote"))
	}
	return h
}

// TestArchiveOverTheCapFailsTheRun: with --max-archive-size set low, a run
// whose repository's archive is larger fails with the cap named, on the
// embedded worker and on a remote one (which learns it from the trailer
// of the stream the server cut).
func TestArchiveOverTheCapFailsTheRun(t *testing.T) {
	t.Parallel()
	for _, remote := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "remote"}[remote], func(t *testing.T) {
			t.Parallel()
			h := runsSetupOn(t, remote, func(c *app.Config) { c.MaxArchiveBytes = 1 << 10 })
			sha := h.push("main", map[string]string{"infra/main.tf": infraTF("big") + randomComment(16<<10)})
			r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "FAILED")
			// The server cuts GitLab's answer at the cap; the worker also
			// stops as soon as the archive's content declares more than
			// it. Whichever comes first, the cap and its flag are named.
			fromGitLab := "GitLab's answer to GET /api/v4/projects/:id/repository/archive.tar.gz is larger than the 1 KiB cap (--max-archive-size)"
			fromWorker := "the source archive is larger than 1 KiB (the cap, --max-archive-size)"
			if !strings.Contains(r.Error, fromGitLab) && !strings.Contains(r.Error, fromWorker) {
				t.Fatalf("run error %q, want %q or %q", r.Error, fromGitLab, fromWorker)
			}
		})
	}
}

// TestStopCancelsTheSourceDownload: a run whose archive trickles in is
// stopped mid-download; the download ends at once, on the embedded worker
// (the run's context reaches the GitLab request through run.Service) and
// on a remote one (through the source request's context on the server).
func TestStopCancelsTheSourceDownload(t *testing.T) {
	t.Parallel()
	for _, remote := range []bool{false, true} {
		t.Run(map[bool]string{false: "embedded", true: "remote"}[remote], func(t *testing.T) {
			t.Parallel()
			h := runsSetupOn(t, remote, nil)
			// About a minute for the whole archive: a stop must not wait for it.
			id := addFault(t, h.Sim, gitlabsim.Fault{Method: "GET", Path: "/api/v4/projects/*/repository/archive.tar.gz",
				Trickle: 200 * time.Millisecond, TrickleBytes: 2})
			sha := h.push("main", map[string]string{"infra/main.tf": infraTF("slow")})
			r := h.waitRunAt("web", sha, "TRACKED")
			waitGitLab(t, "the archive download to start", func() bool { return fault(t, h.Sim, id).Hits > 0 })
			h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/stop", h.AdminKey, nil)
			stopped := time.Now()
			h.waitState(r.ID, "STOPPED")
			waitGitLab(t, "the download to be cut", func() bool { return fault(t, h.Sim, id).Cut == 1 })
			// Half the whole download: a loaded machine may take
			// seconds to stop, never the full minute.
			if took := time.Since(stopped); took > 30*time.Second {
				t.Errorf("the download went on for %s after the stop", took)
			}
		})
	}
}
