package main

// `hoist gitlab-sim group …` and `hoist gitlab-sim oauth-app create`:
// groups and memberships (what the simulator's OpenID Connect groups claims
// say) and OAuth applications, through the control API.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func simGroupCommands() []spec {
	return []spec{
		leaf("create", "create a group and any missing parent groups", "--path GROUP", simGroupCreate),
		leaf("add-member", "add a user to a group, or change their role there",
			"--group GROUP --user-id U --access-level guest|reporter|developer|maintainer|owner|N", simGroupMember("add-member")),
		leaf("remove-member", "remove a user's direct membership of a group", "--group GROUP --user-id U", simGroupMember("remove-member")),
		leaf("members", "list a group's direct members", "--group GROUP", simGroupMembers),
	}
}

func simOAuthAppCommands() []spec {
	return []spec{
		leaf("create", "register an OAuth application (an OpenID Connect client); prints its ID and secret",
			"--name N --redirect-uri URL... [--scopes openid,profile,email]", simOAuthAppCreate),
	}
}

// accessLevels are GitLab's role names.
var accessLevels = map[string]int{"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}

func parseAccessLevel(s string) (int, error) {
	if n, ok := accessLevels[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, usageError{fmt.Sprintf("--access-level %q: want guest, reporter, developer, maintainer, owner or a number", s)}
	}
	return n, nil
}

func accessLevelName(n int) string {
	for name, v := range accessLevels {
		if v == n {
			return name
		}
	}
	return strconv.Itoa(n)
}

func simGroupCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var path string
	fs.StringVar(&path, "path", "", "full path of the group (a/b/c)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if path == "" {
			return usageError{"gitlab-sim group create: --path is required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var g struct {
			ID       int    `json:"id"`
			FullPath string `json:"full_path"`
		}
		if err := c.call(ctx, http.MethodPost, "/-/sim/groups", map[string]string{"path": path}, &g); err != nil {
			return fmt.Errorf("create group %s: %w", path, err)
		}
		return sf.print(e, g, fmt.Sprintf("group %s (id %d)", g.FullPath, g.ID))
	}
}

// simGroupMember is add-member or remove-member: one POST each.
func simGroupMember(action string) func(*env, *cobra.Command) runFunc {
	return func(e *env, cmd *cobra.Command) runFunc {
		fs := cmd.Flags()
		sf := addSimFlags(fs)
		var grp, level string
		var userID int
		fs.StringVar(&grp, "group", "", "full path of the group")
		fs.IntVar(&userID, "user-id", 0, "simulator user ID")
		if action == "add-member" {
			fs.StringVar(&level, "access-level", "", "role: guest, reporter, developer, maintainer, owner (or 10…50)")
		}
		return func(ctx context.Context, args []string) error {
			if err := parseNoArgs(cmd, args); err != nil {
				return err
			}
			if grp == "" || userID <= 0 || (action == "add-member" && level == "") {
				req := "--group and --user-id"
				if action == "add-member" {
					req = "--group, --user-id and --access-level"
				}
				return usageError{fmt.Sprintf("gitlab-sim group %s: %s are required", action, req)}
			}
			in := map[string]any{"group": grp, "user_id": userID}
			path, text := "/-/sim/members/remove", fmt.Sprintf("user %d is no longer a member of %s", userID, grp)
			if action == "add-member" {
				n, err := parseAccessLevel(level)
				if err != nil {
					return err
				}
				in["access_level"] = n
				path, text = "/-/sim/members", fmt.Sprintf("user %d is %s of %s", userID, accessLevelName(n), grp)
			}
			c, err := sf.client(e)
			if err != nil {
				return err
			}
			if err := c.call(ctx, http.MethodPost, path, in, nil); err != nil {
				return fmt.Errorf("%s: %w", action, err)
			}
			return sf.print(e, in, text)
		}
	}
}

func simGroupMembers(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var grp string
	fs.StringVar(&grp, "group", "", "full path of the group")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if grp == "" {
			return usageError{"gitlab-sim group members: --group is required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var ms []struct {
			UserID      int    `json:"user_id"`
			Username    string `json:"username"`
			AccessLevel int    `json:"access_level"`
		}
		if err := c.call(ctx, http.MethodGet, "/-/sim/members?group="+url.QueryEscape(grp), nil, &ms); err != nil {
			return fmt.Errorf("members of %s: %w", grp, err)
		}
		if sf.output == "json" {
			return writeJSON(e.stdout, ms)
		}
		rows := [][]string{{"USER ID", "USERNAME", "ROLE"}}
		for _, m := range ms {
			rows = append(rows, []string{strconv.Itoa(m.UserID), m.Username, accessLevelName(m.AccessLevel)})
		}
		return table(e.stdout, rows)
	}
}

func simOAuthAppCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var in struct {
		Name         string   `json:"name"`
		RedirectURIs []string `json:"redirect_uris"`
		Scopes       []string `json:"scopes,omitempty"`
	}
	fs.StringVar(&in.Name, "name", "", "application name (shown on the authorize page)")
	fs.StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "callback URL, matched exactly (repeatable)")
	fs.StringSliceVar(&in.Scopes, "scopes", nil, "scopes the application may ask for (default openid,profile,email)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if in.Name == "" || len(in.RedirectURIs) == 0 {
			return usageError{"gitlab-sim oauth-app create: --name and --redirect-uri are required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var app struct {
			ID       int      `json:"id"`
			ClientID string   `json:"application_id"`
			Secret   string   `json:"secret"`
			Scopes   []string `json:"scopes"`
		}
		if err := c.call(ctx, http.MethodPost, "/-/sim/oauth_apps", in, &app); err != nil {
			return fmt.Errorf("create OAuth application: %w", err)
		}
		return sf.print(e, app, fmt.Sprintf("OAuth application %d (scopes %s)\nclient id:     %s\nclient secret: %s\nissuer:        %s",
			app.ID, strings.Join(app.Scopes, " "), app.ClientID, app.Secret, c.base))
	}
}
