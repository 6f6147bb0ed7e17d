package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// hoistProcess is a real `hoist server` process.
type hoistProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *simOutput
	exited chan error // Wait's result, put back by whoever reads it
}

// buildHoist compiles the hoist binary into a temporary directory.
func buildHoist(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hoist")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startHoistBinary starts the binary on dataDir without embedded workers (runs
// stay queued) and waits until it serves.
func startHoistBinary(t *testing.T, bin, dataDir string) *hoistProcess {
	t.Helper()
	return startHoistWith(t, bin, dataDir)
}

// call sends a JSON request and decodes the answer into out (may be nil).
func (p *hoistProcess) call(t *testing.T, method, path, key string, body, out any, want int) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apitest.Client(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, buf.String(), want)
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("decode %s: %v", buf.String(), err)
		}
	}
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
	ctx := t.Context()
	sim, err := gitlabsim.New(gitlabsim.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	simURL, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user, err := sim.CreateUser(ctx, gitlabsim.UserOptions{Username: "hoist-bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: "acme/infra", Files: map[string]string{"infra/main.tf": "\n"}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMember(ctx, gitlabsim.MemberOptions{Project: "acme/infra", UserID: user.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.CreateToken(ctx, gitlabsim.TokenOptions{UserID: user.ID, Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}

	bin, dataDir := buildHoist(t), t.TempDir()
	first := startHoistBinary(t, bin, dataDir)
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	var in struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	first.call(t, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": simURL, "token": tok.Value}, &in, http.StatusCreated)
	var st struct {
		ProjectID int64 `json:"project_id"`
	}
	first.call(t, "POST", "/api/v1/stacks", key, map[string]any{"name": "infra", "space": "root", "repository": "acme/infra",
		"branch": "main", "project_root": "infra"}, &st, http.StatusCreated)

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
				req, _ := http.NewRequest("POST", first.url+"/webhooks/gitlab/gitlab", bytes.NewReader(body))
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
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, sha := range acked {
		if sha != "" {
			want[sha] = true
		}
	}
	if len(want) != total {
		t.Fatalf("only %d of %d deliveries were acknowledged before the kill", len(want), total)
	}

	second := startHoistBinary(t, bin, dataDir)
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
func waitRuns(t *testing.T, p *hoistProcess, key string, deliveries int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for first := true; ; first = false {
		stored, processed := 0, 0
		for cursor := ""; ; {
			var page struct {
				Items      []struct{ Status string }
				NextCursor string `json:"next_cursor"`
			}
			p.call(t, "GET", "/api/v1/deliveries?limit=200&cursor="+cursor, key, nil, &page, http.StatusOK)
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
		}
		if processed == stored {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries processed after the restart\n%s", processed, stored, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a bounded condition
	}
	runs := map[string]int{}
	cursor := ""
	for {
		var page struct {
			Items []struct {
				CommitSHA string `json:"commit_sha"`
			}
			NextCursor string `json:"next_cursor"`
		}
		p.call(t, "GET", "/api/v1/stacks/infra/runs?limit=200&cursor="+cursor, key, nil, &page, http.StatusOK)
		for _, r := range page.Items {
			runs[r.CommitSHA]++
		}
		if cursor = page.NextCursor; cursor == "" {
			return runs
		}
	}
}
