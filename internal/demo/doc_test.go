package demo_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// A marker precedes every ```sh block of a guide that its test runs:
// <!-- doc-test --> runs it once and wants exit 0; <!-- doc-test retry -->
// runs it until it exits 0 (a check the reader repeats until something is
// ready); <!-- doc-test background --> starts it and leaves it running (a
// process the reader starts in another terminal), to be stopped at the end.
const (
	markerOpen  = "<!-- doc-test"
	markerClose = "-->"
)

// docBlock is one tested shell block of a guide.
type docBlock struct {
	line int    // of the opening fence, for messages
	mode string // "", "retry" or "background"
	code string
}

// docTestBlocks extracts the marked ```sh blocks of a markdown file, in
// order. A marker not followed by a ```sh block fails the test, so the
// guide cannot silently drop a tested step.
func docTestBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	marked, mode, n := false, "", 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		case strings.HasPrefix(trimmed, markerOpen) && strings.HasSuffix(trimmed, markerClose):
			mode = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, markerOpen), markerClose))
			if mode != "" && mode != "retry" && mode != "background" {
				t.Fatalf("%s:%d: unknown doc-test mode %q", path, n, mode)
			}
			marked = true
		case marked && trimmed == "":
		case marked && trimmed == "```sh":
			cur, marked = &docBlock{line: n, mode: mode}, false
		case marked:
			t.Fatalf("%s:%d: a doc-test marker is followed by %q, not a ```sh block", path, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil || marked {
		t.Fatalf("%s: unterminated tested block", path)
	}
	return blocks
}

// gitlabSide is what an administrator has before reading docs/gitlab.md:
// a GitLab (the simulator) with a project of OpenTofu code and a machine
// user with Maintainer on its group, whose `api` token is saved in a file.
type gitlabSide struct {
	sim       *gitlabsim.Server
	token     string
	tokenFile string
}

func setupGitLab(t *testing.T, work string) gitlabSide {
	t.Helper()
	ctx := context.Background()
	sim, _ := apptest.StartGitLab(t)
	if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{
		"network/main.tf": "locals { cidr = \"10.0.0.0/16\" }\nresource \"terraform_data\" \"net\" { input = local.cidr }\n",
		"README.md":       "# infra\n",
	}}); err != nil {
		t.Fatal(err)
	}
	bot, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot", Name: "Hoist Bot", Bot: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: bot.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: bot.ID, Name: "hoist", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(work, "gitlab-token")
	if err := os.WriteFile(file, []byte(tok.Value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return gitlabSide{sim: sim, token: tok.Value, tokenFile: file}
}

// TestGitLabGuideAsWritten is issue 10's second acceptance: docs/gitlab.md
// is followed as written. Every marked block runs with bash, in order, with
// the built hoist on PATH and the variables the guide asks the reader to
// set; then the end result is checked: the integrations exist, the webhook
// is registered, and the guide's push produced a delivery with a run and a
// commit status. The reader brings only a Git identity: the guide gives Git
// its credentials.
func TestGitLabGuideAsWritten(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	gl := setupGitLab(t, work)
	base := guideBaseEnv(t, work)
	dataDir := filepath.Join(work, "hoist-data")
	srv := apptest.StartBinary(t, apptest.Command{Dir: work, Env: base, Args: []string{"server", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}})
	key := readKey(t, dataDir)
	env := append(base,
		"HOIST_URL="+srv.URL, "HOIST_TOKEN="+key,
		"GITLAB_URL="+gl.sim.URL(), "GITLAB_TOKEN_FILE="+gl.tokenFile, "GITLAB_PROJECT=acme/infra")
	followGuide(t, work, env, gl.token, gl.sim)
	checkGuideResult(t, srv.URL, key, gl.sim, guideWant{project: "acme/infra", acmeIsDefault: true, hooks: 1})
}

// guideBaseEnv is the reader's shell before the guide: the built hoist
// (and OpenTofu, when installed) on PATH, a home of its own, and a Git
// identity, but no Git credentials.
func guideBaseEnv(t *testing.T, work string) []string {
	t.Helper()
	path := filepath.Dir(apptest.Binary(t)) + string(os.PathListSeparator) + os.Getenv("PATH")
	if p, err := exec.LookPath(filepath.Join(apptest.RepoRoot(), ".tools", "bin", "tofu")); err == nil {
		path = filepath.Dir(p) + string(os.PathListSeparator) + path
	}
	return append(os.Environ(), "PATH="+path, "HOME="+work,
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada",
		"GIT_COMMITTER_EMAIL=ada@example.com", "GIT_TERMINAL_PROMPT=0")
}

// guideGitLab is the GitLab a guide test runs against, as the test reads
// it: the in-process simulator, or the demo's over HTTP.
type guideGitLab interface {
	WaitHooks(ctx context.Context) error
	Hooks(project string) ([]gitlabsim.Hook, error)
	ResolveRef(ctx context.Context, project, ref string) (string, error)
	CommitStatuses(project, sha string) ([]gitlabsim.CommitStatus, error)
}

// followGuide runs the marked blocks of docs/gitlab.md in order in work,
// with env, failing when one fails or prints token.
func followGuide(t *testing.T, work string, env []string, token string, gl guideGitLab) {
	t.Helper()
	blocks := docTestBlocks(t, filepath.Join(apptest.RepoRoot(), "docs", "gitlab.md"))
	if len(blocks) < 8 {
		t.Fatalf("docs/gitlab.md has %d tested blocks; the guide's steps are missing their markers", len(blocks))
	}
	ctx := context.Background()
	var background []*bgProcess
	for _, b := range blocks {
		switch b.mode {
		case "background":
			background = append(background, startBackground(t, b, work, env))
			continue
		case "retry":
			runBlockUntilOK(t, b, work, env, token)
		default:
			if out, err := runBlock(b, work, env); err != nil {
				t.Fatalf("docs/gitlab.md:%d failed: %v\n%s\noutput:\n%s", b.line, err, b.code, out)
			} else if strings.Contains(out, token) {
				t.Fatalf("docs/gitlab.md:%d prints the GitLab token", b.line)
			}
		}
		// GitLab has sent whatever the step caused before the reader goes on.
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := gl.WaitHooks(waitCtx)
		cancel()
		if err != nil {
			t.Fatalf("docs/gitlab.md:%d: webhooks not delivered: %v", b.line, err)
		}
	}
	for _, p := range background {
		select {
		case <-p.done:
			t.Errorf("docs/gitlab.md:%d exited while the guide still needed it:\n%s", p.line, p.out.String())
		default:
		}
	}
}

func runBlock(b docBlock, dir string, env []string) (string, error) {
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.code)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runBlockUntilOK repeats a block (bounded) until it exits 0.
func runBlockUntilOK(t *testing.T, b docBlock, dir string, env []string, token string) {
	t.Helper()
	var out string
	apptest.Eventually(t, 30*time.Second, fmt.Sprintf("docs/gitlab.md:%d", b.line), func() error {
		var err error
		if out, err = runBlock(b, dir, env); err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		return nil
	})
	if strings.Contains(out, token) {
		t.Fatalf("docs/gitlab.md:%d prints the GitLab token", b.line)
	}
}

// bgProcess is a block left running, in its own process group so that its
// children stop with it.
type bgProcess struct {
	line int
	out  *apptest.Buffer
	done chan struct{}
}

func startBackground(t *testing.T, b docBlock, dir string, env []string) *bgProcess {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.code)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &bgProcess{line: b.line, out: &apptest.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("docs/gitlab.md:%d: %v", b.line, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the group this test started
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// guideWant is what the guide leaves behind, which depends on where it
// ran: on the demo, Acme GitLab is not the default (the demo's is) and the
// project has the demo's hook too.
type guideWant struct {
	project       string
	acmeIsDefault bool
	hooks         int
}

// checkGuideResult checks what the guide says the reader ends up with.
func checkGuideResult(t *testing.T, hoistURL, key string, gl guideGitLab, want guideWant) {
	t.Helper()
	ctx := context.Background()
	auth := "Bearer " + key
	var def, team struct {
		Space     string
		IsDefault bool `json:"is_default"`
	}
	if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/integrations/gitlab/acme-gitlab", &def); err != nil {
		t.Fatal(err)
	}
	if def.IsDefault != want.acmeIsDefault || def.Space != "root" {
		t.Errorf("acme-gitlab: %+v, want in root, default %v", def, want.acmeIsDefault)
	}
	if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/integrations/gitlab/platform-gitlab", &team); err != nil {
		t.Fatal(err)
	}
	if team.Space != "platform" || team.IsDefault {
		t.Errorf("platform-gitlab: %+v", team)
	}
	var private struct {
		Private   bool
		TokenUser string `json:"token_user"`
	}
	if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/integrations/gitlab/datacenter-gitlab", &private); err != nil {
		t.Fatal(err)
	}
	if !private.Private || private.TokenUser != "hoist-bot" {
		t.Errorf("datacenter-gitlab (through the VCS agent): %+v", private)
	}
	var ops struct{ Space, TokenUser string }
	if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/integrations/gitlab/platform-ops-gitlab", &ops); err != nil {
		t.Fatal(err)
	}
	if ops.Space != "platform" {
		t.Errorf("platform-ops-gitlab (created with the API): %+v", ops)
	}
	var endpoint api.Integration
	if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/integrations/gitlab/acme-gitlab", &endpoint); err != nil {
		t.Fatal(err)
	}
	hooks, err := gl.Hooks(want.project)
	if err != nil {
		t.Fatal(err)
	}
	var ours []gitlabsim.Hook
	for _, h := range hooks {
		if h.URL == endpoint.WebhookEndpoint {
			ours = append(ours, h)
		}
	}
	// GitLab's API does not answer a hook's token: over HTTP it is empty.
	if len(hooks) != want.hooks || len(ours) != 1 || (ours[0].Token != endpoint.WebhookSecret && ours[0].Token != "") ||
		!ours[0].PushEvents || !ours[0].TagPushEvents || !ours[0].MergeRequestsEvents || !ours[0].EnableSSLVerification {
		t.Errorf("hooks of %s = %+v; want %d, one to %s with the secret and push, tag push and MR events", want.project, hooks, want.hooks, endpoint.WebhookEndpoint)
	}
	head, err := gl.ResolveRef(ctx, want.project, "main")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	apptest.Eventually(t, time.Until(deadline), "the guide's push processed into one tracked run of network", func() error {
		var deliveries struct {
			Items []struct {
				Event, Status, Ref string
				Processings        []struct {
					Trigger string
					Counts  map[string]int
				}
			}
		}
		if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/deliveries?integration=acme-gitlab", &deliveries); err != nil {
			return err
		}
		if len(deliveries.Items) != 1 || deliveries.Items[0].Event != "Push Hook" || deliveries.Items[0].Status != "processed" {
			return fmt.Errorf("deliveries: %+v", deliveries.Items)
		}
		// The guide's redelivery kept the first processing's result.
		if p := deliveries.Items[0].Processings; len(p) != 2 || p[0].Counts["created"] != 1 ||
			p[1].Trigger != "redelivered" || p[1].Counts["deduplicated"] != 1 {
			return fmt.Errorf("processings of the push: %+v", p)
		}
		// The redelivery the guide shows must not have run anything twice.
		var runs struct{ Items []run }
		if err := getJSON(ctx, "Authorization", auth, hoistURL+"/api/v1/stacks/network/runs", &runs); err != nil {
			return err
		}
		n := 0
		for _, r := range runs.Items {
			if r.Type == "TRACKED" && r.CommitSHA == head {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d tracked runs at %s: %+v", n, head, runs.Items)
		}
		return nil
	})
	apptest.Eventually(t, time.Until(deadline), "commit status hoist/network on the pushed commit", func() error {
		sts, err := gl.CommitStatuses(want.project, head)
		if err != nil {
			return err
		}
		for _, s := range sts {
			if s.Name == "hoist/network" {
				return nil
			}
		}
		return fmt.Errorf("statuses of %s: %+v", head, sts)
	})
}
