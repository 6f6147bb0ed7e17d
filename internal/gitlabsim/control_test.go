package gitlabsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// control calls the control API and decodes the answer into out.
func control(t *testing.T, sim *Server, url, method, path string, in, out any) int {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", sim.AdminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestControlAPIScenario(t *testing.T) {
	t.Parallel()
	sim, url := newSim(t)
	rc := newReceiver(t)
	var user User
	if code := control(t, sim, url, "POST", "/-/sim/users", map[string]any{"username": "ci"}, &user); code != http.StatusCreated {
		t.Fatalf("create user = %d", code)
	}
	var tok Token
	control(t, sim, url, "POST", "/-/sim/tokens", map[string]any{"user_id": user.ID, "scopes": []string{"api"}}, &tok)
	var p Project
	control(t, sim, url, "POST", "/-/sim/projects", map[string]any{"path": "team/svc", "files": map[string]string{"x.tf": "x"}}, &p)
	control(t, sim, url, "POST", "/-/sim/members", map[string]any{"project": "team/svc", "user_id": user.ID, "access_level": 40}, nil)
	control(t, sim, url, "POST", "/-/sim/hooks", map[string]any{"project": "team/svc", "url": rc.srv.URL, "merge_requests_events": true}, nil)
	var push PushResult
	code := control(t, sim, url, "POST", "/-/sim/push", map[string]any{"project": "team/svc", "branch": "f",
		"commits": []any{map[string]any{"message": "m", "actions": []any{map[string]any{"action": "create", "file_path": "y.tf", "content": "y"}}}}}, &push)
	if code != http.StatusCreated || push.After == "" || push.Before != "" {
		t.Fatalf("push = %d %+v", code, push)
	}
	var mr MergeRequest
	control(t, sim, url, "POST", "/-/sim/merge_requests", map[string]any{"project": "team/svc", "source_branch": "f", "title": "T"}, &mr)
	control(t, sim, url, "POST", "/-/sim/merge_requests/update", map[string]any{"project": "team/svc", "iid": mr.IID, "title": "T2"}, &mr)
	if mr.Title != "T2" {
		t.Errorf("updated title = %q", mr.Title)
	}
	var errBody map[string]string
	if code := control(t, sim, url, "POST", "/-/sim/merge_requests/reopen", map[string]any{"project": "team/svc", "iid": mr.IID}, &errBody); code != http.StatusBadRequest {
		t.Errorf("reopen an open MR = %d %v", code, errBody)
	}
	if code := control(t, sim, url, "POST", "/-/sim/projects", map[string]any{"path": "team/svc"}, &errBody); code != http.StatusConflict {
		t.Errorf("duplicate project = %d", code)
	}
	control(t, sim, url, "POST", "/-/sim/hooks/wait", struct{}{}, nil)
	var ds []map[string]any
	control(t, sim, url, "GET", "/-/sim/deliveries", nil, &ds)
	if len(ds) != 3 || len(rc.all()) != 3 { // push, MR open, MR update
		t.Fatalf("deliveries = %d, received %d", len(ds), len(rc.all()))
	}
	var re map[string]any
	control(t, sim, url, "POST", fmt.Sprintf("/-/sim/deliveries/%v/redeliver", ds[1]["id"]), nil, &re)
	if re["idempotency_key"] != ds[1]["idempotency_key"] || re["status_code"] != float64(200) {
		t.Errorf("redelivery = %v", re)
	}
	got, _, err := newClient(t, url, tok.Value).MergeRequests.GetMergeRequest("team/svc", int64(mr.IID), nil)
	if err != nil || got.Title != "T2" {
		t.Errorf("MR via REST = %+v, %v", got, err)
	}
}

// TestSlowReceiverTimesOut uses a short hook timeout in place of GitLab's
// 10 s: the receiver never answers, the delivery fails with a timeout.
func TestSlowReceiverTimesOut(t *testing.T) {
	t.Parallel()
	sim, err := New(Config{DataDir: t.TempDir(), HookTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if _, err := sim.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	slow := newBlockingReceiver(t)
	if _, err := sim.CreateProject(t.Context(), ProjectOptions{Path: "a/b", Files: map[string]string{"f": "f"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddHook(t.Context(), "a/b", HookOptions{URL: slow}); err != nil {
		t.Fatal(err)
	}
	mustPush(t, sim, PushOptions{Project: "a/b", Branch: "main", Commits: commits("s", 1)})
	waitHooks(t, sim)
	ds := sim.Deliveries(0)
	if len(ds) != 1 || ds[0].Succeeded() || ds[0].StatusCode != 0 || ds[0].Err == "" || ds[0].Duration < 200*time.Millisecond {
		t.Fatalf("slow delivery = %+v", ds)
	}
}
