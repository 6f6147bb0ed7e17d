package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// startSim runs a simulator with one project and returns its data dir.
func startSim(t *testing.T) (*gitlabsim.Server, string) {
	t.Helper()
	dir := t.TempDir()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if _, err := sim.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateProject(context.Background(), gitlabsim.ProjectOptions{Path: "demo/infra",
		Files: map[string]string{"stacks/app/main.tf": "locals {}\n", "README.md": "hi\n"}}); err != nil {
		t.Fatal(err)
	}
	return sim, dir
}

// simCLI runs one `hoist gitlab-sim …` command in-process.
func simCLI(t *testing.T, stdin string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr apptest.Buffer
	err := run(context.Background(), append([]string{"gitlab-sim"}, args...), strings.NewReader(stdin), &stdout, &stderr,
		func(k string) string { return env[k] })
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func TestGitlabSimPushCreatesUpdatesAndDeletes(t *testing.T) {
	t.Parallel()
	sim, dir := startSim(t)
	local := filepath.Join(t.TempDir(), "net.tf")
	if err := os.WriteFile(local, []byte("# from a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := simCLI(t, "from stdin\n", nil, "push", "--sim-data-dir", dir, "--project", "demo/infra",
		"--file", "stacks/app/main.tf=locals { x = 1 }", "--file", "stacks/network/main.tf=@"+local,
		"--file", "notes.txt=@-", "--delete", "README.md", "--message", "first")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if !strings.Contains(out, "to demo/infra main") {
		t.Errorf("push output = %q", out)
	}
	repo, err := sim.Repo("demo/infra")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"stacks/app/main.tf": "locals { x = 1 }\n",
		"stacks/network/main.tf": "# from a file\n", "notes.txt": "from stdin\n"} {
		got, err := repo.ReadFile(context.Background(), "main", path)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := repo.ReadFile(context.Background(), "main", "README.md"); err == nil {
		t.Error("README.md still exists after --delete")
	}

	// A new branch from main, then a merge request from it; env vars find the simulator.
	env := map[string]string{"HOIST_GITLAB_SIM_URL": sim.URL(), "HOIST_GITLAB_SIM_TOKEN": sim.AdminToken()}
	if out, err := simCLI(t, "", env, "push", "--project", "demo/infra", "--branch", "feature",
		"--file", "stacks/app/main.tf=locals { x = 2 }"); err != nil {
		t.Fatalf("push feature: %v\n%s", err, out)
	}
	out, err = simCLI(t, "", env, "mr", "create", "--project", "demo/infra", "--source-branch", "feature",
		"--title", "Change x", "-o", "json")
	if err != nil {
		t.Fatalf("mr create: %v\n%s", err, out)
	}
	var mr simMergeRequest
	if err := json.Unmarshal([]byte(out), &mr); err != nil || mr.IID != 1 || mr.State != "opened" || mr.TargetBranch != "main" {
		t.Fatalf("mr create = %+v, %v (%s)", mr, err, out)
	}
	if out, err := simCLI(t, "", env, "mr", "update", "--project", "demo/infra", "--iid", "1", "--title", "Change x to 2"); err != nil ||
		!strings.Contains(out, "Change x to 2") {
		t.Fatalf("mr update: %v\n%s", err, out)
	}
	bob, err := sim.CreateUser(context.Background(), gitlabsim.UserOptions{Username: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(context.Background(), gitlabsim.MemberOptions{Project: "demo/infra", UserID: bob.ID, AccessLevel: gitlabsim.Developer}); err != nil {
		t.Fatal(err)
	}
	bobID := fmt.Sprint(bob.ID)
	if out, err := simCLI(t, "", env, "mr", "comment", "--project", "demo/infra", "--iid", "1", "--user-id", bobID, "--body", "/hoist plan"); err != nil ||
		!strings.Contains(out, "on merge request !1") {
		t.Fatalf("mr comment: %v\n%s", err, out)
	}
	if notes, err := sim.Notes("demo/infra", 1); err != nil || len(notes) != 1 || notes[0].Body != "/hoist plan" || notes[0].AuthorID != bob.ID {
		t.Fatalf("notes after mr comment = %+v, %v", notes, err)
	}
	for _, action := range []string{"approve", "unapprove", "approve"} {
		if out, err := simCLI(t, "", env, "mr", action, "--project", "demo/infra", "--iid", "1", "--user-id", bobID); err != nil {
			t.Fatalf("mr %s: %v\n%s", action, err, out)
		}
	}
	if mr, err := sim.MergeRequest("demo/infra", 1); err != nil || len(mr.ApprovedBy) != 1 || mr.ApprovedBy[0] != bob.ID {
		t.Fatalf("approved_by after approve = %+v, %v", mr.ApprovedBy, err)
	}
	if out, err := simCLI(t, "", env, "mr", "approve", "--project", "demo/infra", "--iid", "1", "--user-id", bobID); err == nil {
		t.Fatalf("second approve succeeded: %s", out)
	}
	if out, err := simCLI(t, "", env, "mr", "merge", "--project", "demo/infra", "--iid", "1"); err != nil || !strings.Contains(out, "merged") {
		t.Fatalf("mr merge: %v\n%s", err, out)
	}
	got, err := repo.ReadFile(context.Background(), "main", "stacks/app/main.tf")
	if err != nil || string(got) != "locals { x = 2 }\n" {
		t.Errorf("after merge main has %q, %v", got, err)
	}
}

func TestGitlabSimClientRefusals(t *testing.T) {
	t.Parallel()
	_, dir := startSim(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"push", "--sim-data-dir", dir, "--project", "demo/infra"}, "at least one --file"},
		{"unknown project", []string{"push", "--sim-data-dir", dir, "--project", "nope/x", "--file", "a=b"}, "404"},
		{"no simulator", []string{"push", "--sim-data-dir", t.TempDir(), "--project", "demo/infra", "--file", "a=b"}, "gitlab-sim.json"},
		{"empty path", []string{"push", "--sim-data-dir", dir, "--project", "demo/infra", "--file", "=x"}, "want PATH=CONTENT"},
		{"mr without iid", []string{"mr", "close", "--sim-data-dir", dir, "--project", "demo/infra"}, "--iid"},
		{"unknown subcommand", []string{"frobnicate"}, "unknown subcommand"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := simCLI(t, "", nil, tc.args...)
			if err == nil || !strings.Contains(err.Error()+out, tc.want) {
				t.Errorf("err = %v, output %q; want %q", err, out, tc.want)
			}
		})
	}
}
