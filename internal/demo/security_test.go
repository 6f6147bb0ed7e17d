package demo_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/demo"
)

// Issue 13's attacks, run as an attacker with push access would: against
// `hoist server --demo` (the real binary, its embedded workers, real
// OpenTofu, the simulator standing in for GitLab). Each one failed on the
// code before the sandbox.

// target is a demo server with secrets worth stealing and what it takes
// to look for them everywhere Hoist shows a run.
type target struct {
	t        *testing.T
	bin      string
	srv      *server
	env      []string
	work     string // the server's working directory
	dataDir  string
	workDir  string // --work-dir, holding a planted "other run's" workspace
	tofu     string // the OpenTofu binary the runs execute
	key      string // the root admin's API key
	sim      simInfo
	secrets  map[string]string // what must never show: name → value
	tofuHash string
}

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{t: t, bin: apptest.Binary(t), work: t.TempDir()}
	tg.dataDir = filepath.Join(tg.work, "data")
	tofuBin := filepath.Join(tofuDir(t), "tofu")
	tg.tofu = tofuBin
	// The work dir must be reachable by the run's unprivileged user: a
	// fresh folder of the system temp dir, as the default is.
	wd, err := os.MkdirTemp("", "hoist-security-work-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(wd) })
	if err := os.Chmod(wd, 0o711); err != nil { // as Hoist makes its default one
		t.Fatal(err)
	}
	tg.workDir = wd
	canary := func(what string) string { return "hoist-" + what + "-canary-" + rand.Text() }
	other := filepath.Join(wd, "run-other", "src")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	otherSecret := canary("other-workspace")
	if err := os.WriteFile(filepath.Join(other, "terraform.tfstate"), []byte(otherSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	environSecret := canary("environ")
	tg.env = append(os.Environ(), "PATH="+tofuDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOIST_SECURITY_TEST_CANARY="+environSecret)
	tg.srv = startDemo(t, tg.work, tg.dataDir, tg.env, "--work-dir", wd)
	tg.key = readKey(t, tg.dataDir)
	tg.sim = readSimInfo(t, tg.dataDir)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(tg.dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	db := read("hoist.db")[:15] // "SQLite format 3"
	tg.secrets = map[string]string{
		"the admin API key":           tg.key,
		"the admin password":          read("admin-password"),
		"the encryption key":          read("encryption-key"),
		"hoist.db's header":           db,
		"hoist.db's header as base64": base64.StdEncoding.EncodeToString([]byte(db))[:20],
		"the simulator's admin token": tg.sim.AdminToken,
		"another run's workspace":     otherSecret,
		"the server's environment":    environSecret,
	}
	tg.tofuHash = fileHash(t, tofuBin)
	return tg
}

func fileHash(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// push commits files (and symlinks: PATH → TARGET) to a branch with the
// simulator's client command, as the banner shows.
func (tg *target) push(branch string, files, links map[string]string) {
	tg.t.Helper()
	args := []string{"gitlab-sim", "push", "--sim-data-dir", filepath.Join(tg.dataDir, demo.SimDir), "--project", demo.Project,
		"--branch", branch}
	dir := tg.t.TempDir()
	i := 0
	for path, content := range files {
		local := filepath.Join(dir, fmt.Sprint(i))
		i++
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			tg.t.Fatal(err)
		}
		args = append(args, "--file", path+"=@"+local)
	}
	for path, to := range links {
		args = append(args, "--symlink", path+"="+to)
	}
	tg.hoist(args...)
}

func (tg *target) hoist(args ...string) string {
	tg.t.Helper()
	cmd := exec.Command(tg.bin, args...)
	cmd.Dir, cmd.Env = tg.work, tg.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tg.t.Fatalf("hoist %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// get GETs a Hoist API path or a simulator URL and returns the raw body.
func (tg *target) get(u string) string {
	tg.t.Helper()
	req, err := http.NewRequestWithContext(tg.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		tg.t.Fatal(err)
	}
	if strings.HasPrefix(u, tg.sim.URL) {
		req.Header.Set("PRIVATE-TOKEN", tg.sim.AdminToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+tg.key)
	}
	resp, err := apitest.Client(tg.t).Do(req)
	if err != nil {
		tg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tg.t.Fatalf("GET %s: %d %v %s", u, resp.StatusCode, err, b)
	}
	return string(b)
}

// finished waits for the run of stack on branch to end and returns it.
func (tg *target) finished(stack, branch string, mr int) run {
	tg.t.Helper()
	var found run
	apptest.Eventually(tg.t, 2*time.Minute, "run of "+stack+" on "+branch, func() error {
		var page struct{ Items []run }
		if err := getJSON(context.Background(), "Authorization", "Bearer "+tg.key, tg.srv.URL+"/api/v1/stacks/"+stack+"/runs", &page); err != nil {
			return err
		}
		for _, r := range page.Items {
			if r.Branch == branch && r.MergeRequestIID == mr {
				switch r.State {
				case "FINISHED", "FAILED", "UNCONFIRMED":
					found = r
					return nil
				}
			}
		}
		return fmt.Errorf("runs: %+v", page.Items)
	})
	return found
}

// shows is everything Hoist shows of a run: the run and its history, its
// logs (the plan is there), the commit's statuses and the merge request's
// notes in GitLab.
func (tg *target) shows(r run) string {
	tg.t.Helper()
	var b strings.Builder
	b.WriteString(tg.get(tg.srv.URL + "/api/v1/runs/" + r.ID))
	b.WriteString(tg.get(tg.srv.URL + "/api/v1/runs/" + r.ID + "/logs"))
	b.WriteString(tg.get(fmt.Sprintf("%s/api/v4/projects/%s/repository/commits/%s/statuses", tg.sim.URL, project, r.CommitSHA)))
	if r.MergeRequestIID > 0 {
		b.WriteString(tg.get(fmt.Sprintf("%s/api/v4/projects/%s/merge_requests/%d/notes", tg.sim.URL, project, r.MergeRequestIID)))
	}
	return b.String()
}

// noSecret fails when any secret appears in what Hoist shows, or when
// OpenTofu's binary changed.
func (tg *target) noSecret(what string) {
	tg.t.Helper()
	for name, v := range tg.secrets {
		if v != "" && strings.Contains(what, v) {
			tg.t.Errorf("%s leaked into what Hoist shows", name)
		}
	}
	if fileHash(tg.t, tg.tofu) != tg.tofuHash {
		tg.t.Error("the OpenTofu binary changed")
	}
}

// readsHCL is a stack's code that reads the server's secrets every way
// issue 13 lists, each read falling back to "denied": a sandbox that
// leaked would put the secret in the plan, the log and the MR note.
func (tg *target) readsHCL() string {
	up := strings.Repeat("../", 16)
	reads := map[string]string{
		"abs_key":      fmt.Sprintf(`file(%q)`, tg.dataDir+"/admin-api-key"),
		"abs_enc":      fmt.Sprintf(`file(%q)`, tg.dataDir+"/encryption-key"),
		"abs_db":       fmt.Sprintf(`filebase64(%q)`, tg.dataDir+"/hoist.db"),
		"abs_password": fmt.Sprintf(`templatefile(%q, {})`, tg.dataDir+"/admin-password"),
		"rel_key":      fmt.Sprintf(`file("${path.module}/%s%s")`, up, strings.TrimPrefix(tg.dataDir, "/")+"/admin-api-key"),
		"rel_enc":      fmt.Sprintf(`file("${abspath(path.module)}/%s%s")`, up, strings.TrimPrefix(tg.dataDir, "/")+"/encryption-key"),
		"set_data":     fmt.Sprintf(`join(",", fileset(%q, "**"))`, tg.dataDir),
		"set_parent":   fmt.Sprintf(`join(",", fileset(%q, "*"))`, tg.work),
		"other_rel":    `file("${abspath(path.module)}/../../../../run-other/src/terraform.tfstate")`,
		"other_abs":    fmt.Sprintf(`file(%q)`, tg.workDir+"/run-other/src/terraform.tfstate"),
		"other_set":    fmt.Sprintf(`join(",", fileset(%q, "**"))`, tg.workDir),
		"environ":      fmt.Sprintf(`file("/proc/%d/environ")`, tg.srv.Pid()),
		"environ_b64":  fmt.Sprintf(`filebase64("/proc/%d/environ")`, tg.srv.Pid()),
		"environ_init": `filebase64("/proc/1/environ")`,
	}
	var b strings.Builder
	b.WriteString("locals {\n  reads = {\n")
	for name, expr := range reads {
		fmt.Fprintf(&b, "    %s = try(%s, \"denied\")\n", name, expr)
	}
	b.WriteString("  }\n}\n")
	b.WriteString(`resource "terraform_data" "leak" {
  for_each = toset([for k, v in local.reads : "${k}=${v}"])
  input    = each.value
}
output "reads" { value = local.reads }
`)
	return b.String()
}

// TestHostileCodeReadsNothingOfTheServer: a merge request whose code
// reads the data dir, another run's workspace and the server's
// environment, through absolute and relative paths, file, fileset and
// templatefile, plans with every read denied, and no secret shows.
func TestHostileCodeReadsNothingOfTheServer(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	tg.push("attack-read", map[string]string{"stacks/app/leak.tf": tg.readsHCL()}, nil)
	tg.hoist("gitlab-sim", "mr", "create", "--sim-data-dir", filepath.Join(tg.dataDir, demo.SimDir), "--project", demo.Project,
		"--source-branch", "attack-read", "--title", "Innocent change")
	r := tg.finished(demo.AppStack, "attack-read", 1)
	shown := tg.shows(r)
	if r.State != "FINISHED" {
		t.Fatalf("the plan should succeed with every read denied: %+v\n%s", r, shown)
	}
	// Every read ran and was denied: keys with empty or "denied" values.
	for _, k := range []string{"abs_key", "abs_enc", "abs_db", "abs_password", "rel_key", "rel_enc", "other_rel", "other_abs", "environ", "environ_b64", "environ_init"} {
		if !strings.Contains(shown, k+"=denied") {
			t.Errorf("read %s was not denied", k)
		}
	}
	for _, k := range []string{"set_data", "set_parent", "other_set"} {
		if !strings.Contains(shown, k+"=denied") && !strings.Contains(shown, k+"=\\\"") && !strings.Contains(shown, k+"=\"") {
			t.Errorf("fileset %s listed something", k)
		}
	}
	if strings.Contains(shown, "admin-api-key,") || strings.Contains(shown, "terraform.tfstate") && strings.Contains(shown, "other_set=run-other") {
		t.Error("a fileset listed the server's files")
	}
	tg.noSecret(shown)
	apptest.Eventually(t, time.Minute, "the merge request note", func() error {
		notes := tg.get(fmt.Sprintf("%s/api/v4/projects/%s/merge_requests/1/notes", tg.sim.URL, project))
		if !strings.Contains(notes, demo.AppStack) {
			return fmt.Errorf("notes: %s", notes)
		}
		tg.noSecret(notes)
		return nil
	})
}

// TestHostileSymlinksAreRefused: links committed to the repository that
// point at the server's secrets — absolute, relative, and the issue's
// chain of harmless-looking links under the backend override's name —
// fail the run with the link named; nothing is read or written outside.
func TestHostileSymlinksAreRefused(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	up := strings.Repeat("../", 16)
	chain := map[string]string{"stacks/network/up1": "."}
	for i := 2; i <= 8; i++ {
		chain[fmt.Sprintf("stacks/network/up%d", i)] = fmt.Sprintf("up%d/..", i-1)
	}
	chain["stacks/network/"+"hoist_backend_override.tf"] = "up8/" + strings.TrimPrefix(tg.dataDir, "/") + "/victim.tf"
	tests := []struct {
		branch string
		links  map[string]string
		entry  string
	}{
		{"link-abs", map[string]string{"stacks/network/key.tf": tg.dataDir + "/admin-api-key"}, "stacks/network/key.tf"},
		{"link-rel", map[string]string{"stacks/network/enc.txt": up + strings.TrimPrefix(tg.dataDir, "/") + "/encryption-key"}, "stacks/network/enc.txt"},
		{"link-chain", chain, "stacks/network/hoist_backend_override.tf"},
	}
	for _, tt := range tests {
		tg.push(tt.branch, map[string]string{"stacks/network/main.tf": `output "x" { value = try(file("${path.module}/key.tf"), "none") }` + "\n"}, tt.links)
		r := tg.finished(demo.NetworkStack, tt.branch, 0)
		run := tg.get(tg.srv.URL + "/api/v1/runs/" + r.ID)
		if r.State != "FAILED" || !strings.Contains(run, "refused") || !strings.Contains(run, tt.entry) {
			t.Errorf("%s: want FAILED naming %s: %s", tt.branch, tt.entry, run)
		}
		tg.noSecret(tg.shows(r))
	}
	if _, err := os.Stat(filepath.Join(tg.dataDir, "victim.tf")); err == nil {
		t.Error("the backend override was written into the data dir")
	}
}

// TestHostileProvisionerIsConfined: an autodeployed tracked run whose
// local-exec provisioner reads the data dir and the server's environment
// and writes outside its workspace applies with every one of those
// denied.
func TestHostileProvisionerIsConfined(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	outside := []string{filepath.Join(tg.dataDir, "pwned"), filepath.Join(tg.workDir, "pwned"),
		filepath.Join(filepath.Dir(tg.tofu), "pwned"), filepath.Join(os.TempDir(), "hoist-pwned-"+rand.Text())}
	t.Cleanup(func() {
		for _, p := range outside {
			os.Remove(p)
		}
	})
	script := []string{
		"cat " + tg.dataDir + "/admin-api-key", "cat " + tg.dataDir + "/encryption-key", "ls -a " + tg.dataDir,
		fmt.Sprintf("cat /proc/%d/environ", tg.srv.Pid()),
		"cat " + tg.workDir + "/run-other/src/terraform.tfstate",
		"cp /bin/sh " + tg.tofu,
	}
	for _, p := range outside {
		script = append(script, "echo pwned > "+p)
	}
	script = append(script, "echo provisioner-done")
	hcl := fmt.Sprintf(`resource "terraform_data" "pwn" {
  provisioner "local-exec" { command = %q }
}
`, strings.Join(script, "; "))
	tg.push(demo.Branch, map[string]string{"stacks/app/pwn.tf": hcl}, nil)
	r := tg.finished(demo.AppStack, demo.Branch, 0)
	shown := tg.shows(r)
	if r.State != "FINISHED" || !strings.Contains(shown, "provisioner-done") {
		t.Fatalf("the autodeployed run should apply, its provisioner confined: %+v\n%s", r, shown)
	}
	if n := strings.Count(shown, "Permission denied"); n < len(script)-2 {
		t.Errorf("%d denials for %d attempts:\n%s", n, len(script)-1, shown)
	}
	for _, p := range outside {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("the provisioner wrote %s", p)
		}
	}
	tg.noSecret(shown)
}
