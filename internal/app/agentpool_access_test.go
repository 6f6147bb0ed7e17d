package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// TestAgentPoolSpaces is issue 13's rule for VCS agent pools over HTTP on
// loopback, with an agent connected to a pool of space A:
//
//	root
//	├── a      pool "lab"
//	│   └── a1 (inherits)
//	└── b
//
// A key without roles sees no pool at all; readers see the pool and how
// many agents are connected, not which, nor the token; admins of the
// space see the agents and manage it; an admin of another space can
// neither see nor use the pool; an admin of the child space can use it;
// and the rule is held on updates of pools and integrations.
func TestAgentPoolSpaces(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.space("A", "root")
	h.space("A1", "a")
	h.space("B", "root")
	var created api.VCSAgentPool
	h.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", h.AdminKey, map[string]any{"name": "Lab", "space": "a"}).Decode(t, &created)
	if created.Space != "a" || created.Token == "" || created.Agents == nil {
		t.Fatalf("created pool = %+v", created)
	}
	h.startAgent("lab-host-1", created.Token, "")
	h.waitAgents(1)

	keys := map[string]string{
		"root admin":  h.AdminKey,
		"admin of a":  h.apiKey("admin-a", "a:admin"),
		"reader of a": h.apiKey("reader-a", "a:read"),
		"admin of a1": h.apiKey("admin-a1", "a1:admin"),
		"admin of b":  h.apiKey("admin-b", "b:admin"),
		"nobody":      h.apiKey("nobody"),
	}
	tests := []struct {
		who    string
		listed bool
		get    int  // GET /vcs-agent-pools/lab
		agents bool // whose host names the answers show
		change int  // PATCH, rotate-token
	}{
		{"root admin", true, 200, true, 200},
		{"admin of a", true, 200, true, 200},
		{"reader of a", true, 200, false, 403},
		{"admin of a1", true, 200, false, 403}, // read flows up from the inheriting child
		{"admin of b", false, 404, false, 404},
		{"nobody", false, 404, false, 404},
	}
	for _, tt := range tests {
		key := keys[tt.who]
		var list struct{ Items []api.VCSAgentPool }
		r := h.Must(http.StatusOK, "GET", "/api/v1/vcs-agent-pools", key, nil)
		r.Decode(t, &list)
		if got := len(list.Items) == 1 && list.Items[0].ID == "lab"; got != tt.listed || (!tt.listed && len(list.Items) != 0) {
			t.Errorf("%s lists %+v, want lab listed: %v", tt.who, list.Items, tt.listed)
		}
		if len(list.Items) == 1 && (list.Items[0].ConnectedAgents != 1 || list.Items[0].Space != "a" || list.Items[0].Token != "") {
			t.Errorf("%s: listed pool %+v, want space a, 1 connected agent, no token", tt.who, list.Items[0])
		}
		if got := strings.Contains(string(r.Body), "lab-host-1"); got != tt.agents {
			t.Errorf("%s: the list shows the agent's host: %v, want %v", tt.who, got, tt.agents)
		}
		g := h.Call("GET", "/api/v1/vcs-agent-pools/lab", key, nil)
		if g.Status != tt.get {
			t.Errorf("%s: GET lab = %d, want %d", tt.who, g.Status, tt.get)
		}
		if got := strings.Contains(string(g.Body), "lab-host-1"); got != tt.agents {
			t.Errorf("%s: GET lab shows the agent's host: %v, want %v\n%s", tt.who, got, tt.agents, g.Body)
		}
		if tt.get == 404 && strings.Contains(string(g.Body), `"a"`) {
			t.Errorf("%s: the 404 names the pool's space: %s", tt.who, g.Body)
		}
		if r := h.Call("PATCH", "/api/v1/vcs-agent-pools/lab", key, map[string]any{"description": "by " + tt.who}); r.Status != tt.change {
			t.Errorf("%s: PATCH lab = %d, want %d", tt.who, r.Status, tt.change)
		}
		if tt.change != 200 { // rotating as an admin would disconnect the agent; rotation is tested in TestAgentPoolTokens
			if r := h.Call("POST", "/api/v1/vcs-agent-pools/lab/rotate-token", key, nil); r.Status != tt.change || strings.Contains(string(r.Body), "hoist_pool_") {
				t.Errorf("%s: rotate-token = %d %s, want %d", tt.who, r.Status, r.Body, tt.change)
			}
			if r := h.Call("DELETE", "/api/v1/vcs-agent-pools/lab", key, nil); r.Status != tt.change {
				t.Errorf("%s: DELETE lab = %d, want %d", tt.who, r.Status, tt.change)
			}
		}
	}

	// Creating: admins of the space only; a space the caller cannot see is
	// answered as missing.
	h.Must(http.StatusForbidden, "POST", "/api/v1/vcs-agent-pools", keys["reader of a"], map[string]any{"name": "R", "space": "a"})
	h.Must(http.StatusForbidden, "POST", "/api/v1/vcs-agent-pools", keys["admin of a"], map[string]any{"name": "R"}) // root by default
	if _, _, field := h.Must(http.StatusBadRequest, "POST", "/api/v1/vcs-agent-pools", keys["admin of b"], map[string]any{"name": "R", "space": "a"}).APIError(t); field != "space" {
		t.Errorf("admin of b creating in a: field %q", field)
	}
	var bPool api.VCSAgentPool
	h.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", keys["admin of b"], map[string]any{"name": "B net", "space": "b"}).Decode(t, &bPool)
	if bPool.Space != "b" || bPool.Token == "" {
		t.Errorf("admin of b's pool: %+v", bPool)
	}

	// Binding an integration to the pool.
	glToken := h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}})
	body := func(name, sp, host string) map[string]any {
		return map[string]any{"name": name, "space": sp, "api_host": host, "token": glToken}
	}
	for _, tt := range []struct {
		who, space, host string
		wantMsg          string
	}{
		{"admin of b", "b", "private://lab", `no VCS agent pool "lab"`},          // cannot see it: as if missing
		{"root admin", "b", "private://lab", `belongs to space "a"`},             // sees it, but b is not below a
		{"root admin", "a1", "private://b-net", `belongs to space "b"`},          // a sibling's pool
		{"root admin", "a1", "private://nowhere", `no VCS agent pool "nowhere"`}, // nobody may claim a name for later
		{"admin of a1", "a1", "private://ghost/gitlab", `no VCS agent pool "ghost"`},
	} {
		r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab", keys[tt.who], body("X", tt.space, tt.host))
		if _, msg, field := r.APIError(t); field != "api_host" || !strings.Contains(msg, tt.wantMsg) {
			t.Errorf("%s: integration in %s with %s: field %q message %q, want api_host and %q", tt.who, tt.space, tt.host, field, msg, tt.wantMsg)
		}
	}
	// The user-facing host is held to the same rule.
	r := h.Must(http.StatusBadRequest, "POST", "/api/v1/integrations/gitlab", keys["admin of b"],
		map[string]any{"name": "X", "space": "b", "api_host": h.SimURL, "user_facing_host": "private://lab", "token": glToken})
	if _, _, field := r.APIError(t); field != "user_facing_host" {
		t.Errorf("user-facing host naming another space's pool: field %q", field)
	}
	// An admin of the child space may: the token check goes through the agent.
	var it struct {
		TokenUser string `json:"token_user"`
		Warnings  []string
	}
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", keys["admin of a1"], body("Lab GitLab", "a1", "private://lab")).Decode(t, &it)
	if it.TokenUser != "hoist-bot" || len(it.Warnings) != 0 {
		t.Errorf("integration through the pool: %+v", it)
	}

	// Updates are held to the rule: moving the integration out from under
	// the pool, or the pool away from the integration, is refused.
	r = h.Must(http.StatusBadRequest, "PATCH", "/api/v1/integrations/gitlab/lab-gitlab", h.AdminKey, map[string]any{"space": "b"})
	if _, msg, field := r.APIError(t); field != "api_host" || !strings.Contains(msg, `belongs to space "a"`) {
		t.Errorf("moving the integration to b: %s", r.Body)
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/lab-gitlab", keys["admin of a1"], map[string]any{"description": "unrelated change"})
	r = h.Must(http.StatusConflict, "PATCH", "/api/v1/vcs-agent-pools/lab", h.AdminKey, map[string]any{"space": "b"})
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "1 integration(s) outside space \"b\"") || strings.Contains(msg, "lab-gitlab") {
		t.Errorf("moving the pool away from its integration: %s", r.Body)
	}
	h.Must(http.StatusForbidden, "PATCH", "/api/v1/vcs-agent-pools/lab", keys["admin of a"], map[string]any{"space": "root"}) // reads root, no admin
	h.Must(http.StatusBadRequest, "PATCH", "/api/v1/vcs-agent-pools/lab", keys["admin of a"], map[string]any{"space": "b"})   // cannot see b
	var moved api.VCSAgentPool
	h.Must(http.StatusOK, "PATCH", "/api/v1/vcs-agent-pools/lab", h.AdminKey, map[string]any{"space": "root"}).Decode(t, &moved)
	if moved.Space != "root" || moved.ConnectedAgents != 1 {
		t.Errorf("moved pool = %+v", moved)
	}
	if h.Call("GET", "/api/v1/vcs-agent-pools/lab", keys["reader of a"], nil).Status != http.StatusOK {
		t.Error("a reader of a, who reads root through a, lost sight of the pool moved to root")
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/vcs-agent-pools/lab", h.AdminKey, map[string]any{"space": "a"})

	// A space holding a pool cannot be deleted.
	r = h.Must(http.StatusConflict, "DELETE", "/api/v1/spaces/b", h.AdminKey, nil)
	if _, msg, _ := r.APIError(t); !strings.Contains(msg, "VCS agent pools b-net") {
		t.Errorf("deleting space b: %s", r.Body)
	}

	// A pool deleted and created again elsewhere would hand the
	// integration's token to other agents: refused.
	h.Must(http.StatusNoContent, "DELETE", "/api/v1/vcs-agent-pools/lab", keys["admin of a"], nil)
	h.Must(http.StatusConflict, "POST", "/api/v1/vcs-agent-pools", keys["admin of b"], map[string]any{"name": "Lab", "space": "b"})
	h.Must(http.StatusCreated, "POST", "/api/v1/vcs-agent-pools", keys["admin of a1"], map[string]any{"name": "Lab", "space": "a1"})

	// An integration left outside its pool's space by a change to the tree
	// keeps working and is flagged to its admins.
	h.Must(http.StatusOK, "PATCH", "/api/v1/vcs-agent-pools/lab", h.AdminKey, map[string]any{"space": "a"})
	h.space("C", "root")
	h.Must(http.StatusOK, "PATCH", "/api/v1/spaces/a1", h.AdminKey, map[string]any{"parent": "c"})
	var flagged struct{ Warnings []string }
	h.Must(http.StatusOK, "GET", "/api/v1/integrations/gitlab/lab-gitlab", h.AdminKey, nil).Decode(t, &flagged)
	if !slices.ContainsFunc(flagged.Warnings, func(w string) bool { return strings.Contains(w, `VCS agent pool "lab" belongs to space "a"`) }) {
		t.Errorf("integration outside its pool's space: warnings %q", flagged.Warnings)
	}
	h.Must(http.StatusOK, "PATCH", "/api/v1/integrations/gitlab/lab-gitlab", h.AdminKey, map[string]any{"labels": []string{"still-editable"}})
}
