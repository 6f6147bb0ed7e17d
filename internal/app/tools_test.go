package app_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/worker"
)

// Issue 14, items 3 and 6: every path handed to OpenTofu and the sandbox is
// absolute whatever the operator passed, and a stack's tool and
// tool_version are honoured (from the operator's tools folder) or refused.

// traversableDir is a fresh temporary folder that the run's user (uid
// 65534 when tests run as root) may traverse, as the system temp folder
// Hoist's defaults live in.
func traversableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's own temp root is 0700
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// relative is path relative to the working directory: what an operator
// who typed a relative flag gives the server (no chdir: tests run in
// parallel in one process).
func relative(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || filepath.IsAbs(rel) {
		t.Fatalf("no relative path from %s to %s: %v", wd, path, err)
	}
	return rel
}

// tofuVersion is the version the real OpenTofu reports.
func tofuVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(apptest.Tofu(t), "version", "-json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		t.Fatalf("tofu version -json = %s, %v", out, err)
	}
	return v.Version
}

// toolsFolder builds an operator's tools folder holding the real OpenTofu
// as opentofu/<its version>/tofu (a hard link, or a copy across file
// systems), opentofu/9.9.9/tofu linking to it inside the folder (allowed,
// but the binary reports another version), and opentofu/1.0.0/tofu
// linking out of the folder (refused).
func toolsFolder(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(traversableDir(t), "tools")
	real, err := filepath.EvalSymlinks(apptest.Tofu(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{version, "9.9.9", "1.0.0"} {
		if err := os.MkdirAll(filepath.Join(dir, "opentofu", v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "opentofu", version, "tofu")
	if err := os.Link(real, bin); err != nil {
		copyFile(t, real, bin)
	}
	if err := os.Symlink(filepath.Join("..", version, "tofu"), filepath.Join(dir, "opentofu", "9.9.9", "tofu")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "opentofu", "1.0.0", "tofu")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(errors.Join(err, out.Close()))
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// trigger starts a tracked run of the stack web at its tracked commit.
func (h *harness) trigger() string {
	h.t.Helper()
	var r api.Run
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks/web/runs", h.AdminKey, nil).Decode(h.t, &r)
	return r.ID
}

// TestRelativePathsGiveCleanRuns is item 3: a server given every path
// relative (data dir, work dir, OpenTofu, tools folder) runs a plan whose
// log has none of OpenTofu's CLI configuration warnings, with the binary
// it was given.
func TestRelativePathsGiveCleanRuns(t *testing.T) {
	t.Parallel()
	version := tofuVersion(t)
	var tools string
	h := runsSetup(t, func(c *app.Config) {
		c.DataDir = relative(t, t.TempDir())
		c.WorkDir = relative(t, filepath.Join(traversableDir(t), "work"))
		c.TofuPath = relative(t, apptest.Tofu(t))
		tools = toolsFolder(t, version)
		c.ToolsDir = relative(t, tools)
	})
	for _, pin := range []string{"", version} {
		h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"tool_version": pin})
		r := h.waitState(h.trigger(), "UNCONFIRMED")
		logs := h.logPage(r.ID)
		for _, bad := range []string{"Unable to open CLI configuration file", "Warning", "must be an absolute path"} {
			if strings.Contains(logs, bad) {
				t.Errorf("pin %q: the run log has %q:\n%s", pin, bad, logs)
			}
		}
		bin, _ := filepath.EvalSymlinks(apptest.Tofu(t))
		if pin != "" {
			bin, _ = filepath.EvalSymlinks(filepath.Join(tools, "opentofu", version, "tofu"))
		}
		if want := "Hoist: OpenTofu " + version + " (" + bin + ")"; !strings.Contains(logs, want) {
			t.Errorf("pin %q: the run log lacks %q:\n%s", pin, want, logs)
		}
		if r.Tool != "opentofu" || r.ToolVersion != version {
			t.Errorf("pin %q: run tool = %q %q, want opentofu %s", pin, r.Tool, r.ToolVersion, version)
		}
		h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/discard", h.AdminKey, nil)
	}
}

// TestStackPinnedToolVersion is item 6: a pinned version runs exactly that
// binary of the tools folder, plan and apply, and the run says so; what
// the folder cannot run is refused when the stack is saved, naming the
// versions it has; a folder whose binary reports another version fails
// the run.
func TestStackPinnedToolVersion(t *testing.T) {
	t.Parallel()
	version := tofuVersion(t)
	tools := toolsFolder(t, version)
	h := runsSetup(t, func(c *app.Config) { c.ToolsDir = tools })
	available := "available: " + version + ", 9.9.9" // oldest first; 1.0.0 leads out of the folder
	for _, tt := range []struct {
		body  map[string]any
		field string
		want  string
	}{
		{map[string]any{"tool_version": "1.5.0"}, "tool_version", "OpenTofu 1.5.0 is not in the tools folder (no opentofu/1.5.0/tofu); " + available},
		{map[string]any{"tool_version": "1.0.0"}, "tool_version", "opentofu/1.0.0/tofu leads out of the tools folder"},
		{map[string]any{"tool": "terraform"}, "tool", "Terraform needs a tool_version from the server's tools folder (terraform/<version>/terraform); available: none"},
		{map[string]any{"tool": "terraform", "tool_version": "1.5.7"}, "tool_version", "Terraform 1.5.7 is not in the tools folder (no terraform/1.5.7/terraform); available: none"},
		{map[string]any{"git_checkout": true}, "git_checkout", "not supported yet"},
	} {
		r := h.Call("PATCH", "/api/v1/stacks/web", h.AdminKey, tt.body)
		if _, msg, field := r.APIError(t); r.Status != http.StatusBadRequest || field != tt.field || !strings.Contains(msg, tt.want) {
			t.Errorf("PATCH %v = %d %s; want 400 on %s with %q", tt.body, r.Status, r.Body, tt.field, tt.want)
		}
	}
	r := h.Call("POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "other", "space": "platform",
		"repository": runsProject, "branch": "main", "tool": "terraform", "tool_version": "1.5.7"})
	if _, msg, field := r.APIError(t); r.Status != http.StatusBadRequest || field != "tool_version" || !strings.Contains(msg, "available: none") {
		t.Errorf("create a terraform stack = %d %s", r.Status, r.Body)
	}

	var st struct {
		Tool        string `json:"tool"`
		ToolVersion string `json:"tool_version"`
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"tool_version": "v" + version}).Decode(t, &st)
	if st.Tool != "opentofu" || st.ToolVersion != version {
		t.Fatalf("pinned stack = %+v, want opentofu %s", st, version)
	}
	id := h.trigger()
	h.waitState(id, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+id+"/confirm", h.AdminKey, nil)
	done := h.waitState(id, "FINISHED")
	if done.Tool != "opentofu" || done.ToolVersion != version {
		t.Errorf("run tool = %q %q, want opentofu %s", done.Tool, done.ToolVersion, version)
	}
	bin, _ := filepath.EvalSymlinks(filepath.Join(tools, "opentofu", version, "tofu"))
	line := "Hoist: OpenTofu " + version + " (" + bin + ")"
	if logs := h.logText(id); strings.Count(logs, line) != 2 || !strings.Contains(logs, "Apply complete!") {
		t.Errorf("the log does not say twice (plan, apply) %q:\n%s", line, logs)
	}

	// 9.9.9 links to that same binary inside the folder: accepted when
	// saved, and the run fails on what the binary says it is.
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"tool_version": "9.9.9"})
	failed := h.waitState(h.trigger(), "FAILED")
	want := "opentofu/9.9.9 holds a binary that reports version " + version + ", not 9.9.9"
	if !strings.Contains(failed.Error, want) || failed.ToolVersion != "" {
		t.Errorf("run of a mislabelled version = %+v; want the error %q and no tool recorded", failed, want)
	}
	if got := runStates(failed); !slices.Equal(got, []string{"QUEUED", "READY", "PREPARING", "FAILED"}) {
		t.Errorf("history = %v: the run must fail before it initialises", got)
	}
}

// TestRemoteWorkerWithoutTheVersion: a remote worker runs the version from
// its own tools folder and reports it over HTTP; one that lacks it fails
// the run naming the versions it has.
func TestRemoteWorkerWithoutTheVersion(t *testing.T) {
	t.Parallel()
	version := tofuVersion(t)
	tools := toolsFolder(t, version)
	h := runsSetup(t, func(c *app.Config) { c.ToolsDir = tools })
	token := h.workerPool("remote")
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"tool_version": version})

	empty := filepath.Join(traversableDir(t), "tools")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	kill := h.startRemoteWorkerWith(token, empty)
	failed := h.waitState(h.trigger(), "FAILED")
	if want := "this worker cannot run the stack's OpenTofu " + version; !strings.Contains(failed.Error, want) ||
		!strings.Contains(failed.Error, "available: none") {
		t.Errorf("run on a worker without the version = %+v; want %q and the versions it has", failed, want)
	}
	kill()

	h.startRemoteWorkerWith(token, tools)
	r := h.waitState(h.trigger(), "UNCONFIRMED")
	if r.Tool != "opentofu" || r.ToolVersion != version {
		t.Errorf("run on a remote worker: tool = %q %q, want opentofu %s", r.Tool, r.ToolVersion, version)
	}
}

// TestWorkerProtocolCarriesTheTool speaks the worker protocol over HTTP:
// the lease names the stack's pinned version, and what a worker reports
// running is checked before it is recorded.
func TestWorkerProtocolCarriesTheTool(t *testing.T) {
	t.Parallel()
	tools := toolsFolder(t, tofuVersion(t))
	h := runsSetup(t, func(c *app.Config) { c.ToolsDir = tools; c.WorkerSlots = -1 })
	token := h.workerPool("remote")
	h.Must(http.StatusOK, "PATCH", "/api/v1/stacks/web", h.AdminKey, map[string]any{"tool_version": "9.9.9"})
	id := h.trigger()
	c := &worker.Client{BaseURL: h.URL, PoolToken: token}
	var job run.Job
	apptest.Eventually(t, 30*time.Second, "a worker to lease the run", func() bool {
		j, ok, err := c.Lease(t.Context(), "test-worker", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			job = j
		}
		return ok
	})
	if job.RunID != id || job.Tool != "opentofu" || job.ToolVersion != "9.9.9" {
		t.Fatalf("job = %+v, want run %s with opentofu 9.9.9", job, id)
	}
	for _, b := range []run.Binary{{Tool: "pulumi", Version: "1.0.0"}, {Tool: "opentofu", Version: "latest"}} {
		err := c.Advance(t.Context(), job.RunID, job.LeaseID, run.Step{To: run.Initializing, Binary: b})
		if !apperr.Is(err, apperr.Invalid) {
			t.Errorf("advance reporting %+v = %v, want invalid", b, err)
		}
	}
	if err := c.Advance(t.Context(), job.RunID, job.LeaseID, run.Step{To: run.Initializing,
		Binary: run.Binary{Tool: "opentofu", Version: "9.9.9"}}); err != nil {
		t.Fatal(err)
	}
	if r := h.getRun(id); r.State != "INITIALIZING" || r.Tool != "opentofu" || r.ToolVersion != "9.9.9" {
		t.Errorf("run after the report = %+v", r)
	}
}
