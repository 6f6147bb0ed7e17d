package demo

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hoistdev/hoist/internal/tofu"
)

// CommandPrefix marks the banner lines that are commands to copy, so tests
// (and people) find them.
const CommandPrefix = "  $ "

// BannerConfig is what the banner needs besides the demo itself.
type BannerConfig struct {
	UIURL   string // the server's URL
	DataDir string // Hoist's data dir as given on the command line
	// Command is how to invoke this binary again: "go run ./cmd/hoist" or a
	// path (see SelfCommand).
	Command string
	// TofuMissing says OpenTofu was not found: runs would fail.
	TofuMissing bool
	// SimSSO says the server logs in through the simulator ("Log in with
	// GitLab" works), as --demo sets up unless --oidc-issuer names another.
	SimSSO bool
}

// SelfCommand is how a user re-runs this program, from the process's
// argv[0]: `go run` builds into a temporary go-build directory that is gone
// afterwards, so then it is "go run ./cmd/hoist".
func SelfCommand(arg0 string) string {
	if arg0 == "" || strings.Contains(arg0, "go-build") {
		return "go run ./cmd/hoist"
	}
	return shellQuote(arg0)
}

// WriteBanner prints where the UI is, how to log in without printing the
// secrets (SPEC §6.1 never logs them), and the commands that push changes.
func (d *Demo) WriteBanner(w io.Writer, b BannerConfig) error {
	sim := ""
	if filepath.Clean(b.DataDir) != "hoist-data" {
		// The client commands look in ./hoist-data/gitlab-sim by default.
		sim = " --sim-data-dir " + shellQuote(filepath.Join(b.DataDir, SimDir))
	}
	c := b.Command
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("")
	line("Hoist demo is ready.")
	line("")
	line("  Web UI:   %s   (user admin; the password is in %s)", b.UIURL, shellQuote(filepath.Join(b.DataDir, "admin-password")))
	line("%scat %s", CommandPrefix, shellQuote(filepath.Join(b.DataDir, "admin-password")))
	if b.SimSSO {
		line("            or \"Log in with GitLab\" and pick %s: a member of GitLab group %s, which a role mapping makes root admin", PersonUsername, Group)
	}
	line("  CLI/API:  export HOIST_URL=%s HOIST_TOKEN=$(cat %s)", b.UIURL, shellQuote(filepath.Join(b.DataDir, "admin-api-key")))
	line("  GitLab:   simulator at %s, project %s, integration %q, stacks %s and %s (autodeploy)",
		d.SimURL(), Project, d.integration.ID, NetworkStack, AppStack)
	line("")
	line("Push a change to %s's %s branch: a tracked run of %s plans and waits for your confirmation.", Project, Branch, NetworkStack)
	line("%s%s gitlab-sim push%s --project %s --file \"stacks/network/demo.auto.tfvars=revision = $(date +%%s)\"",
		CommandPrefix, c, sim, Project)
	line("")
	line("Open a merge request from a feature branch: a proposed run of %s, its commit status and a merge request note.", AppStack)
	line("%sB=scale-app-$(date +%%s); %s gitlab-sim push%s --project %s --branch \"$B\" --file \"stacks/app/demo.auto.tfvars=replicas = 3\""+
		" && %s gitlab-sim mr create%s --project %s --source-branch \"$B\" --title \"Scale the app to 3 replicas\"",
		CommandPrefix, c, sim, Project, c, sim, Project)
	line("")
	line("See what Hoist wrote back to GitLab (commit statuses hoist/<stack-id> on the branch head):")
	line("%s%s gitlab-sim statuses%s --project %s --ref %s", CommandPrefix, c, sim, Project, Branch)
	if b.TofuMissing {
		line("")
		line("WARNING: OpenTofu (tofu) is not on PATH, so runs will fail. Install it with `bash scripts/install-tofu.sh`")
		line("and restart with PATH=\"$PWD/.tools/bin:$PATH\".")
	}
	line("")
	line("Try docs/gitlab.md on this demo first: after the CLI/API line, set its GitLab variables with")
	line("  Guide:    export GITLAB_URL=%s GITLAB_TOKEN_FILE=%s GITLAB_PROJECT=%s", d.SimURL(), shellQuote(d.guideTokenPath()), Project)
	line("(the demo's default integration, %s, exists already: the guide's step 2 allows for it).", d.integration.ID)
	line("Next: connect your own GitLab with docs/gitlab.md.")
	_, err := io.WriteString(w, s.String())
	return err
}

// guideTokenPath is the guide's token file as an absolute path when it can
// be, so that the variable still works after a cd.
func (d *Demo) guideTokenPath() string {
	if abs, err := filepath.Abs(d.guideToken); err == nil {
		return abs
	}
	return d.guideToken
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FindTofu returns the OpenTofu binary for the demo when tofu is not on
// PATH: the one scripts/install-tofu.sh builds into ./.tools/bin, if there.
// missing says neither exists.
func FindTofu(getenv func(string) string) (path string, missing bool) {
	if _, err := tofu.Find("", getenv); err == nil {
		return "", false
	}
	local, err := filepath.Abs(filepath.Join(".tools", "bin", tofu.Binary))
	if err != nil {
		return "", true
	}
	if _, err := tofu.Find(local, getenv); err == nil {
		return local, false
	}
	return "", true
}
