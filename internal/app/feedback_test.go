package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// waitGitLab polls what Hoist wrote into the simulator until ok, failing
// after a bound.
func waitGitLab(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s in GitLab", what)
		}
		time.Sleep(20 * time.Millisecond) // polling the simulator, bounded above
	}
}

func statusOf(t testing.TB, sim *gitlabsim.Server, sha, name string) gitlabsim.CommitStatus {
	t.Helper()
	sts, err := sim.CommitStatuses(runsProject, sha)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Name == name && !s.Retried {
			return s
		}
	}
	return gitlabsim.CommitStatus{}
}

type runWrites struct {
	ID           string `json:"id"`
	GitLabWrites []struct {
		Kind, Target, State, LastError string
		Attempts                       int
	} `json:"gitlab_writes"`
}

// TestRunsWriteBackToGitLab: real runs (webhook → run → worker → tofu)
// leave their statuses, deployment and merge request note in GitLab, and
// the run's API shows each write's outcome.
func TestRunsWriteBackToGitLab(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("hi")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	waitGitLab(t, "a running deployment", func() bool {
		ds, _ := h.sim.Deployments(runsProject)
		return len(ds) == 1 && ds[0].Status == "running"
	})
	if st := statusOf(t, h.sim, sha, "hoist/web"); st.State != "running" || !strings.HasSuffix(st.TargetURL, "/runs/"+r.ID) {
		t.Errorf("status while unconfirmed: %+v", st)
	}
	h.must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.adminKey, nil)
	h.waitState(r.ID, "FINISHED")
	waitGitLab(t, "the applied status", func() bool {
		st := statusOf(t, h.sim, sha, "hoist/web")
		return st.State == "success" && st.Description == "+1 ~0 -0 applied" && st.Ref == "main"
	})
	waitGitLab(t, "a successful deployment", func() bool {
		ds, _ := h.sim.Deployments(runsProject)
		return len(ds) == 1 && ds[0].Status == "success"
	})
	// GitLab has a write a moment before Hoist records its outcome: poll
	// the run, bounded.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var got runWrites
		h.must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID, h.adminKey, nil).decode(t, &got)
		if len(got.GitLabWrites) == 0 {
			t.Fatal("the run shows no GitLab writes")
		}
		open := ""
		for _, w := range got.GitLabWrites {
			if w.State != "done" && w.State != "skipped" {
				open = fmt.Sprintf("%+v", w)
			}
		}
		if open == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write %s", open)
		}
		time.Sleep(20 * time.Millisecond) // polling the API, bounded above
	}

	// A merge request: the proposed run's status and its note, listing
	// the resources.
	// The merge request is opened after the run finished: the event links
	// it to the run, and the note follows.
	sha2 := h.push("feature", map[string]string{"infra/main.tf": infraTF("proposed")})
	p := h.waitState(h.waitRunAt("web", sha2, "PROPOSED").ID, "FINISHED")
	mr, err := h.sim.CreateMergeRequest(t.Context(), gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature", Title: "Change"})
	if err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the proposed run's status", func() bool {
		st := statusOf(t, h.sim, sha2, "hoist/web")
		return st.State == "success" && st.Description == "+0 ~1 -0 planned" && st.Ref == "feature"
	})
	waitGitLab(t, "the merge request note", func() bool {
		notes, _ := h.sim.Notes(runsProject, mr.IID)
		return len(notes) == 1 && strings.Contains(notes[0].Body, p.ID) && strings.Contains(notes[0].Body, "terraform_data.hello")
	})
}
