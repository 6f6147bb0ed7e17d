package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/vcsagent/agent"
)

var poolTokenRe = regexp.MustCompile(`id="pool-token" type="text" readonly value="([^"]+)"`)

// TestAgentPoolsPage: a root admin creates a pool (in the space picked in
// the form) and sees its token once; an agent connects with it and the list
// shows it; a reader sees the pool and its number of agents but not the
// agents, and no form, and the service refuses a reader's create; a user
// without roles sees no pool.
func TestAgentPoolsPage(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	if sc := c.get("/source-control"); !strings.Contains(sc.body, `href="/source-control/vcs-agent-pools"`) {
		t.Error("Source control does not link the VCS agent pools")
	}
	page := c.get("/source-control/vcs-agent-pools")
	if page.status != http.StatusOK || !strings.Contains(page.body, "No VCS agent pools yet") || !strings.Contains(page.body, `id="create-pool"`) ||
		!strings.Contains(page.body, `<option value="root" selected>`) {
		t.Fatalf("empty pools page (%d):\n%.2000s", page.status, page.body)
	}
	created := c.post("/source-control/vcs-agent-pools", url.Values{"csrf_token": {csrf(t, page)}, "name": {"Office"}, "space": {"root"}, "description": {"the office GitLab"}})
	m := poolTokenRe.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || m == nil {
		t.Fatalf("create (%d) shows no token:\n%.2000s", created.status, created.body)
	}
	token := m[1]
	again := c.get("/source-control/vcs-agent-pools")
	if strings.Contains(again.body, token) || !strings.Contains(again.body, `id="pool-office"`) {
		t.Fatalf("the list shows the token again, or not the pool:\n%.2000s", again.body)
	}
	dup := c.post("/source-control/vcs-agent-pools", url.Values{"csrf_token": {csrf(t, again)}, "name": {"Office"}})
	if dup.status != http.StatusConflict || !strings.Contains(dup.body, `id="pool-error"`) || !strings.Contains(dup.body, `value="Office"`) {
		t.Errorf("duplicate pool = %d, want 409 with the error and the name kept", dup.status)
	}

	// An agent connects with the token: the pool counts it.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{ServerURL: h.URL, PoolToken: token, TargetBaseEndpoint: h.SimURL,
			Vendor: "gitlab", Parallelism: 1, Name: "office-agent"})
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitPage(t, "the agent listed as connected", func() bool {
		body := c.get("/source-control/vcs-agent-pools").body
		return strings.Contains(body, `class="connected-agents">1<`) && strings.Contains(body, "office-agent")
	})

	pw := h.createUser("reader", "read")
	rc := h.client()
	rc.mustLogin("reader", pw)
	rp := rc.get("/source-control/vcs-agent-pools")
	if rp.status != http.StatusOK || !strings.Contains(rp.body, `id="pool-office"`) || strings.Contains(rp.body, `id="create-pool"`) ||
		!strings.Contains(rp.body, `class="connected-agents">1<`) || strings.Contains(rp.body, "office-agent") {
		t.Errorf("reader's pools page (%d) should list the pool and count its agent, without naming it or the form:\n%.2000s", rp.status, rp.body)
	}
	if res := rc.post("/source-control/vcs-agent-pools", url.Values{"csrf_token": {csrf(t, rp)}, "name": {"Mine"}}); res.status != http.StatusForbidden {
		t.Errorf("reader's create = %d, want 403", res.status)
	}

	h.api("POST", "/api/v1/users", map[string]any{"username": "nobody", "password": "pw-nobody-0123456789"}, http.StatusCreated, nil)
	nc := h.client()
	nc.mustLogin("nobody", "pw-nobody-0123456789")
	if np := nc.get("/source-control/vcs-agent-pools"); np.status != http.StatusOK || strings.Contains(np.body, "pool-office") || !strings.Contains(np.body, "No VCS agent pools yet") {
		t.Errorf("a user without roles sees pools (%d):\n%.2000s", np.status, np.body)
	}
}
