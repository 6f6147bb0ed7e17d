package gitlabsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// fixture is a started simulator with a project, a Maintainer and a token.
type fixture struct {
	sim     *Server
	url     string
	project Project
	user    User
	token   string
	client  *gitlab.Client
}

func newSim(t *testing.T) (*Server, string) {
	t.Helper()
	sim, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	url, err := sim.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sim, url
}

// setup starts a simulator with project acme/infra/app (files main.tf and
// README.md on main) and a Maintainer "alice" with an api token.
func setup(t *testing.T) *fixture {
	t.Helper()
	sim, url := newSim(t)
	ctx := context.Background()
	p, err := sim.CreateProject(ctx, ProjectOptions{Path: "acme/infra/app", Files: map[string]string{"main.tf": "# main\n", "README.md": "hi\n"}})
	if err != nil {
		t.Fatal(err)
	}
	u, token := addUser(t, sim, "alice", Maintainer, p.PathWithNamespace, "api")
	return &fixture{sim: sim, url: url, project: p, user: u, token: token, client: newClient(t, url, token)}
}

// addUser creates a user who is a member of project at level (unless 0)
// with a token of the given scopes.
func addUser(t *testing.T, sim *Server, name string, level int, project string, scopes ...string) (User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := sim.CreateUser(ctx, UserOptions{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	if level != 0 {
		if err := sim.AddMember(ctx, MemberOptions{Project: project, UserID: u.ID, AccessLevel: level}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := sim.CreateToken(ctx, TokenOptions{UserID: u.ID, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return u, tok.Value
}

func newClient(t *testing.T, url, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(url+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// statusOf extracts the HTTP status of a client error (0 if none).
func statusOf(err error) int {
	var er *gitlab.ErrorResponse
	if e, ok := err.(*gitlab.ErrorResponse); ok {
		er = e
	}
	if er == nil || er.Response == nil {
		return 0
	}
	return er.Response.StatusCode
}

// receiver is a webhook receiver recording every request.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: b})
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitHooks waits for queued deliveries with a bound.
func waitHooks(t *testing.T, sim *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sim.WaitHooks(ctx); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func mustPush(t *testing.T, sim *Server, o PushOptions) PushResult {
	t.Helper()
	res, err := sim.Push(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// commits builds n commits each creating file <prefix>-<i>.txt.
func commits(prefix string, n int) []CommitSpec {
	out := make([]CommitSpec, n)
	for i := range out {
		out[i] = CommitSpec{Message: fmt.Sprintf("%s commit %d", prefix, i+1),
			Actions: []FileAction{{Action: "create", Path: fmt.Sprintf("%s-%d.txt", prefix, i+1), Content: fmt.Sprintf("%d\n", i)}}}
	}
	return out
}

// rawGet returns the body of a GET with a PRIVATE-TOKEN.
func rawGet(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newBlockingReceiver never answers while the test runs.
func newBlockingReceiver(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv.URL
}
