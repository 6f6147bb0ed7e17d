package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/gitlabsim"
)

func TestGitlabSimGroupsAndOAuthApps(t *testing.T) {
	t.Parallel()
	sim, dir := startSim(t)
	bob, err := sim.CreateUser(context.Background(), gitlabsim.UserOptions{Username: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	bobID := fmt.Sprint(bob.ID)
	cli := func(args ...string) string {
		t.Helper()
		out, err := simCLI(t, "", nil, append(args, "--sim-data-dir", dir)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := cli("group", "create", "--path", "acme/platform"); !strings.Contains(out, "group acme/platform") {
		t.Errorf("group create = %q", out)
	}
	if out := cli("group", "add-member", "--group", "acme/platform", "--user-id", bobID, "--access-level", "maintainer"); !strings.Contains(out, "maintainer of acme/platform") {
		t.Errorf("add-member = %q", out)
	}
	if ms, err := sim.GroupMembers("acme/platform"); err != nil || len(ms) != 1 || ms[0].AccessLevel != gitlabsim.Maintainer {
		t.Fatalf("members after add-member = %+v, %v", ms, err)
	}
	if out := cli("group", "members", "--group", "acme/platform"); !strings.Contains(out, "bob") || !strings.Contains(out, "maintainer") {
		t.Errorf("members = %q", out)
	}
	cli("group", "remove-member", "--group", "acme/platform", "--user-id", bobID)
	if ms, err := sim.GroupMembers("acme/platform"); err != nil || len(ms) != 0 {
		t.Fatalf("members after remove-member = %+v, %v", ms, err)
	}
	if out, err := simCLI(t, "", nil, "group", "remove-member", "--sim-data-dir", dir, "--group", "acme/platform", "--user-id", bobID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("second remove-member = %v, %q; want a 404", err, out)
	}

	out := cli("oauth-app", "create", "--name", "Hoist", "--redirect-uri", "http://127.0.0.1:8080/auth/callback", "-o", "json")
	var app struct {
		ClientID string   `json:"application_id"`
		Secret   string   `json:"secret"`
		Scopes   []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil || app.ClientID == "" || !strings.HasPrefix(app.Secret, "gloas-") ||
		strings.Join(app.Scopes, ",") != "openid,profile,email" {
		t.Fatalf("oauth-app create = %+v, %v (%s)", app, err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"group", "add-member", "--group", "acme", "--user-id", bobID}, "--access-level"},
		{[]string{"group", "add-member", "--group", "acme", "--user-id", bobID, "--access-level", "boss"}, "want guest"},
		{[]string{"group", "members", "--group", "nope"}, "404"},
		{[]string{"oauth-app", "create", "--name", "x"}, "--redirect-uri"},
		{[]string{"oauth-app", "create", "--name", "x", "--redirect-uri", "ftp://x/cb"}, "400"},
	} {
		out, err := simCLI(t, "", nil, append(tc.args, "--sim-data-dir", dir)...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("%v = %v, %q; want %q", tc.args, err, out, tc.want)
		}
	}
}
