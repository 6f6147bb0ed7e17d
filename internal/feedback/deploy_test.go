package feedback_test

import (
	"testing"

	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
)

func (e *env) deployments() []gitlabsim.Deployment {
	e.t.Helper()
	ds, err := e.sim.Deployments(project)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *env) environments() []gitlabsim.Environment {
	e.t.Helper()
	envs, err := e.sim.Environments(project)
	if err != nil {
		e.t.Fatal(err)
	}
	return envs
}

func TestTrackedRunDeploys(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("main", "# v2\n")
		r := newRun("app", run.Tracked, sha, "main", 0)
		e.move(r, "", run.Queued, run.Ready, run.Preparing, run.Initializing, run.Planning)
		r.Delta = run.Delta{Add: 1, Change: 2}
		e.move(r, "", run.Unconfirmed)
		wantLanded(t, e.settle(r.ID))
		ds := e.deployments()
		if len(ds) != 1 || ds[0].Status != "running" || ds[0].SHA != sha || ds[0].Ref != "main" {
			t.Fatalf("deployments at UNCONFIRMED: %+v", ds)
		}
		envs := e.environments()
		if len(envs) != 1 || envs[0].Name != "app" || ds[0].EnvironmentID != envs[0].ID {
			t.Fatalf("environments %+v", envs)
		}
		e.move(r, "", run.Confirmed, run.PreparingApply, run.Applying, run.Finished)
		wantLanded(t, e.settle(r.ID))
		if ds := e.deployments(); len(ds) != 1 || ds[0].Status != "success" {
			t.Fatalf("deployments after the apply: %+v", ds)
		}
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "success" || got.Description != "+1 ~2 -0 applied" {
			t.Errorf("status %+v", got)
		}

		// A second run with changes, discarded: a second deployment in the same
		// environment, canceled.
		sha2 := e.push("main", "# v3\n")
		r2 := newRun("app", run.Tracked, sha2, "main", 0)
		e.move(r2, "", run.Queued, run.Preparing, run.Planning)
		r2.Delta = run.Delta{Destroy: 1}
		e.move(r2, "", run.Unconfirmed)
		e.settle(r2.ID)
		e.move(r2, "", run.Discarded)
		wantLanded(t, e.settle(r2.ID))
		ds = e.deployments()
		if len(ds) != 2 || ds[1].Status != "canceled" || ds[1].SHA != sha2 {
			t.Fatalf("deployments after the discard: %+v", ds)
		}
		if envs := e.environments(); len(envs) != 1 {
			t.Errorf("environments %+v, want the stack's one", envs)
		}
		if got := current(t, e.statuses(sha2), "hoist/app"); got.State != "canceled" {
			t.Errorf("discarded run's status %+v", got)
		}
	})
}

func TestAutodeployAndNoOp(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.start(e.store, feedback.DispatcherConfig{})
		sha := e.push("main", "# same\n")
		noop := newRun("app", run.Tracked, sha, "main", 0)
		e.move(noop, "", run.Queued, run.Preparing, run.Planning, run.Finished)
		wantLanded(t, e.settle(noop.ID))
		if ds, envs := e.deployments(), e.environments(); len(ds) != 0 || len(envs) != 0 {
			t.Fatalf("a no-op run made deployments %+v, environments %+v", ds, envs)
		}
		if got := current(t, e.statuses(sha), "hoist/app"); got.State != "success" || got.Description != "+0 ~0 -0 no changes" {
			t.Errorf("no-op status %+v", got)
		}

		sha2 := e.push("main", "# autodeploy\n")
		r := newRun("app", run.Tracked, sha2, "main", 0)
		e.move(r, "", run.Queued, run.Preparing, run.Planning)
		r.Delta = run.Delta{Add: 3}
		e.move(r, "", run.Applying)
		e.settle(r.ID)
		if ds := e.deployments(); len(ds) != 1 || ds[0].Status != "running" {
			t.Fatalf("deployments at APPLYING with autodeploy: %+v", ds)
		}
		e.move(r, "apply: Error: quota exceeded", run.Failed)
		wantLanded(t, e.settle(r.ID))
		if ds := e.deployments(); len(ds) != 1 || ds[0].Status != "failed" {
			t.Fatalf("deployments after a failed apply: %+v", ds)
		}
		if got := current(t, e.statuses(sha2), "hoist/app"); got.State != "failed" || got.Description != "Failed: apply: Error: quota exceeded" {
			t.Errorf("status %+v", got)
		}
	})
}
