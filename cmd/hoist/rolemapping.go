package main

// `hoist role-mapping …`: roles from groups at an OpenID Connect issuer
// (issue 20).

import (
	"context"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/spf13/cobra"
)

func roleMappingCommands() []spec {
	return []spec{
		leaf("create", "map a group to a role on a space", "--group G --space S --role R [--issuer URL]", roleMappingCreate),
		leaf("list", "list role mappings", "", roleMappingList),
		leaf("delete", "delete a role mapping and the roles it gave", "ID", roleMappingDelete),
	}
}

func roleMappingCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var in api.CreateRoleMapping
	fs.StringVar(&in.Group, "group", "", "full group path at the issuer, e.g. `acme/platform`")
	fs.StringVar(&in.Space, "space", "", "the space the role is on")
	fs.StringVar(&in.Role, "role", "", "read, write or admin")
	fs.StringVar(&in.Issuer, "issuer", "", "the issuer's https `URL` (default: any issuer)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		for _, f := range []struct{ name, v string }{{"--group", in.Group}, {"--space", in.Space}, {"--role", in.Role}} {
			if f.v == "" {
				return usageError{f.name + " is required"}
			}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		m, err := c.CreateRoleMapping(ctx, in)
		if err != nil {
			return err
		}
		if cf.json() {
			return writeJSON(e.stdout, m)
		}
		return details(e.stdout, []kv{{"ID", m.ID}, {"Issuer", fmtIssuer(m.Issuer)}, {"Group", m.Group},
			{"Role", m.Space + ":" + m.Role}}, "", "")
	}
}

// fmtIssuer shows a mapping's issuer, "any" for "".
func fmtIssuer(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func roleMappingList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		ms, err := c.ListRoleMappings(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, ms, []string{"ID", "GROUP", "ISSUER", "ROLE", "CREATED", "CREATED BY"}, func(m api.RoleMapping) []string {
			return []string{m.ID, m.Group, fmtIssuer(m.Issuer), m.Space + ":" + m.Role, fmtTime(m.CreatedAt), orDash(m.CreatedBy)}
		})
	}
}

func roleMappingDelete(e *env, cmd *cobra.Command) runFunc {
	return identityAction(e, cmd, "role mapping id", "deleted role mapping %s\n",
		func(ctx context.Context, c *apiclient.Client, id string) error { return c.DeleteRoleMapping(ctx, id) })
}
