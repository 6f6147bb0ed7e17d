package main

// `hoist user …`: users, their roles and passwords (SPEC §1, §6.2).

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/spf13/cobra"
)

func userCommands() []spec {
	return []spec{
		leaf("create", "create a user", "USERNAME [--password-file F | --password-env V] [--role SPACE:ROLE]...", userCreate),
		leaf("list", "list users", "", userList),
		leaf("grant", "give a user a role on a space", rolesSynopsis, userGrant),
		leaf("revoke", "take a user's role on a space away", rolesSynopsis, userRevoke),
		leaf("set-password", "replace a user's password (ends the user's web sessions)", "USER-ID --password-file F | --password-env V", userSetPassword),
		leaf("disable", "stop a user: no login, sessions end, its API keys stop", "ID", userDisable),
		leaf("enable", "let a disabled user log in again", "ID", userEnable),
		leaf("delete", "delete a user with its API keys and sessions", "ID", userDelete),
	}
}

func userCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var pwFile, pwEnv string
	var roles listFlag
	fs.StringVar(&pwFile, "password-file", "", "read the password from `FILE` (- for stdin); default: generate one")
	fs.StringVar(&pwEnv, "password-env", "", "read the password from environment variable `VAR`")
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	return func(ctx context.Context, args []string) error {
		username, err := parseWithID(cmd, args, "username")
		if err != nil {
			return err
		}
		pw, err := readSecret(e, "password", pwFile, pwEnv)
		if err != nil {
			return err
		}
		rbs, err := parseRoles(roles, false)
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		u, err := c.CreateUser(ctx, api.CreateUser{Username: username, Password: pw, Roles: rbs})
		if err != nil {
			return err
		}
		if u.Password != "" {
			fmt.Fprintln(e.stderr, "the generated password is shown only this once: pass it on now")
		}
		if cf.json() {
			return writeJSON(e.stdout, u)
		}
		lines := []kv{{"ID", u.ID}, {"Username", u.Username}, {"Roles", fmtUserRoles(u.Roles)}}
		if u.Password != "" {
			lines = append(lines, kv{"Password", u.Password})
		}
		return details(e.stdout, lines, "", "")
	}
}

func userList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		users, err := c.ListUsers(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, users, []string{"ID", "USERNAME", "ROLES", "CREATED", "STATUS"}, func(u api.User) []string {
			status := "enabled"
			if u.Disabled {
				status = "disabled"
				if u.DisabledAt != nil {
					status += " since " + fmtTime(*u.DisabledAt)
				}
			}
			return []string{u.ID, u.Username, fmtUserRoles(u.Roles), fmtTime(u.CreatedAt), status}
		})
	}
}

func userDisable(e *env, cmd *cobra.Command) runFunc {
	return identityAction(e, cmd, "user id", "disabled user %s\n",
		func(ctx context.Context, c *apiclient.Client, id string) error { return c.DisableUser(ctx, id) })
}

func userEnable(e *env, cmd *cobra.Command) runFunc {
	return identityAction(e, cmd, "user id", "enabled user %s\n",
		func(ctx context.Context, c *apiclient.Client, id string) error { return c.EnableUser(ctx, id) })
}

func userDelete(e *env, cmd *cobra.Command) runFunc {
	return identityAction(e, cmd, "user id", "deleted user %s with its API keys\n",
		func(ctx context.Context, c *apiclient.Client, id string) error { return c.DeleteUser(ctx, id) })
}

func userGrant(e *env, cmd *cobra.Command) runFunc {
	return changeRoles(e, cmd, "user id", false,
		func(ctx context.Context, c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.GrantUserRole(ctx, id, rb)
		})
}

func userRevoke(e *env, cmd *cobra.Command) runFunc {
	return changeRoles(e, cmd, "user id", true,
		func(ctx context.Context, c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.RevokeUserRole(ctx, id, rb.Space)
		})
}

func userSetPassword(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var pwFile, pwEnv string
	fs.StringVar(&pwFile, "password-file", "", "read the new password from `FILE` (- for stdin)")
	fs.StringVar(&pwEnv, "password-env", "", "read the new password from environment variable `VAR`")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "user id")
		if err != nil {
			return err
		}
		pw, err := readSecret(e, "password", pwFile, pwEnv)
		if err != nil {
			return err
		}
		if pw == "" {
			return usageError{"give the new password with --password-file FILE or --password-env VAR"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		if err := c.SetUserPassword(ctx, id, pw); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "password of %s changed\n", id)
		}
		return nil
	}
}
