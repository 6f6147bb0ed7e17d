package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/vcsagent"
	"github.com/hoistdev/hoist/internal/vcsagent/agent"
)

// Killing one of two agents while it carries requests loses none of them:
// each is sent again on the other agent.
func TestKillingAnAgentMidFlowLosesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	victim := e.startAgent(t, "victim", "")
	e.waitAgents(t, 1, 4)
	e.startAgent(t, "survivor", "")
	e.waitAgents(t, 2, 4)
	if _, err := e.sim.AddFault(gitlabsim.Fault{Method: "GET", Path: "/api/v4/projects/*/repository/branches/*", Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c := e.gitlab(t)

	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			b, _, err := c.Branches.GetBranch("infra/net", "main")
			if err == nil && b.Name != "main" {
				err = fmt.Errorf("branch %q", b.Name)
			}
			errs <- err
		}()
	}
	waitBusy(t, e, "victim")
	victim.stop()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("request lost when an agent died: %v", err)
		}
	}
	if !strings.Contains(e.logs.String(), "sending it on another") {
		t.Error("no request was in flight on the killed agent; the test proved nothing")
	}
	if infos := e.reg.Connected(pool); len(infos) != 1 || infos[0].Name != "survivor" {
		t.Errorf("agents after the kill = %+v", infos)
	}
}

// waitBusy waits until the named agent carries a request.
func waitBusy(t *testing.T, e *env, name string) {
	t.Helper()
	apptest.Eventually(t, 30*time.Second, "agent "+name+" to carry a request", func() bool {
		for _, a := range e.reg.Connected(pool) {
			if a.Name == name && a.Busy > 0 {
				return true
			}
		}
		return false
	})
}

// With no agent a write fails fast with ErrNoAgent; a caller that retries
// (as the durable write-back queue does) lands it once an agent connects.
func TestWritesWaitForAnAgent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.gitlab(t)
	sha := e.headSHA(t)
	post := func() error {
		_, _, err := c.Commits.SetCommitStatus("infra/net", sha, &gl.SetCommitStatusOptions{State: gl.Success, Name: gl.Ptr("hoist")})
		return err
	}
	start := time.Now()
	if err := post(); !errors.Is(err, vcsagent.ErrNoAgent) {
		t.Fatalf("first write = %v, want ErrNoAgent", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("no-agent failure took %v; it must be fast", d)
	}
	started := false
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if err = post(); !errors.Is(err, vcsagent.ErrNoAgent) {
			break
		}
		if !started && attempt == 2 {
			e.startAgent(t, "late", "")
			started = true
		}
		time.Sleep(20 * time.Millisecond) // the caller's retry backoff
	}
	if err != nil {
		t.Fatalf("write after the agent connected: %v", err)
	}
	if got, _ := e.sim.CommitStatuses("infra/net", sha); len(got) != 1 || got[0].State != "success" {
		t.Errorf("statuses in GitLab = %+v", got)
	}
}

func (e *env) headSHA(t *testing.T) string {
	t.Helper()
	sha, err := e.sim.ResolveRef(context.Background(), "infra/net", "main")
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// A caller that gives up (timeout, closed body) frees the stream for the
// next request, which gets its own answer.
func TestAbandonedRequestsFreeTheStream(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.startAgentWith(t, agent.Config{Name: "one", PoolToken: e.token(), Parallelism: 1})
	e.waitAgents(t, 1, 1)
	hc := &http.Client{Transport: e.reg.RoundTripper(pool)}
	get := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://private.lab"+path, nil)
		req.Header.Set("PRIVATE-TOKEN", e.glToken)
		return hc.Do(req)
	}

	// A body closed after a few bytes.
	resp, err := get(context.Background(), "/api/v4/projects/infra%2Fnet/repository/archive.tar.gz?sha=main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A request whose caller times out while GitLab is slow.
	if _, err := e.sim.AddFault(gitlabsim.Fault{Path: "/api/v4/user", Latency: 3 * time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := get(ctx, "/api/v4/user"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow request = %v, want deadline exceeded", err)
	}

	start := time.Now()
	resp, err = get(context.Background(), "/api/v4/projects/infra%2Fnet")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"path_with_namespace":"infra/net"`) {
		t.Errorf("next request on the stream = %d %.200s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("next request waited %v: the cancel did not reach the agent", d)
	}
}

// Over https the agent verifies the server's certificate and the streams
// work through an HTTP/2-enabled server.
func TestTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if !strings.HasPrefix(e.serverURL, "https://") {
		t.Fatalf("server URL %s", e.serverURL)
	}
	e.startAgent(t, "tls", "")
	e.waitAgents(t, 1, 4)
	if _, _, err := e.gitlab(t).Users.CurrentUser(); err != nil {
		t.Fatalf("call through a TLS tunnel: %v", err)
	}
	// An agent that does not trust the certificate cannot connect.
	untrusting := e.startAgentWith(t, agent.Config{Name: "untrusting", PoolToken: e.token(), ServerClient: &http.Client{}})
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if len(e.reg.Connected(pool)) != 1 {
			t.Fatal("an agent connected without verifying the server certificate")
		}
		time.Sleep(20 * time.Millisecond) // watching that nothing happens
	}
	untrusting.stop()
	if !strings.Contains(e.logs.String(), "certificate") {
		t.Error("the agent does not say why it cannot connect")
	}
}
