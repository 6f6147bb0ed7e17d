package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
)

func TestGitlabSimCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr apptest.Buffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- run(ctx, []string{"gitlab-sim", "--listen", "127.0.0.1:0", "--data-dir", dir}, nil, &stdout, &stderr, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gitlab-sim: %v", err)
		}
	})

	// Poll (bounded) for gitlab-sim.json, written once the listener is up.
	var info struct {
		URL        string `json:"url"`
		AdminToken string `json:"admin_token"`
	}
	apptest.Eventually(t, 10*time.Second, "gitlab-sim.json", func() error {
		select {
		case err := <-done:
			t.Fatalf("gitlab-sim exited early: %v", err)
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "gitlab-sim.json"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if err != nil || json.Unmarshal(b, &info) != nil || info.URL == "" {
			return fmt.Errorf("not written; stderr: %s", stderr.String())
		}
		return nil
	})
	if d := time.Since(start); d > time.Second {
		t.Errorf("startup took %v, want under a second", d)
	}
	req, err := http.NewRequest(http.MethodGet, info.URL+"/api/v4/user", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", info.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v4/user with the admin token = %d", resp.StatusCode)
	}
	// The command prints the URL once the simulator has written its file:
	// a moment after the file is there.
	apptest.Eventually(t, 10*time.Second, "the URL on stdout", func() error {
		if out := stdout.String(); !strings.Contains(out, info.URL) {
			return fmt.Errorf("stdout does not show the URL: %q", out)
		}
		return nil
	})
}
