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
	var roles, spaces listFlag
	var personal bool
	var maxRole string
	fs.StringVar(&name, "name", "", "name of the key")
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	fs.StringVar(&expiresIn, "expires-in", "", "the key stops working after `DURATION`, e.g. 90d, 12h or 1d12h (default: never; required with --personal, at most 366d)")
	fs.BoolVar(&personal, "personal", false, "a personal key of the user whose personal key --token is: no roles of its own, it acts with that user's")
	fs.StringVar(&maxRole, "max-role", "", "with --personal: the key acts at most as `ROLE` (read, write or admin) in any space, never above its owner's role there")
	fs.Var(&spaces, "space", "with --personal: the key acts only in space `ID` and the spaces below it (repeatable)")
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
		case !personal && (maxRole != "" || len(spaces) > 0):
			return usageError{"--max-role and --space limit a personal key: use them with --personal (give an ordinary key just the --role it needs)"}
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
			k, err = c.CreatePersonalAPIKey(ctx, api.CreatePersonalAPIKey{Name: in.Name, ExpiresAt: in.ExpiresAt,
				MaxRole: maxRole, Spaces: spaces})
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
		rows := []kv{{"ID", k.ID}, {"Name", k.Name}, {"Roles", fmtRoles(k.Roles)}}
		if k.Personal {
			rows = append(rows, kv{"Limits", fmtCeiling(k.Ceiling)})
		}
		rows = append(rows, kv{"Expires", fmtExpiry(k.ExpiresAt)}, kv{"Secret", k.Secret})
		return details(e.stdout, rows, "", "")
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

// fmtCeiling shows a personal key's ceiling: "at most read in a, b",
// or "owner's roles" when it has none.
func fmtCeiling(c *api.KeyCeiling) string {
	if c == nil {
		return "owner's roles"
	}
	var parts []string
	if c.MaxRole != "" {
		parts = append(parts, "at most "+c.MaxRole)
	}
	if c.Spaces != nil {
		in := "no space left"
		if len(*c.Spaces) > 0 {
			in = strings.Join(*c.Spaces, ", ")
		}
		parts = append(parts, "in "+in)
	}
	return strings.Join(parts, " ")
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
		return printList(e, cf, keys, []string{"ID", "NAME", "ROLES", "LIMITS", "CREATED", "CREATED BY", "EXPIRES"}, func(k api.APIKey) []string {
			createdBy, limits := orDash(k.CreatedBy), "-"
			if k.Personal {
				createdBy += " (personal)"
				limits = fmtCeiling(k.Ceiling)
			}
			return []string{k.ID, k.Name, fmtRoles(k.Roles), limits, fmtTime(k.CreatedAt), createdBy, fmtExpiry(k.ExpiresAt)}
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
