package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// peakRSS is a process's peak resident set (VmHWM in /proc/<pid>/status),
// in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc status to read the peak RSS from: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestHugeGitLabAnswerKeepsRSSBounded is issue 13's finding 3 against the
// real binary: a "GitLab" that answers 200 MB (generated as it is sent) to
// GET /personal_access_tokens/self. With the default cap the integration
// check fails naming the cap and the flag, and the server's peak RSS stays
// under 150 MiB (it reached 542 MB before the cap).
func TestHugeGitLabAnswerKeepsRSSBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hoist binary")
	}
	t.Parallel()
	const answer = 200 << 20
	var sent atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/personal_access_tokens/self" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		n, _ := io.WriteString(w, `{"id":1,"active":true,"scopes":["api"],"name":"`)
		sent.Add(int64(n))
		chunk := bytes.Repeat([]byte{'x'}, 64<<10)
		for sent.Load() < answer {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}`)
	}))
	t.Cleanup(fake.Close)

	dataDir := t.TempDir()
	p := startBinary(t, dataDir, nil)
	keyBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	before := peakRSS(t, p.Pid())

	var out struct {
		Error struct{ Code, Message, Field string }
	}
	p.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "Huge", "is_default": true,
		"api_host": fake.URL, "token": "glpat-huge-answer-0123456789"}).Decode(t, &out)
	want := "GitLab's answer to GET /api/v4/personal_access_tokens/self is larger than the 32 MiB cap (--max-gitlab-response)"
	if out.Error.Code != "invalid" || out.Error.Field != "api_host" || !strings.Contains(out.Error.Message, want) {
		b, _ := json.Marshal(out)
		t.Fatalf("check of a 200 MB answer: %s, want %q", b, want)
	}
	peak := peakRSS(t, p.Pid())
	t.Logf("server peak RSS (VmHWM): %.1f MiB before the check, %.1f MiB after; the fake sent %.1f MiB",
		float64(before)/(1<<20), float64(peak)/(1<<20), float64(sent.Load())/(1<<20))
	if peak >= 150<<20 {
		t.Errorf("the server's peak RSS reached %.1f MiB, want under 150 MiB", float64(peak)/(1<<20))
	}
}
