package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/demo"
)

func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }

// tofuDir is the directory holding the OpenTofu runs execute, to put on
// the server's PATH; the test skips without one.
func tofuDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(apptest.Tofu(t))
}

// server is one `hoist server --demo` process and what its banner said.
type server struct {
	*apptest.Process
	commands []string // the banner's "  $ " lines, in order
	banner   string
}

// startDemo runs `hoist server --demo` in workDir with dataDir, and extra
// flags, and waits (bounded) for the whole banner.
func startDemo(t *testing.T, workDir, dataDir string, env []string, extra ...string) *server {
	t.Helper()
	p := apptest.StartBinary(t, apptest.Command{Dir: workDir, Env: env,
		Args: append([]string{"server", "--demo", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extra...)})
	s := &server{Process: p, banner: p.WaitOutput("Next: connect your own GitLab")}
	for _, line := range strings.Split(s.banner, "\n") {
		if c, ok := strings.CutPrefix(line, demo.CommandPrefix); ok {
			s.commands = append(s.commands, c)
		}
	}
	if len(s.commands) < 4 {
		t.Fatalf("banner without commands:\n%s", s.banner)
	}
	return s
}

// shell runs one banner command with bash, as a user pasting it would.
func shell(t *testing.T, dir string, env []string, command string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s\n%v\n%s", command, err, out)
	}
	return string(out)
}

// getJSON GETs url with the given auth header into out.
func getJSON(ctx context.Context, header, value, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// run is the part of the API's run the test reads.
type run struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	State           string `json:"state"`
	Branch          string `json:"branch"`
	CommitSHA       string `json:"commit_sha"`
	MergeRequestIID int    `json:"merge_request_iid"`
	Delta           struct {
		Add, Change, Destroy int
	} `json:"delta"`
}

// simInfo is the simulator's gitlab-sim.json.
type simInfo struct {
	URL        string `json:"url"`
	AdminToken string `json:"admin_token"`
}

func readSimInfo(t *testing.T, dataDir string) simInfo {
	t.Helper()
	var si simInfo
	b, err := os.ReadFile(filepath.Join(dataDir, demo.SimDir, "gitlab-sim.json"))
	if err == nil {
		err = json.Unmarshal(b, &si)
	}
	if err != nil || si.URL == "" {
		t.Fatalf("gitlab-sim.json: %v", err)
	}
	return si
}

func readKey(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const project = "demo%2Finfra"

// TestDemoNewcomerFirstMinute is issue 10's first acceptance through the
// binary: the README's command with --demo, then the printed commands, give
// within a minute a tracked run waiting for confirmation, a proposed run on
// a branch, commit statuses and a merge request note in the simulator.
func TestDemoNewcomerFirstMinute(t *testing.T) {
	t.Parallel()
	env := append(os.Environ(), "PATH="+tofuDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	work := t.TempDir() // a fresh clone's directory, nothing in it
	dataDir := filepath.Join(work, "data")
	srv := startDemo(t, work, dataDir, env)
	key := readKey(t, dataDir)
	sim := readSimInfo(t, dataDir)
	ctx := context.Background()
	if !strings.Contains(srv.commands[1], "gitlab-sim push") || !strings.Contains(srv.commands[2], "mr create") {
		t.Fatalf("unexpected banner commands:\n%s", srv.banner)
	}
	if strings.Contains(srv.banner, key) || strings.Contains(srv.banner, sim.AdminToken) {
		t.Fatal("the banner prints a secret")
	}
	deadline := time.Now().Add(time.Minute)

	shell(t, work, env, srv.commands[1]) // push to main
	var tracked run
	apptest.Eventually(t, time.Until(deadline), "tracked run of demo-network waiting for confirmation", func() error {
		var page struct{ Items []run }
		if err := getJSON(ctx, "Authorization", "Bearer "+key, srv.URL+"/api/v1/stacks/"+demo.NetworkStack+"/runs", &page); err != nil {
			return err
		}
		for _, r := range page.Items {
			if r.Type == "TRACKED" && r.Branch == demo.Branch {
				tracked = r
				if r.State == "UNCONFIRMED" {
					return nil
				}
			}
		}
		return fmt.Errorf("runs: %+v", page.Items)
	})
	if tracked.Delta.Add+tracked.Delta.Change+tracked.Delta.Destroy == 0 {
		t.Errorf("tracked run plans no change: %+v", tracked)
	}

	shell(t, work, env, srv.commands[2]) // feature branch + merge request
	var proposed run
	apptest.Eventually(t, time.Until(deadline), "proposed run of demo-app on the merge request", func() error {
		var page struct{ Items []run }
		if err := getJSON(ctx, "Authorization", "Bearer "+key, srv.URL+"/api/v1/stacks/"+demo.AppStack+"/runs", &page); err != nil {
			return err
		}
		for _, r := range page.Items {
			if r.Type == "PROPOSED" && strings.HasPrefix(r.Branch, "scale-app-") && r.MergeRequestIID == 1 && r.State == "FINISHED" {
				proposed = r
				return nil
			}
		}
		return fmt.Errorf("runs: %+v", page.Items)
	})

	statusOf := func(sha, name string, states ...string) func() error {
		return func() error {
			var sts []struct{ Name, Status string }
			u := fmt.Sprintf("%s/api/v4/projects/%s/repository/commits/%s/statuses", sim.URL, project, sha)
			if err := getJSON(ctx, "PRIVATE-TOKEN", sim.AdminToken, u, &sts); err != nil {
				return err
			}
			for _, s := range sts {
				for _, st := range states {
					if s.Name == name && s.Status == st {
						return nil
					}
				}
			}
			return fmt.Errorf("statuses of %s: %+v", sha, sts)
		}
	}
	apptest.Eventually(t, time.Until(deadline), "status of the tracked run", statusOf(tracked.CommitSHA, "hoist/"+demo.NetworkStack, "success")) // planned, waiting for confirmation
	apptest.Eventually(t, time.Until(deadline), "status of the proposed run", statusOf(proposed.CommitSHA, "hoist/"+demo.AppStack, "success"))
	apptest.Eventually(t, time.Until(deadline), "merge request note", func() error {
		var notes []struct{ Body string }
		if err := getJSON(ctx, "PRIVATE-TOKEN", sim.AdminToken, sim.URL+"/api/v4/projects/"+project+"/merge_requests/1/notes", &notes); err != nil {
			return err
		}
		for _, n := range notes {
			if strings.Contains(n.Body, demo.AppStack) {
				return nil
			}
		}
		return fmt.Errorf("notes: %+v", notes)
	})

	// The banner's last command shows the statuses on main's head.
	if out := shell(t, work, env, srv.commands[3]); !strings.Contains(out, "hoist/"+demo.NetworkStack) {
		t.Errorf("statuses command printed:\n%s", out)
	}
}

// TestDemoRestartDuplicatesNothing restarts `hoist server --demo` on the same
// data dir and checks by ids that nothing was created twice and that the
// webhook still reaches Hoist.
func TestDemoRestartDuplicatesNothing(t *testing.T) {
	t.Parallel()
	env := append(os.Environ(), "PATH="+tofuDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	work := t.TempDir()
	dataDir := filepath.Join(work, "data")
	first := startDemo(t, work, dataDir, env)
	first.Stop()
	second := startDemo(t, work, dataDir, env)
	key := readKey(t, dataDir)
	sim := readSimInfo(t, dataDir)
	ctx := context.Background()

	var its struct{ Items []struct{ ID string } }
	if err := getJSON(ctx, "Authorization", "Bearer "+key, second.URL+"/api/v1/integrations", &its); err != nil {
		t.Fatal(err)
	}
	if len(its.Items) != 1 || its.Items[0].ID != demo.IntegrationID {
		t.Errorf("integrations after a restart: %+v", its.Items)
	}
	var sts struct{ Items []struct{ ID string } }
	if err := getJSON(ctx, "Authorization", "Bearer "+key, second.URL+"/api/v1/stacks", &sts); err != nil {
		t.Fatal(err)
	}
	if len(sts.Items) != 2 {
		t.Errorf("stacks after a restart: %+v", sts.Items)
	}
	var hooks []struct {
		ID  int    `json:"id"`
		URL string `json:"url"`
	}
	if err := getJSON(ctx, "PRIVATE-TOKEN", sim.AdminToken, sim.URL+"/api/v4/projects/"+project+"/hooks", &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || !strings.HasPrefix(hooks[0].URL, second.URL+"/webhooks/gitlab/") {
		t.Errorf("hooks after a restart (server at %s): %+v", second.URL, hooks)
	}

	// "Log in with GitLab" works after the restart too (the OAuth
	// application follows the server's address), and makes alice root
	// admin through the demo group's mapping, created once.
	demoSSOLogin(t, second.URL)
	var ms struct{ Items []struct{ Group string } }
	if err := getJSON(ctx, "Authorization", "Bearer "+key, second.URL+"/api/v1/role-mappings", &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms.Items) != 1 || ms.Items[0].Group != demo.Group {
		t.Errorf("role mappings after a restart: %+v", ms.Items)
	}

	// The re-registered webhook works: a push becomes a delivery with a run.
	shell(t, work, env, second.commands[1])
	apptest.Eventually(t, time.Minute, "delivery with a run after the restart", func() error {
		var ds struct {
			Items []struct {
				Status string
				Result struct {
					RunsCreated []struct{ ID string } `json:"runs_created"`
				}
			}
		}
		if err := getJSON(ctx, "Authorization", "Bearer "+key, second.URL+"/api/v1/deliveries?integration="+demo.IntegrationID, &ds); err != nil {
			return err
		}
		for _, d := range ds.Items {
			if len(d.Result.RunsCreated) > 0 {
				return nil
			}
		}
		return fmt.Errorf("deliveries: %+v", ds.Items)
	})
}

var (
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	personRe = regexp.MustCompile(`name="user_id" value="(\d+)" data-username="` + demo.PersonUsername + `"`)
)

// demoSSOLogin logs in as the demo's person the way a browser does: the
// login button, the simulator's authorize page, the callback; then the
// Administration answers (root admin through the mapping).
func demoSSOLogin(t *testing.T, serverURL string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, _ := get(serverURL + "/login/oidc")
	authorize := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(authorize, "/oauth/authorize?") {
		t.Fatalf("the login button answered %d to %q", res.StatusCode, authorize)
	}
	_, page := get(authorize)
	form := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	person := personRe.FindStringSubmatch(page)
	if person == nil {
		t.Fatalf("no %s on the authorize page:\n%s", demo.PersonUsername, page)
	}
	form.Set("user_id", person[1])
	au, _ := url.Parse(authorize)
	res, err = c.PostForm(au.Scheme+"://"+au.Host+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	callback := res.Header.Get("Location")
	if !strings.HasPrefix(callback, serverURL+"/login/oidc/callback?") {
		t.Fatalf("the simulator sent the browser to %q (%d)", callback, res.StatusCode)
	}
	if res, body := get(callback); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback = %d: %.300s", res.StatusCode, body)
	}
	if res, body := get(serverURL + "/admin/users"); res.StatusCode != http.StatusOK || !strings.Contains(body, demo.PersonUsername) {
		t.Errorf("alice's /admin/users = %d: %.300s", res.StatusCode, body)
	}
}
