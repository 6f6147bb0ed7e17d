package main

// `hoist user …`: users, their roles and passwords (SPEC §1, §6.2).

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
)

func runUser(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "user", map[string]command{
		"create":       {"create a user", userCreate},
		"list":         {"list users", userList},
		"grant":        {"give a user a role on a space", userGrant},
		"revoke":       {"take a user's role on a space away", userRevoke},
		"set-password": {"replace a user's password (ends the user's web sessions)", userSetPassword},
		"disable":      {"stop a user: no login, sessions end, its API keys stop", userDisable},
		"enable":       {"let a disabled user log in again", userEnable},
		"delete":       {"delete a user with its API keys and sessions", userDelete},
	}, args)
}

func userCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user create", "USERNAME [--password-file F | --password-env V] [--role SPACE:ROLE]...")
	cf := addClientFlags(fs)
	var pwFile, pwEnv string
	var roles listFlag
	fs.StringVar(&pwFile, "password-file", "", "read the password from `FILE` (- for stdin); default: generate one")
	fs.StringVar(&pwEnv, "password-env", "", "read the password from environment variable `VAR`")
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	username, err := parseWithID(fs, args, "username")
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
	lines := []kv{{"ID", u.ID}, {"Username", u.Username}, {"Roles", fmtRoles(u.Roles)}}
	if u.Password != "" {
		lines = append(lines, kv{"Password", u.Password})
	}
	return details(e.stdout, lines, "", "")
}

func userList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user list", "")
	cf := addClientFlags(fs)
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
		return []string{u.ID, u.Username, fmtRoles(u.Roles), fmtTime(u.CreatedAt), status}
	})
}

func userDisable(ctx context.Context, e *env, args []string) error {
	return identityAction(ctx, e, args, "user disable", "user id", "disabled user %s\n",
		func(c *apiclient.Client, id string) error { return c.DisableUser(ctx, id) })
}

func userEnable(ctx context.Context, e *env, args []string) error {
	return identityAction(ctx, e, args, "user enable", "user id", "enabled user %s\n",
		func(c *apiclient.Client, id string) error { return c.EnableUser(ctx, id) })
}

func userDelete(ctx context.Context, e *env, args []string) error {
	return identityAction(ctx, e, args, "user delete", "user id", "deleted user %s with its API keys\n",
		func(c *apiclient.Client, id string) error { return c.DeleteUser(ctx, id) })
}

func userGrant(ctx context.Context, e *env, args []string) error {
	return changeRoles(ctx, e, args, "user grant", "user id", false,
		func(c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.GrantUserRole(ctx, id, rb)
		})
}

func userRevoke(ctx context.Context, e *env, args []string) error {
	return changeRoles(ctx, e, args, "user revoke", "user id", true,
		func(c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.RevokeUserRole(ctx, id, rb.Space)
		})
}

func userSetPassword(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "user set-password", "USER-ID --password-file F | --password-env V")
	cf := addClientFlags(fs)
	var pwFile, pwEnv string
	fs.StringVar(&pwFile, "password-file", "", "read the new password from `FILE` (- for stdin)")
	fs.StringVar(&pwEnv, "password-env", "", "read the new password from environment variable `VAR`")
	id, err := parseWithID(fs, args, "user id")
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
