package deploytest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
)

func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }

// TestImageSteps runs the Dockerfile's build steps outside a container and
// starts the result as the image would (scripts/image-steps.sh): its
// HEALTHCHECK must pass, /readyz answer 200 and SIGTERM stop it cleanly.
func TestImageSteps(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: builds and starts the image's file system")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is Linux's")
	}
	for _, tool := range []string{"bash", "install", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/image-steps.sh needs %s: %v", tool, err)
		}
	}
	if !tofuInstalled() {
		t.Skip("scripts/install-tofu.sh has not built the pinned OpenTofu on this machine yet " +
			"(a few minutes, once): run it, then this test")
	}
	env := append(os.Environ(), "HOIST_IMAGE_PORT="+strconv.Itoa(freePort(t)))
	// Reuse the suite's binary when scripts/test.sh built one; else the
	// script builds hoist itself, with the image's command.
	if p := os.Getenv(apptest.EnvBinary); p != "" {
		env = append(env, "HOIST_IMAGE_HOIST_BINARY="+p)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(apptest.RepoRoot(), "scripts", "image-steps.sh"))
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/image-steps.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"HEALTHCHECK passed", "GET /readyz: HTTP/1.0 200", "stopped cleanly"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the script's output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}

// tofuInstalled reports whether scripts/install-tofu.sh will copy the
// pinned OpenTofu rather than build it for minutes.
func tofuInstalled() bool {
	if _, err := os.Stat(filepath.Join(apptest.RepoRoot(), ".tools", "bin", "tofu")); err == nil {
		return true
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return false
		}
		cache = filepath.Join(home, ".cache")
	}
	_, err := os.Stat(filepath.Join(cache, "hoist", "tofu-"+tofuVersion(), "tofu"))
	return err == nil
}

// tofuVersion is scripts/install-tofu.sh's pin.
func tofuVersion() string {
	b, _ := os.ReadFile(filepath.Join(apptest.RepoRoot(), "scripts", "install-tofu.sh"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "version="); ok {
			return v
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
