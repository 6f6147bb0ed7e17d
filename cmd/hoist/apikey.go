package main

// `hoist api-key …`: API keys and their roles (SPEC §1, §6.2).

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/spf13/cobra"
)

func apiKeyCommands() []spec {
	return []spec{
		leaf("create", "create an API key (its secret is shown once)",
			"--name N [--role SPACE:ROLE]... [--expires-in DURATION] | --personal --name N --expires-in DURATION", apiKeyCreate),
		leaf("list", "list API keys (--personal: your own personal keys)", "[--personal]", apiKeyList),
		leaf("delete", "delete (revoke) an API key at once", "[--personal] ID", apiKeyDelete),
		leaf("grant", "give an API key a role on a space", rolesSynopsis, apiKeyGrant),
		leaf("revoke", "take an API key's role on a space away", rolesSynopsis, apiKeyRevoke),
	}
}

func apiKeyCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var name, expiresIn string
	var roles listFlag
	var personal bool
	fs.StringVar(&name, "name", "", "name of the key")
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	fs.StringVar(&expiresIn, "expires-in", "", "the key stops working after `DURATION`, e.g. 90d, 12h or 1d12h (default: never; required with --personal, at most 366d)")
	fs.BoolVar(&personal, "personal", false, "a personal key of the user whose personal key --token is: no roles of its own, it acts with that user's")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		switch {
		case name == "":
			return usageError{"--name is required"}
		case personal && len(roles) > 0:
			return usageError{"--personal takes no --role: a personal key acts with its owner's roles"}
		case personal && expiresIn == "":
			return usageError{"--personal needs --expires-in: every personal key expires (at most 366d)"}
		}
		rbs, err := parseRoles(roles, false)
		if err != nil {
			return err
		}
		in := api.CreateAPIKey{Name: name, Roles: rbs}
		if expiresIn != "" {
			d, err := parseExpiresIn(expiresIn)
			if err != nil {
				return err
			}
			at := time.Now().Add(d).UTC().Truncate(time.Second)
			in.ExpiresAt = at.Format(time.RFC3339)
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		var k *api.APIKey
		if personal {
			k, err = c.CreatePersonalAPIKey(ctx, api.CreatePersonalAPIKey{Name: in.Name, ExpiresAt: in.ExpiresAt})
		} else {
			k, err = c.CreateAPIKey(ctx, in)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "the secret is shown only this once: store it now")
		if cf.json() {
			return writeJSON(e.stdout, k)
		}
		return details(e.stdout, []kv{
			{"ID", k.ID},
			{"Name", k.Name},
			{"Roles", fmtRoles(k.Roles)},
			{"Expires", fmtExpiry(k.ExpiresAt)},
			{"Secret", k.Secret},
		}, "", "")
	}
}

// parseExpiresIn reads --expires-in: a Go duration (12h, 90m) or whole
// days (90d), or days followed by a duration (1d12h).
func parseExpiresIn(v string) (time.Duration, error) {
	bad := usageError{fmt.Sprintf("--expires-in %q: want a positive duration such as 90d, 12h or 1d12h", v)}
	var d time.Duration
	if days, rest, ok := strings.Cut(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return 0, bad
		}
		d, v = time.Duration(n)*24*time.Hour, rest
	}
	if v != "" {
		more, err := time.ParseDuration(v)
		if err != nil || more < 0 {
			return 0, bad
		}
		d += more
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// fmtExpiry shows when a key expires, or "never".
func fmtExpiry(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return fmtTime(*t)
}

func apiKeyList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	var personal bool
	cmd.Flags().BoolVar(&personal, "personal", false, "list the personal keys of the user whose personal key --token is")
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		var keys []api.APIKey
		if personal {
			keys, err = c.ListPersonalAPIKeys(ctx)
		} else {
			keys, err = c.ListAPIKeys(ctx)
		}
		if err != nil {
			return err
		}
		return printList(e, cf, keys, []string{"ID", "NAME", "ROLES", "CREATED", "CREATED BY", "EXPIRES"}, func(k api.APIKey) []string {
			createdBy := orDash(k.CreatedBy)
			if k.Personal {
				createdBy += " (personal)"
			}
			return []string{k.ID, k.Name, fmtRoles(k.Roles), fmtTime(k.CreatedAt), createdBy, fmtExpiry(k.ExpiresAt)}
		})
	}
}

func apiKeyDelete(e *env, cmd *cobra.Command) runFunc {
	var personal bool
	cmd.Flags().BoolVar(&personal, "personal", false, "delete one of your personal keys (with a personal key as --token)")
	return identityAction(e, cmd, "API key id", "deleted API key %s\n",
		func(ctx context.Context, c *apiclient.Client, id string) error {
			if personal {
				return c.DeletePersonalAPIKey(ctx, id)
			}
			return c.DeleteAPIKey(ctx, id)
		})
}

// identityAction is the body of the commands that act on one API key or
// user by id (delete, disable, enable) and print done (with the id).
func identityAction(e *env, cmd *cobra.Command, what, done string,
	apply func(ctx context.Context, c *apiclient.Client, id string) error) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, what)
		if err != nil {
			return err
		}
		if err := apply(ctx, c, id); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, done, id)
		}
		return nil
	}
}

func apiKeyGrant(e *env, cmd *cobra.Command) runFunc {
	return changeRoles(e, cmd, "API key id", false,
		func(ctx context.Context, c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.GrantAPIKeyRole(ctx, id, rb)
		})
}

func apiKeyRevoke(e *env, cmd *cobra.Command) runFunc {
	return changeRoles(e, cmd, "API key id", true,
		func(ctx context.Context, c *apiclient.Client, id string, rb api.RoleBinding) error {
			return c.RevokeAPIKeyRole(ctx, id, rb.Space)
		})
}

// rolesSynopsis is the usage of the grant and revoke subcommands.
const rolesSynopsis = "ID --role SPACE:ROLE..."

// changeRoles is the body of the grant and revoke subcommands of API keys
// and users: `ID --role SPACE:ROLE...`, one request per role. Revoking
// needs only the space (a principal has one role per space).
func changeRoles(e *env, cmd *cobra.Command, what string, revoke bool,
	apply func(ctx context.Context, c *apiclient.Client, id string, rb api.RoleBinding) error) runFunc {
	cf := addClientFlags(cmd)
	var roles listFlag
	cmd.Flags().Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, what)
		if err != nil {
			return err
		}
		if len(roles) == 0 {
			return usageError{"give at least one --role SPACE:ROLE"}
		}
		rbs, err := parseRoles(roles, revoke)
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		verb := "granted"
		if revoke {
			verb = "revoked"
		}
		for _, rb := range rbs {
			if err := apply(ctx, c, id, rb); err != nil {
				return fmt.Errorf("%s %s: %w", cmdName(cmd), rb.Space, err)
			}
			if !cf.json() {
				fmt.Fprintf(e.stdout, "%s %s on %s for %s\n", verb, orDash(rb.Role), rb.Space, id)
			}
		}
		return nil
	}
}
