package main

// `hoist audit list`: the audit log, readable by root admins (SPEC §2.3).

import (
	"context"
	"encoding/json"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/spf13/cobra"
)

func auditCommands() []spec {
	return []spec{
		leaf("list", "list audit log entries, newest first", "[--resource-type T] [--resource-id ID] [--limit N]", auditList),
	}
}

func auditList(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var f apiclient.AuditFilter
	var limit int
	fs.StringVar(&f.ResourceType, "resource-type", "", "only entries about this kind of resource, e.g. integration")
	fs.StringVar(&f.ResourceID, "resource-id", "", "only entries about the resource with this id")
	fs.IntVar(&limit, "limit", 100, "show at most N entries (0: all)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if limit < 0 {
			return usageError{"--limit must not be negative"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		entries := []api.AuditEntry{}
		for en, err := range c.Audit(ctx, f) {
			if err != nil {
				return err
			}
			entries = append(entries, en)
			if limit > 0 && len(entries) == limit {
				break
			}
		}
		if cf.json() {
			return writeJSON(e.stdout, entries)
		}
		rows := [][]string{{"AT", "ACTOR", "ACTION", "RESOURCE", "SPACE", "DETAIL"}}
		for _, en := range entries {
			detail := "-"
			if len(en.Detail) > 0 {
				b, err := json.Marshal(en.Detail)
				if err != nil {
					return err
				}
				detail = string(b)
			}
			rows = append(rows, []string{fmtTime(en.At), en.Actor, en.Action,
				en.ResourceType + "/" + en.ResourceID, orDash(en.Space), detail})
		}
		return table(e.stdout, rows)
	}
}
