package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// BenchmarkIntakeReplicas is issue 16's intake benchmark: 16 senders post
// distinct GitLab push webhooks, spread round-robin over 1, 2 or 3
// replicas on one PostgreSQL database (each in this process, sharing the
// 2 cores), while the replicas process them (runs created, statuses
// written to the simulator; no workers). A delivery counts once its 202
// came back, that is once it is durable. It needs HOIST_TEST_POSTGRES;
// docs/benchmarks.md has the command and the figures.
func BenchmarkIntakeReplicas(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			tweaks := make([]func(*app.Config), n)
			for i := range tweaks {
				tweaks[i] = func(c *app.Config) { c.WorkerSlots = -1 }
			}
			servers := replicas(b, tweaks...)
			urls, secret, projectID := replicaIntakeFixture(b, servers)
			tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 16}
			b.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			const senders = 16
			var next, failed atomic.Int64
			lat := make([][]time.Duration, senders)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for s := range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						body := replicaPush(projectID, int(i))
						t0 := time.Now()
						if !postHook(client, urls[int(i)%len(urls)], secret, fmt.Sprintf("bench-%d", i), body) {
							failed.Add(1)
						}
						lat[s] = append(lat[s], time.Since(t0))
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d deliveries not acknowledged with 202", f)
			}
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			reportLatencies(b, "", all)
		})
	}
}

// replicaIntakeFixture connects the replicas to a simulator project with
// one stack and returns each replica's webhook URL, the webhook secret and
// the project's id.
func replicaIntakeFixture(b *testing.B, servers []*harness) (urls []string, secret string, projectID int64) {
	b.Helper()
	a := servers[0]
	ctx := b.Context()
	user, err := a.Sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		b.Fatal(err)
	}
	a.SimUser = user
	p, err := a.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"infra/main.tf": "# infra\n"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		b.Fatal(err)
	}
	var in api.Integration
	a.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", a.AdminKey,
		a.integrationBody("GitLab", "", a.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(b, &in)
	a.Must(http.StatusCreated, "POST", "/api/v1/stacks", a.AdminKey,
		map[string]any{"name": "infra", "space": "root", "repository": "acme/infra", "branch": "main", "project_root": "infra"})
	path := strings.TrimPrefix(in.WebhookEndpoint, a.App.PublicURL())
	for _, s := range servers {
		urls = append(urls, s.App.PublicURL()+path)
	}
	return urls, in.WebhookSecret, int64(p.ID)
}

// replicaPush is a push to branch b-<i> changing the stack's folder, with
// its changed files in the payload (as GitLab sends them): each makes one
// proposed run.
func replicaPush(projectID int64, i int) []byte {
	sha := fmt.Sprintf("%040x", i)
	body, _ := json.Marshal(map[string]any{
		"object_kind": "push", "event_name": "push", "ref": fmt.Sprintf("refs/heads/b-%d", i),
		"before": strings.Repeat("0", 40), "after": sha, "checkout_sha": sha,
		"user_id": 1, "user_username": "ana", "project_id": projectID, "total_commits_count": 1,
		"project": map[string]any{"id": projectID, "path_with_namespace": "acme/infra", "default_branch": "main"},
		"commits": []map[string]any{{"id": sha, "message": "m", "title": "m", "timestamp": "2026-01-01T00:00:00Z",
			"added": []string{fmt.Sprintf("infra/f%d.tf", i)}, "modified": []string{}, "removed": []string{}}},
	})
	return body
}

// postHook delivers one push webhook; true when it was acknowledged.
func postHook(c *http.Client, url, secret, key string, body []byte) bool {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", secret)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusAccepted
}

// BenchmarkPushToPendingStatusAcrossReplicas is BenchmarkPushToPendingStatus
// with a private integration on two replicas: the agent is connected to
// A, GitLab's webhook lands on B, and neither server may dial the
// simulator, so B's status write is relayed through A to the agent
// (docs/design/replicas.md). One iteration is one push.
func BenchmarkPushToPendingStatusAcrossReplicas(b *testing.B) {
	block, blockSim := simBlocker(b)
	noWorkers := func(c *app.Config) { block(c); c.WorkerSlots = -1 }
	servers := replicas(b, noWorkers, noWorkers)
	a, hb := servers[0], servers[1]
	blockSim(a.SimURL)
	ctx := b.Context()
	user, err := a.Sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		b.Fatal(err)
	}
	a.SimUser, hb.SimUser = user, user
	if _, err := a.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: runsProject, Files: map[string]string{"infra/main.tf": infraTF("hello")}}); err != nil {
		b.Fatal(err)
	}
	if err := a.Sim.AddMember(ctx, gitlabsim.MemberOptions{Project: runsProject, UserID: user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		b.Fatal(err)
	}
	var pool struct{ ID, Token string }
	a.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", a.AdminKey, map[string]any{"name": "Lab"}).Decode(b, &pool)
	a.startAgent("agent-on-a", pool.Token, "")
	hb.waitAgents(1)
	var in api.Integration
	hb.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", hb.AdminKey, map[string]any{"name": "Lab GitLab", "is_default": true,
		"api_host": "private://lab", "user_facing_host": a.SimURL, "token": hb.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})}).Decode(b, &in)
	hb.Must(http.StatusCreated, "POST", "/api/v1/stacks", hb.AdminKey, map[string]any{"name": "web", "space": "root",
		"repository": runsProject, "branch": "main", "project_root": "infra"})
	if !strings.HasPrefix(in.WebhookEndpoint, hb.App.PublicURL()) {
		b.Fatalf("webhook endpoint %s is not B's", in.WebhookEndpoint)
	}
	if _, err := a.Sim.AddHook(ctx, runsProject, gitlabsim.HookOptions{URL: in.WebhookEndpoint, Token: in.WebhookSecret}); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	for b.Loop() {
		sha := hb.push("main", map[string]string{"infra/main.tf": infraTF(time.Now().String())})
		start := time.Now()
		for statusOf(b, a.Sim, sha, "hoist/web").State == "" {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("push %d: no status after 10 s", len(took))
			}
			time.Sleep(100 * time.Microsecond) // polling the simulator's memory, bounded above
		}
		took = append(took, time.Since(start))
	}
	reportLatencies(b, "", took)
}
