package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// startBinary runs the built hoist as `hoist server` on dataDir, on a free
// loopback port and without embedded workers (runs stay queued); extra
// flags come after (later flags win: "--worker-slots", "1" gives it
// workers) and env is added to its environment.
func startBinary(t *testing.T, dataDir string, env []string, extra ...string) *apptest.Process {
	t.Helper()
	return apptest.StartBinary(t, apptest.Command{Env: env,
		Args: append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--worker-slots", "0"}, extra...)})
}

// infraProject creates in sim the project acme/infra holding files and
// the user bot as its Maintainer, and returns an api token of the user.
func infraProject(t testing.TB, sim *gitlabsim.Server, bot gitlabsim.UserOptions, files map[string]string) string {
	t.Helper()
	ctx := t.Context()
	user, err := sim.CreateUser(ctx, bot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: files}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: user.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// pushPayload is a complete push to branch b-<i> adding infra/f<i>.tf:
// its changed files are in the payload, so processing needs no GitLab.
func pushPayload(projectID int64, project string, i int) (body []byte, sha string) {
	sum := sha1.Sum(fmt.Appendf(nil, "commit %d", i))
	sha = hex.EncodeToString(sum[:])
	p := map[string]any{
		"object_kind": "push", "event_name": "push", "ref": fmt.Sprintf("refs/heads/b-%d", i),
		"before": strings.Repeat("1", 40), "after": sha, "checkout_sha": sha,
		"user_id": 1, "user_username": "ana", "project_id": projectID, "total_commits_count": 1,
		"project": map[string]any{"id": projectID, "path_with_namespace": project, "default_branch": "main"},
		"commits": []map[string]any{{"id": sha, "message": "m", "title": "m", "timestamp": "2026-01-01T00:00:00Z",
			"added": []string{fmt.Sprintf("infra/f%d.tf", i)}, "modified": []string{}, "removed": []string{}}},
	}
	body, _ = json.Marshal(p)
	return body, sha
}

// TestKillNineLosesNoAcknowledgedDelivery is issue 4's acceptance 3: the
// server is SIGKILLed right after a batch of deliveries was acknowledged;
// after a restart every acknowledged delivery has produced its run, none
// twice.
func TestKillNineLosesNoAcknowledgedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary")
	}
	t.Parallel()
	sim, simURL := apptest.StartGitLab(t)
	token := infraProject(t, sim, gitlabsim.UserOptions{Username: "hoist-bot"}, map[string]string{"infra/main.tf": "\n"})

	dataDir := t.TempDir()
	first := startBinary(t, dataDir, nil)
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	var in struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	first.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": simURL, "token": token}).Decode(t, &in)
	var st struct {
		ProjectID int64 `json:"project_id"`
	}
	first.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": "infra", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "infra"}).Decode(t, &st)

	// 16 senders, 400 deliveries; the kill comes the moment the last one is
	// acknowledged, while most are still being processed.
	const total, senders = 400, 16
	acked := make([]string, total) // SHA of each acknowledged delivery
	var wg sync.WaitGroup
	next := make(chan int, total)
	for i := range total {
		next <- i
	}
	close(next)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body, sha := pushPayload(st.ProjectID, "acme/infra", i)
				req, _ := http.NewRequest("POST", first.URL+"/webhooks/gitlab/gitlab", bytes.NewReader(body))
				req.Header.Set("X-Gitlab-Event", "Push Hook")
				req.Header.Set("X-Gitlab-Token", in.WebhookSecret)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("delivery-%d", i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue // not acknowledged: GitLab would resend it
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					acked[i] = sha
				}
			}
		}()
	}
	wg.Wait()
	first.Kill()
	want := map[string]bool{}
	for _, sha := range acked {
		if sha != "" {
			want[sha] = true
		}
	}
	if len(want) != total {
		t.Fatalf("only %d of %d deliveries were acknowledged before the kill", len(want), total)
	}

	second := startBinary(t, dataDir, nil)
	runs := waitRuns(t, second, key, len(want))
	for sha := range want {
		if runs[sha] != 1 {
			t.Errorf("delivery of %s made %d runs, want 1", sha[:8], runs[sha])
		}
	}
	if len(runs) != len(want) {
		t.Errorf("%d distinct commits have runs, want %d", len(runs), len(want))
	}
}

// waitRuns polls until the server holds the given number of deliveries,
// all processed, and returns the number of runs of stack infra per commit.
func waitRuns(t *testing.T, p *apptest.Process, key string, deliveries int) map[string]int {
	t.Helper()
	first := true
	apptest.Eventually(t, 60*time.Second, "every delivery processed after the restart", func() error {
		stored, processed := 0, 0
		for cursor := ""; ; {
			var page struct {
				Items      []struct{ Status string }
				NextCursor string `json:"next_cursor"`
			}
			p.Must(http.StatusOK, "GET", "/api/v1/deliveries?limit=200&cursor="+cursor, key, nil).Decode(t, &page)
			for _, d := range page.Items {
				stored++
				if d.Status == "processed" {
					processed++
				}
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if stored < deliveries {
			t.Fatalf("%d deliveries stored after the restart, %d were acknowledged", stored, deliveries)
		}
		if first {
			t.Logf("at the restart %d of %d deliveries were still to process", stored-processed, stored)
			first = false
		}
		if processed < stored {
			return fmt.Errorf("%d of %d processed", processed, stored)
		}
		return nil
	})
	runs := map[string]int{}
	cursor := ""
	for {
		var page struct {
			Items []struct {
				CommitSHA string `json:"commit_sha"`
			}
			NextCursor string `json:"next_cursor"`
		}
		p.Must(http.StatusOK, "GET", "/api/v1/stacks/infra/runs?limit=200&cursor="+cursor, key, nil).Decode(t, &page)
		for _, r := range page.Items {
			runs[r.CommitSHA]++
		}
		if cursor = page.NextCursor; cursor == "" {
			return runs
		}
	}
}
