package gitlabsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

func getWithToken(t *testing.T, url, token string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	f := setup(t)
	userURL := f.url + "/api/v4/user"

	t.Run("latency", func(t *testing.T) {
		fa, err := f.sim.AddFault(Fault{Method: "GET", Path: "/api/v4/projects/*", Latency: 150 * time.Millisecond, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, _, err := f.client.Projects.GetProject(f.project.ID, nil); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("delayed call took %v", d)
		}
		if got := f.sim.Faults(); len(got) == 0 || got[len(got)-1].ID != fa.ID || got[len(got)-1].Hits != 1 {
			t.Errorf("fault hits = %+v", got)
		}
	})

	t.Run("replaced at once", func(t *testing.T) {
		t.Cleanup(f.sim.ClearFaults)
		if _, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Status: 503}); err != nil {
			t.Fatal(err)
		}
		got, err := f.sim.ReplaceFaults(Fault{Path: "/api/v4/user", Status: 403})
		if err != nil || len(got) != 1 || got[0].ID == 0 {
			t.Fatalf("ReplaceFaults = %+v, %v", got, err)
		}
		if rules := f.sim.Faults(); len(rules) != 1 || rules[0].Status != 403 {
			t.Errorf("rules after the replacement = %+v", rules)
		}
		if resp, err := getWithToken(t, userURL, f.token); err != nil || resp.StatusCode != 403 {
			t.Errorf("GET /user = %v, %v; want the new rule's 403", resp, err)
		}
		// A bad rule replaces nothing.
		if _, err := f.sim.ReplaceFaults(Fault{Path: "/api/v4/user", Status: 200}); err == nil {
			t.Error("ReplaceFaults took a 200 fault")
		}
		if rules := f.sim.Faults(); len(rules) != 1 || rules[0].Status != 403 {
			t.Errorf("rules after a refused replacement = %+v", rules)
		}
	})

	t.Run("5xx then recovers", func(t *testing.T) {
		if _, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Status: 503, Count: 2}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			resp, err := getWithToken(t, userURL, f.token)
			if err != nil {
				t.Fatal(err)
			}
			want := http.StatusServiceUnavailable
			if i == 2 {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("call %d: status %d, want %d", i, resp.StatusCode, want)
			}
		}
	})

	t.Run("429 with Retry-After", func(t *testing.T) {
		f.sim.ClearFaults()
		if _, err := f.sim.AddFault(Fault{Method: "POST", PathRegexp: `^/api/v4/projects/[^/]+/statuses/`, Status: 429, RetryAfter: 7, Count: 1}); err != nil {
			t.Fatal(err)
		}
		sha := mustPush(t, f.sim, PushOptions{Project: f.project.PathWithNamespace, Branch: "main", Commits: commits("rl", 1)}).After
		_, resp, err := f.client.Commits.SetCommitStatus(f.project.ID, sha, &gitlab.SetCommitStatusOptions{State: gitlab.Pending})
		if statusOf(err) != http.StatusTooManyRequests {
			t.Fatalf("rate limited call: %v", err)
		}
		if resp.Header.Get("Retry-After") != "7" || resp.Header.Get("RateLimit-Remaining") != "0" {
			t.Errorf("headers = %v", resp.Header)
		}
		reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64)
		if err != nil || reset < time.Now().Unix() {
			t.Errorf("RateLimit-Reset = %q", resp.Header.Get("RateLimit-Reset"))
		}
		if _, _, err := f.client.Commits.SetCommitStatus(f.project.ID, sha, &gitlab.SetCommitStatusOptions{State: gitlab.Pending}); err != nil {
			t.Errorf("after the fault: %v", err)
		}
	})

	t.Run("connection reset", func(t *testing.T) {
		f.sim.ClearFaults()
		if _, err := f.sim.AddFault(Fault{Path: "/api/v4/personal_access_tokens/self", Reset: true, Count: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := getWithToken(t, f.url+"/api/v4/personal_access_tokens/self", f.token); err == nil {
			t.Error("reset connection gave a response")
		}
		if resp, err := getWithToken(t, f.url+"/api/v4/personal_access_tokens/self", f.token); err != nil || resp.StatusCode != 200 {
			t.Errorf("after reset: %v", err)
		}
	})

	t.Run("counters", func(t *testing.T) {
		f.sim.ResetCallCounts()
		for range 3 {
			getWithToken(t, userURL, f.token)
		}
		if _, _, err := f.client.Projects.GetProject("acme/infra/app", nil); err != nil {
			t.Fatal(err)
		}
		if n := f.sim.CallCount("GET /api/v4/user"); n != 3 {
			t.Errorf("GET /user calls = %d, want 3", n)
		}
		if n := f.sim.CallCount("/api/v4/projects/acme/infra/app"); n != 1 {
			t.Errorf("decoded project path calls = %d, want 1", n)
		}
		if n := f.sim.CallCount("GET /api/v4/**"); n != 4 {
			t.Errorf("all API calls = %d, want 4", n)
		}
		if n := f.sim.CallCount("POST /api/v4/user"); n != 0 {
			t.Errorf("POST /user calls = %d", n)
		}
	})
}

// TestControlAPIFaults sets a fault and reads counters over HTTP, as a
// test in another process would.
func TestControlAPIFaults(t *testing.T) {
	t.Parallel()
	f := setup(t)
	do := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(method, f.url+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.sim.AdminToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := do("POST", "/-/sim/faults", map[string]any{"path": "/api/v4/user", "status": 502, "latency": "10ms", "count": 1})
	if code != http.StatusCreated || out["latency"] != "10ms" {
		t.Fatalf("add fault = %d %v", code, out)
	}
	if resp, _ := getWithToken(t, f.url+"/api/v4/user", f.token); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("faulted call = %d", resp.StatusCode)
	}
	code, out = do("GET", "/-/sim/calls?pattern=GET+/api/v4/user", nil)
	if code != http.StatusOK || out["count"] != float64(1) {
		t.Errorf("calls = %d %v", code, out)
	}
	if code, _ := do("DELETE", "/-/sim/faults", nil); code != http.StatusNoContent {
		t.Errorf("clear faults = %d", code)
	}
	req, _ := http.NewRequest("GET", f.url+"/-/sim/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("control API without admin token: %v", resp.StatusCode)
	}
}

// TestFloodAndTrickle: a flood answers a huge generated JSON document; a
// trickle slows the real answer down; both count a client that leaves
// before the end as cut.
func TestFloodAndTrickle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
		req.Header.Set("PRIVATE-TOKEN", f.token)
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	cut := func(id int) int {
		for _, fa := range f.sim.Faults() {
			if fa.ID == id {
				return fa.Cut
			}
		}
		return -1
	}

	t.Run("flood read to the end", func(t *testing.T) {
		fa, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Flood: 100 << 10, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		resp := get("/api/v4/user")
		defer resp.Body.Close()
		var doc struct{ Message string }
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("flood: %d, %v", resp.StatusCode, err)
		}
		if n := len(doc.Message) + len(`{"message":""}`); n != 100<<10 {
			t.Errorf("document of %d bytes, want %d", n, 100<<10)
		}
		if c := cut(fa.ID); c != 0 {
			t.Errorf("cut = %d after a complete read", c)
		}
	})
	t.Run("flood left early", func(t *testing.T) {
		fa, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Flood: 1 << 30, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		resp := get("/api/v4/user")
		if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// A loop of its own: internal/apptest, home of Eventually, imports
		// this package (it starts simulators), so these tests cannot.
		deadline := time.Now().Add(10 * time.Second)
		for cut(fa.ID) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the simulator did not see the client leave")
			}
			time.Sleep(10 * time.Millisecond) // polling a bounded condition
		}
	})
	t.Run("trickle", func(t *testing.T) {
		if _, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Trickle: 20 * time.Millisecond, TrickleBytes: 8, Count: 1}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp := get("/api/v4/user")
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Contains(b, []byte(`"username"`)) {
			t.Fatalf("trickled answer %q: %v", b, err)
		}
		if least := time.Duration(len(b)/8) * 20 * time.Millisecond; time.Since(start) < least {
			t.Errorf("%d bytes in %s: not trickled", len(b), time.Since(start))
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if _, err := f.sim.AddFault(Fault{Path: "/api/v4/user", Flood: -1}); err == nil {
			t.Error("negative flood accepted")
		}
	})
}
