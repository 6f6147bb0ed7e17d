package main

// `hoist api-key …`: API keys and their roles (SPEC §1, §6.2).

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/apiclient"
)

func runAPIKey(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "api-key", map[string]command{
		"create": {"create an API key (its secret is shown once)", apiKeyCreate},
		"list":   {"list API keys", apiKeyList},
		"grant":  {"give an API key a role on a space", apiKeyGrant},
		"revoke": {"take an API key's role on a space away", apiKeyRevoke},
	}, args)
}

func apiKeyCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "api-key create", "--name N [--role SPACE:ROLE]...")
	cf := addClientFlags(fs)
	var name string
	var roles listFlag
	fs.StringVar(&name, "name", "", "name of the key")
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if name == "" {
		return usageError{"--name is required"}
	}
	rbs, err := parseRoles(roles, false)
	if err != nil {
		return err
	}
	c, err := cf.client(e)
	if err != nil {
		return err
	}
	k, err := c.CreateAPIKey(ctx, apiclient.CreateAPIKey{Name: name, Roles: rbs})
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
		{"Secret", k.Secret},
	}, "", "")
}

func apiKeyList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "api-key list", "")
	cf := addClientFlags(fs)
	c, err := cf.parseNone(e, args)
	if err != nil {
		return err
	}
	keys, err := c.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	return printList(e, cf, keys, []string{"ID", "NAME", "ROLES", "CREATED", "CREATED BY"}, func(k apiclient.APIKey) []string {
		return []string{k.ID, k.Name, fmtRoles(k.Roles), fmtTime(k.CreatedAt), orDash(k.CreatedBy)}
	})
}

func apiKeyGrant(ctx context.Context, e *env, args []string) error {
	return changeRoles(ctx, e, args, "api-key grant", "API key id", false,
		func(c *apiclient.Client, id string, rb apiclient.RoleBinding) error {
			return c.GrantAPIKeyRole(ctx, id, rb)
		})
}

func apiKeyRevoke(ctx context.Context, e *env, args []string) error {
	return changeRoles(ctx, e, args, "api-key revoke", "API key id", true,
		func(c *apiclient.Client, id string, rb apiclient.RoleBinding) error {
			return c.RevokeAPIKeyRole(ctx, id, rb.Space)
		})
}

// changeRoles is the body of the grant and revoke subcommands of API keys
// and users: `ID --role SPACE:ROLE...`, one request per role. Revoking
// needs only the space (a principal has one role per space).
func changeRoles(ctx context.Context, e *env, args []string, path, what string, revoke bool,
	apply func(c *apiclient.Client, id string, rb apiclient.RoleBinding) error) error {
	fs := newFlags(e, path, "ID --role SPACE:ROLE...")
	cf := addClientFlags(fs)
	var roles listFlag
	fs.Var(&roles, "role", "a role as `SPACE:ROLE` with ROLE read, write or admin (repeatable)")
	id, err := parseWithID(fs, args, what)
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
		if err := apply(c, id, rb); err != nil {
			return fmt.Errorf("%s %s: %w", path, rb.Space, err)
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "%s %s on %s for %s\n", verb, orDash(rb.Role), rb.Space, id)
		}
	}
	return nil
}
