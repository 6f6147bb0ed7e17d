package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest/inproc"
)

// harness is a real Hoist server on loopback plus a real GitLab simulator
// (inproc.Start), with what these tests add to it.
type harness struct {
	*inproc.Server
	t testing.TB
	// apiHost is the API host integrations get: the simulator's URL, or a
	// stand-in in front of it (runsSetupBehind).
	apiHost string
}

// setup starts a simulator and a server with a fresh data dir; tweak may
// change the config before the start.
func setup(t testing.TB, tweak func(*app.Config)) *harness {
	t.Helper()
	return &harness{Server: inproc.Start(t, tweak), t: t}
}

// apiKey creates an API key with the given roles ("space:role") as admin.
func (h *harness) apiKey(name string, roles ...string) string {
	h.t.Helper()
	rs := []map[string]string{}
	for _, r := range roles {
		sp, role, _ := strings.Cut(r, ":")
		rs = append(rs, map[string]string{"space": sp, "role": role})
	}
	var k struct{ Secret string }
	h.Must(http.StatusCreated, "POST", "/api/v1/api-keys", h.AdminKey, map[string]any{"name": name, "roles": rs}).Decode(h.t, &k)
	return k.Secret
}

func (h *harness) space(name, parent string) {
	h.t.Helper()
	h.Must(http.StatusCreated, "POST", "/api/v1/spaces", h.AdminKey, map[string]any{"name": name, "parent": parent})
}

// integrationBody is a valid create request for the simulator.
func (h *harness) integrationBody(name, space, token string) map[string]any {
	host := h.SimURL
	if h.apiHost != "" {
		host = h.apiHost
	}
	b := map[string]any{"name": name, "api_host": host, "token": token}
	if space == "" {
		b["is_default"] = true
	} else {
		b["space"] = space
	}
	return b
}
