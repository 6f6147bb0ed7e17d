package app_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/sandbox"
)

// craftedGitLab stands in front of the simulator like a tampered http://
// connection or a rogue VCS agent: everything passes through, except the
// source archives of the commits it was given a crafted one for.
type craftedGitLab struct {
	mu       sync.Mutex
	archives map[string][]byte // commit SHA → tar.gz
}

func (c *craftedGitLab) front(t testing.TB) func(string) string {
	return func(simURL string) string {
		target, err := url.Parse(simURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/repository/archive.tar.gz") {
				c.mu.Lock()
				body, ok := c.archives[r.URL.Query().Get("sha")]
				c.mu.Unlock()
				if ok {
					w.Header().Set("Content-Type", "application/octet-stream")
					_, _ = w.Write(body)
					return
				}
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
}

func (c *craftedGitLab) serve(sha string, archive []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.archives[sha] = archive
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func craft(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o755, Linkname: e.link}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestCraftedArchivesAreRefused: archives no git would make, from a
// stand-in GitLab — "..", absolute paths, hard links, a symlink then a file
// through it aimed at the tofu binary, links aimed at the file Hoist
// writes — fail the run naming the entry; nothing is written outside the
// workspace and the tofu binary is untouched. A link that stays inside,
// even in place of the backend override, is harmless: Hoist writes a fresh
// override and never through the link.
func TestCraftedArchivesAreRefused(t *testing.T) {
	t.Parallel()
	stand := &craftedGitLab{archives: map[string][]byte{}}
	h := runsSetupBehind(t, stand.front(t), nil)
	tofu := h.Config.TofuPath
	tofuHash := sha256File(t, tofu)
	victimDir, err := os.MkdirTemp("", "hoist-crafted-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(victimDir) })
	victim := filepath.Join(victimDir, "pwned")
	up := strings.Repeat("../", 20)
	rel := func(abs string) string { return up + strings.TrimPrefix(abs, "/") }
	mainTF := tarEntry{name: "p/infra/main.tf", body: infraTF("crafted"), typ: tar.TypeReg}
	file := func(name, body string) tarEntry { return tarEntry{name: name, body: body, typ: tar.TypeReg} }
	link := func(name, to string) tarEntry { return tarEntry{name: name, link: to, typ: tar.TypeSymlink} }
	chain := []tarEntry{mainTF, link("p/up1", ".")}
	for i := 2; i <= 8; i++ {
		chain = append(chain, link(fmt.Sprintf("p/up%d", i), fmt.Sprintf("up%d/..", i-1)))
	}
	chain = append(chain, link("p/infra/hoist_backend_override.tf", "../up8/"+strings.TrimPrefix(victim, "/")))
	tests := []struct {
		name    string
		entries []tarEntry
		refused string // the entry the run's error names
	}{
		{"dot-dot", []tarEntry{mainTF, file("p/"+rel(victim), "pwned")}, "p/" + rel(victim)},
		{"absolute", []tarEntry{mainTF, file(victim, "pwned")}, victim},
		{"hard link", []tarEntry{mainTF, {name: "p/infra/h", link: victim, typ: tar.TypeLink}}, "p/infra/h"},
		{"symlink then file", []tarEntry{mainTF, link("p/x", rel(filepath.Dir(tofu))), file("p/x/tofu", "#!/bin/sh\necho pwned\n")}, "p/x"},
		{"link replacing the override", []tarEntry{mainTF, link("p/infra/hoist_backend_override.tf", rel(victim))}, "p/infra/hoist_backend_override.tf"},
		{"link chain", chain, "p/up2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sha := h.push("crafted-"+strings.ReplaceAll(tt.name, " ", "-"), map[string]string{"infra/main.tf": infraTF(tt.name)})
			stand.serve(sha, craft(t, tt.entries...))
			r := h.waitRun(h.waitRunAt("web", sha, "PROPOSED").ID, "over", func(r api.Run) bool { return isTerminal(r.State) })
			if r.State != "FAILED" || !strings.Contains(r.Error, "refused") || !strings.Contains(r.Error, fmt.Sprintf("%q", tt.refused)) {
				t.Fatalf("want FAILED naming %q: %s %s", tt.refused, r.State, r.Error)
			}
		})
	}
	// Inside the workspace, a link where Hoist writes is replaced, not
	// followed: main.tf keeps its content and the run plans it.
	sha := h.push("crafted-inside", map[string]string{"infra/main.tf": infraTF("inside")})
	stand.serve(sha, craft(t, mainTF, link("p/infra/hoist_backend_override.tf", "main.tf"), link("p/infra/hoist.tfplan", "main.tf")))
	r := h.waitRun(h.waitRunAt("web", sha, "PROPOSED").ID, "over", func(r api.Run) bool { return isTerminal(r.State) })
	if r.State != "FINISHED" || r.Delta.Add != 1 {
		t.Fatalf("a link inside the workspace: %s %s %+v\n%s", r.State, r.Error, r.Delta, h.logText(r.ID))
	}

	if _, err := os.Stat(victim); err == nil {
		t.Error("a crafted archive wrote outside the workspace")
	}
	if sha256File(t, tofu) != tofuHash {
		t.Error("a crafted archive changed the tofu binary")
	}
}

// TestRunsRefusedWithoutSandbox is issue 13's second acceptance: where the
// sandbox cannot be set up (simulated), a run fails with the documented
// message; with --unsafe-unsandboxed-runs it executes, and its history and
// log say it was not sandboxed.
func TestRunsRefusedWithoutSandbox(t *testing.T) {
	t.Parallel()
	const reason = "simulated: the kernel offers no Landlock"
	refused := runsSetup(t, func(c *app.Config) { c.SimulateNoSandbox = reason })
	sha := refused.push("main", map[string]string{"infra/main.tf": infraTF("refused")})
	r := refused.waitRun(refused.waitRunAt("web", sha, "TRACKED").ID, "over", func(r api.Run) bool { return isTerminal(r.State) })
	for _, want := range []string{"run refused", reason, sandbox.UnsafeFlag, "docs/security.md"} {
		if r.State != "FAILED" || !strings.Contains(r.Error, want) {
			t.Fatalf("want FAILED with %q: %s %s", want, r.State, r.Error)
		}
	}
	if !strings.Contains(refused.Logs.String(), "runs will fail") {
		t.Error("the server did not say at start that runs will fail")
	}

	unsafe := runsSetup(t, func(c *app.Config) { c.SimulateNoSandbox, c.UnsafeUnsandboxedRuns = reason, true })
	sha = unsafe.push("main", map[string]string{"infra/main.tf": infraTF("unsafe")})
	r = unsafe.waitState(unsafe.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	var note string
	for _, hst := range r.History {
		if hst.State == "INITIALIZING" {
			note = hst.Note
		}
	}
	if !strings.HasPrefix(note, run.UnsandboxedNote) || !strings.Contains(note, reason) {
		t.Fatalf("history note of INITIALIZING = %q", note)
	}
	// The log so far (following it would wait for the run's end).
	if log := string(unsafe.Must(http.StatusOK, "GET", "/api/v1/runs/"+r.ID+"/logs", unsafe.AdminKey, nil).Body); !strings.Contains(log, "NOT sandboxed") {
		t.Fatalf("the run's log does not warn:\n%s", log)
	}
	if !strings.Contains(unsafe.Logs.String(), "RUNS ARE NOT SANDBOXED") {
		t.Error("the server did not warn at start")
	}
}

// TestSandboxedRunSaysSo: on this machine runs are sandboxed, and their
// history says how.
func TestSandboxedRunSaysSo(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("sandboxed-" + rand.Text())})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	for _, hst := range r.History {
		if hst.State == "INITIALIZING" && strings.HasPrefix(hst.Note, "sandboxed: Landlock ABI") {
			return
		}
	}
	t.Fatalf("no sandbox note in the history: %+v", r.History)
}
