package tofu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
)

// binary finds the tofu the test script installs into .tools/bin, or skips.
func binary(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	path := os.Getenv("PATH") + string(os.PathListSeparator) + filepath.Join(repo, ".tools", "bin")
	p, err := Find("", func(string) string { return path })
	if err != nil {
		t.Skipf("no tofu (run scripts/install-tofu.sh): %v", err)
	}
	return p
}

// setup writes files into a fresh working directory and returns a runner
// for it.
func setup(t *testing.T, files map[string]string) (Runner, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "tofu.tfrc")
	if err := os.WriteFile(cfg, []byte(CLIConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return Runner{Path: binary(t), Env: Env(EnvConfig{Path: os.Getenv("PATH"), Home: home, CLIConfigFile: cfg,
		Vars: []string{"TF_VAR_greeting=hello"}})}, dir
}

// lines collects sink output.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) sink(s string) { l.mu.Lock(); l.l = append(l.l, s); l.mu.Unlock() }

func (l *lines) text() string { l.mu.Lock(); defer l.mu.Unlock(); return strings.Join(l.l, "\n") }

const dataConfig = `
variable "greeting" { type = string }
locals { n = 2 }
resource "terraform_data" "a" { input = "${var.greeting}-${local.n}" }
resource "terraform_data" "b" { input = "b" }
output "o" { value = terraform_data.a.output }
`

func TestPlanShowApply(t *testing.T) {
	t.Parallel()
	r, dir := setup(t, map[string]string{"main.tf": dataConfig})
	ctx := context.Background()
	var out lines
	if err := r.Init(ctx, dir, out.sink); err != nil {
		t.Fatalf("init: %v\n%s", err, out.text())
	}
	if err := r.Plan(ctx, dir, "plan.bin", PlanOptions{}, out.sink); err != nil {
		t.Fatalf("plan: %v\n%s", err, out.text())
	}
	if !strings.Contains(out.text(), "Plan: 2 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("plan output misses the summary:\n%s", out.text())
	}
	p, err := r.Show(ctx, dir, "plan.bin")
	if err != nil {
		t.Fatal(err)
	}
	if p.Delta != (Delta{Add: 2}) || !p.HasChanges() || len(p.Resources) != 2 || p.Resources[0].Address != "terraform_data.a" ||
		p.Resources[0].Action != "create" {
		t.Fatalf("plan = %+v", p)
	}
	// Real tofu's JSON: the input is known, the output and id only after
	// the apply.
	byName := map[string]AttrChange{}
	for _, c := range p.Resources[0].Changes {
		byName[c.Name] = c
	}
	if in := byName["input"]; !strings.HasPrefix(in.After, `"`) || in.Unknown || in.Sensitive || !byName["output"].Unknown || !byName["id"].Unknown {
		t.Errorf("attribute changes of terraform_data.a = %+v", p.Resources[0].Changes)
	}
	if err := r.Apply(ctx, dir, "plan.bin", out.sink); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.text())
	}
	if !strings.Contains(out.text(), "Apply complete! Resources: 2 added") {
		t.Fatalf("apply output:\n%s", out.text())
	}
	// A second plan against the local state changes nothing.
	if err := r.Plan(ctx, dir, "plan2.bin", PlanOptions{}, out.sink); err != nil {
		t.Fatal(err)
	}
	p, err = r.Show(ctx, dir, "plan2.bin")
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() || len(p.Resources) != 0 {
		t.Fatalf("second plan = %+v, want no changes", p)
	}
}

func TestPlanErrorReachesSink(t *testing.T) {
	t.Parallel()
	r, dir := setup(t, map[string]string{"main.tf": `output "x" { value = undefined_thing.y }`})
	var out lines
	err := r.Init(context.Background(), dir, out.sink)
	if err == nil {
		err = r.Plan(context.Background(), dir, "plan.bin", PlanOptions{}, out.sink)
	}
	if err == nil || !strings.Contains(out.text(), "undefined_thing") {
		t.Fatalf("err = %v, output:\n%s", err, out.text())
	}
}

func TestEnvIsClean(t *testing.T) {
	t.Parallel()
	r, dir := setup(t, map[string]string{"main.tf": `
resource "terraform_data" "env" {
  provisioner "local-exec" { command = "env > env.txt" }
}`})
	ctx := context.Background()
	var out lines
	for _, step := range []func() error{
		func() error { return r.Init(ctx, dir, out.sink) },
		func() error { return r.Plan(ctx, dir, "plan.bin", PlanOptions{}, out.sink) },
		func() error { return r.Apply(ctx, dir, "plan.bin", out.sink) },
	} {
		if err := step(); err != nil {
			t.Fatalf("%v\n%s", err, out.text())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "env.txt"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "TMPDIR": true, "TF_CLI_CONFIG_FILE": true, "TF_IN_AUTOMATION": true,
		"TF_INPUT": true, "CHECKPOINT_DISABLE": true, "TF_VAR_greeting": true, "PWD": true, "SHLVL": true, "_": true}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, _, _ := strings.Cut(line, "=")
		if !allowed[name] && !strings.HasPrefix(name, "TF_") {
			t.Errorf("tofu's children saw %s from the server's environment", name)
		}
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	r, dir := setup(t, map[string]string{"main.tf": `
resource "terraform_data" "slow" {
  provisioner "local-exec" { command = "echo $$ > pid.txt; echo started; exec sleep 120" }
}`})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lines
	if err := r.Init(ctx, dir, out.sink); err != nil {
		t.Fatal(err)
	}
	if err := r.Plan(ctx, dir, "plan.bin", PlanOptions{}, out.sink); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	sink := func(line string) {
		out.sink(line)
		if strings.HasSuffix(line, "(local-exec): started") {
			once.Do(func() { close(started) })
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Apply(ctx, dir, "plan.bin", sink) }()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("apply ended before the provisioner started: %v\n%s", err, out.text())
	case <-time.After(30 * time.Second):
		t.Fatalf("provisioner never started:\n%s", out.text())
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("apply err = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("apply did not stop after cancel")
	}
	b, err := os.ReadFile(filepath.Join(dir, "pid.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	apptest.Eventually(t, 10*time.Second, "the provisioner's sleep (pid "+pid+") to end with the cancelled run", func() bool { return !alive(pid) })
}

// alive reports whether pid runs (zombies count as gone).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestFind(t *testing.T) {
	t.Parallel()
	empty := func(string) string { return t.TempDir() }
	if _, err := Find("", empty); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "tofu not found on PATH or at --tofu-path") {
		t.Fatalf("Find on an empty PATH = %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Find(missing, empty); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Find(%q) = %v", missing, err)
	}
	bin := binary(t)
	if got, err := Find(bin, empty); err != nil || got != bin {
		t.Fatalf("Find(%q) = %q, %v", bin, got, err)
	}
	// Relative paths, given or on PATH, come back absolute: tofu runs in
	// the workspace, and the sandbox starts only absolute programs.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, bin)
	if err != nil {
		t.Fatal(err)
	}
	relPath := func(string) string { return filepath.Dir(rel) }
	for _, tt := range []struct {
		path   string
		getenv func(string) string
	}{{rel, empty}, {"", relPath}} {
		if got, err := Find(tt.path, tt.getenv); err != nil || got != bin {
			t.Errorf("Find(%q, PATH %q) = %q, %v; want %s", tt.path, tt.getenv("PATH"), got, err, bin)
		}
	}
}

// TestVersion asks the real binary for its version.
func TestVersion(t *testing.T) {
	t.Parallel()
	r, dir := setup(t, nil)
	v, err := r.Version(t.Context(), dir)
	if err != nil || !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`).MatchString(v) {
		t.Fatalf("Version = %q, %v", v, err)
	}
	r.Path = "/bin/true" // answers nothing
	if _, err := r.Version(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "no version in its answer") {
		t.Errorf("Version of a program that is not tofu = %v", err)
	}
}

func TestMissingBinaryFailsClearly(t *testing.T) {
	t.Parallel()
	r := Runner{Path: filepath.Join(t.TempDir(), "tofu")}
	err := r.Init(context.Background(), t.TempDir(), nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Init with a missing binary = %v", err)
	}
}
