package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest/inproc"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/store/sqlite"
)

// BenchmarkStacksList10k loads the stacks list (GET /stacks, 50 rows with
// their last run) of a real server on SQLite holding 10,000 stacks in ten
// spaces, half of them with runs: the first page, a page deep in the
// keyset, each filter (a rare last-run state scans every stack), and a
// reader of five spaces. Each reports the p50 and p95 of a page load,
// through HTTP with a session, in milliseconds.
func BenchmarkStacksList10k(b *testing.B) {
	const n = 10_000
	srv := inproc.Start(b, nil)
	srv.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", srv.AdminKey, map[string]any{"name": "Acme GitLab",
		"is_default": true, "api_host": srv.SimURL, "token": srv.Token(gitlabsim.TokenOptions{})})
	for i := range 10 {
		srv.Must(http.StatusCreated, "POST", "/api/v1/spaces", srv.AdminKey, map[string]any{"name": fmt.Sprintf("team %d", i), "parent": "root"})
	}
	reader := "pw-reader-0123456789"
	var roles []map[string]string
	for i := range 5 {
		roles = append(roles, map[string]string{"space": fmt.Sprintf("team-%d", i*2), "role": "read"})
	}
	srv.Must(http.StatusCreated, "POST", "/api/v1/users", srv.AdminKey, map[string]any{"username": "reader", "password": reader, "roles": roles})
	// Seeded with the server stopped, so that its scheduler never sees the
	// runs before they are over.
	if err := srv.App.Close(); err != nil {
		b.Fatal(err)
	}
	seedStackList(b, filepath.Join(srv.Config.DataDir, sqlite.FileName), n)
	if err := srv.Boot(); err != nil {
		b.Fatal(err)
	}

	admin, other := benchLogin(b, srv.URL, "admin", srv.AdminPassword), benchLogin(b, srv.URL, "reader", reader)
	deep := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("stack-%05d", n*3/4)))
	for _, sc := range []struct {
		name, path string
		c          *http.Client
		rows       int
	}{
		{"first", "/stacks", admin, 50},
		{"deep", "/stacks?cursor=" + deep, admin, 50},
		{"label", "/stacks?label=pci", admin, 50},
		{"space", "/stacks?space=team-3", admin, 50},
		{"state-rare", "/stacks?state=FAILED", admin, 50},
		{"text", "/stacks?q=" + url.QueryEscape("stack-0999"), admin, 10},
		{"reader", "/stacks", other, 50},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				body := benchGet(b, sc.c, srv.URL+sc.path)
				took = append(took, time.Since(start))
				if got := len(stackRowRe.FindAllString(body, -1)); got != sc.rows {
					b.Fatalf("%s: %d rows, want %d", sc.path, got, sc.rows)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// seedStackList writes n stacks into the server's database through a
// second handle (creating them through the API would ask the GitLab
// simulator 10,000 times): stack-00000… in spaces team-0…team-9, one in
// ten labelled pci; every other stack has a run, one in a hundred of them
// FAILED, the others DISCARDED.
func seedStackList(b *testing.B, path string, n int) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Now().UTC().Add(-time.Hour)
	var runs []run.Run
	for i := range n {
		id := fmt.Sprintf("stack-%05d", i)
		st := stack.Stack{ID: id, Name: id, SpaceID: fmt.Sprintf("team-%d", i%10), IntegrationID: "acme-gitlab",
			Repository: "acme/infra", ProjectID: 1, Branch: "main", ProjectRoot: fmt.Sprintf("stacks/%05d", i),
			Labels: []string{"bench"}, Tool: stack.OpenTofu, WorkerPool: stack.DefaultWorkerPool, CreatedAt: at, UpdatedAt: at,
			TrackedCommit: &stack.TrackedCommit{SHA: fmt.Sprintf("%040x", i), Branch: "main", MovedAt: at}}
		if i%10 == 0 {
			st.Labels = []string{"bench", "pci"}
		}
		if err := s.CreateStack(ctx, st, audit.Entry{At: at, Actor: "bench", Action: "stack.create", ResourceType: "stack", ResourceID: id}); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			runs = append(runs, run.Run{ID: fmt.Sprintf("01BENCH%05d", i), StackID: id, Type: run.Tracked, State: run.Queued,
				CommitSHA: st.TrackedCommit.SHA, CreatedAt: at, UpdatedAt: at})
		}
	}
	if _, err := s.ApplyRunChanges(ctx, run.Changes{At: at, Actor: "bench", Create: runs}); err != nil {
		b.Fatal(err)
	}
	for i, r := range runs {
		to := run.Discarded
		if i%100 == 0 {
			to = run.Failed
		}
		if _, err := s.MoveRun(ctx, run.Move{RunID: r.ID, To: to, At: at, Actor: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

var benchCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// benchLogin logs in with a password and returns the session's client.
func benchLogin(b *testing.B, base, user, password string) *http.Client {
	b.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	m := benchCSRF.FindStringSubmatch(benchGet(b, c, base+"/login"))
	if m == nil {
		b.Fatal("no CSRF token on the login page")
	}
	res, err := c.PostForm(base+"/login", url.Values{"csrf_token": {m[1]}, "username": {user}, "password": {password}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if strings.HasPrefix(res.Request.URL.Path, "/login") {
		b.Fatalf("login as %s failed", user)
	}
	return c
}

func benchGet(b *testing.B, c *http.Client, u string) string {
	b.Helper()
	res, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s = %d, %v: %.500s", u, res.StatusCode, err, body)
	}
	return string(body)
}
