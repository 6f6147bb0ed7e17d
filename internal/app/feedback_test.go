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
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// waitGitLab polls what Hoist wrote into the simulator until ok (bounded).
func waitGitLab(t *testing.T, what string, ok func() bool) {
	t.Helper()
	apptest.Eventually(t, 30*time.Second, what+" in GitLab", ok)
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

// acceptedStatuses lists the statuses named name on sha, replaced ones
// included, oldest first, as "state description".
func acceptedStatuses(t testing.TB, sim *gitlabsim.Server, sha, name string) []string {
	t.Helper()
	sts, err := sim.CommitStatuses(runsProject, sha)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sts {
		if s.Name == name {
			out = append(out, s.State+" "+s.Description)
		}
	}
	return out
}

// transitionAt is when the run entered state, from its history.
func transitionAt(t testing.TB, r api.Run, state string) time.Time {
	t.Helper()
	for _, h := range r.History {
		if h.State == state {
			return h.At
		}
	}
	t.Fatalf("run %s never was %s: %v", r.ID, state, runStates(r))
	return time.Time{}
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
		ds, _ := h.Sim.Deployments(runsProject)
		return len(ds) == 1 && ds[0].Status == "running"
	})
	// Issue 14: while it waits, GitLab shows the plan and that it waits,
	// within a second of the transition.
	const waiting = "Planned +1 ~0 -0, waiting for confirmation"
	waitGitLab(t, "the waiting status", func() bool { return statusOf(t, h.Sim, sha, "hoist/web").Description == waiting })
	st := statusOf(t, h.Sim, sha, "hoist/web")
	if st.State != "success" || !strings.HasSuffix(st.TargetURL, "/runs/"+r.ID) || st.FinishedAt == nil {
		t.Errorf("status while unconfirmed: %+v", st)
	} else if at := transitionAt(t, r, "UNCONFIRMED"); st.FinishedAt.Sub(at) > time.Second {
		t.Errorf("GitLab had the waiting status %s after the transition, want within 1s", st.FinishedAt.Sub(at))
	}
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	h.waitState(r.ID, "FINISHED")
	waitGitLab(t, "the applied status", func() bool {
		st := statusOf(t, h.Sim, sha, "hoist/web")
		return st.State == "success" && st.Description == "+1 ~0 -0 applied" && st.Ref == "main"
	})
	// What GitLab accepted, in order: the plan cycle's verdict was replaced
	// by the apply cycle's; each cycle went pending → running → finished in
	// place (the simulator refuses anything else, and a refusal would show
	// as a failed write below).
	if got := acceptedStatuses(t, h.Sim, sha, "hoist/web"); !slices.Equal(got, []string{"success " + waiting, "success +1 ~0 -0 applied"}) {
		t.Errorf("statuses on the commit: %q", got)
	}
	waitGitLab(t, "a successful deployment", func() bool {
		ds, _ := h.Sim.Deployments(runsProject)
		return len(ds) == 1 && ds[0].Status == "success"
	})
	// GitLab has a write a moment before Hoist records its outcome: poll
	// the run, bounded.
	apptest.Eventually(t, 30*time.Second, "the run's GitLab writes to be done", func() error {
		var got api.Run
		h.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID, h.AdminKey, nil).Decode(t, &got)
		if len(got.GitLabWrites) == 0 {
			t.Fatal("the run shows no GitLab writes")
		}
		for _, w := range got.GitLabWrites {
			if w.State != "done" && w.State != "skipped" {
				return fmt.Errorf("write %+v", w)
			}
		}
		return nil
	})

	// A merge request: the proposed run's status and its note, listing
	// the resources.
	// The merge request is opened after the run finished: the event links
	// it to the run, and the note follows.
	sha2 := h.push("feature", map[string]string{"infra/main.tf": infraTF("proposed")})
	p := h.waitState(h.waitRunAt("web", sha2, "PROPOSED").ID, "FINISHED")
	mr, err := h.Sim.CreateMergeRequest(t.Context(), gitlabsim.MROptions{Project: runsProject, SourceBranch: "feature", Title: "Change"})
	if err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the proposed run's status", func() bool {
		st := statusOf(t, h.Sim, sha2, "hoist/web")
		return st.State == "success" && st.Description == "+0 ~1 -0 planned" && st.Ref == "feature"
	})
	waitGitLab(t, "the merge request note", func() bool {
		notes, _ := h.Sim.Notes(runsProject, mr.IID)
		return len(notes) == 1 && strings.Contains(notes[0].Body, p.ID) && strings.Contains(notes[0].Body, "terraform_data.hello")
	})

	// A discarded run says so.
	sha3 := h.push("main", map[string]string{"infra/main.tf": infraTF("discard me")})
	d := h.waitState(h.waitRunAt("web", sha3, "TRACKED").ID, "UNCONFIRMED")
	waitGitLab(t, "the waiting status", func() bool {
		return statusOf(t, h.Sim, sha3, "hoist/web").Description == "Planned +0 ~1 -0, waiting for confirmation"
	})
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+d.ID+"/discard", h.AdminKey, nil)
	waitGitLab(t, "the discarded status", func() bool {
		st := statusOf(t, h.Sim, sha3, "hoist/web")
		return st.State == "canceled" && st.Description == "Discarded: the planned +0 ~1 -0 was not applied"
	})
}
