package main

// `hoist space …`: the space tree (SPEC §1).

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
)

func spaceCommands() []spec {
	return []spec{
		leaf("create", "create a space", "--name N [--parent P] [--inherit=false] [--label L]... [--description D | --description-file F]", spaceCreate),
		leaf("list", "list the spaces you may read", "", spaceList),
		leaf("show", "show a space", "ID", spaceShow),
		leaf("update", "change a space", "ID [--name N] [--parent P] [--inherit=BOOL] [--label L]... [--clear-labels] [--description D | --description-file F]", spaceUpdate),
		leaf("delete", "delete an empty space", "ID", spaceDelete),
	}
}

func spaceCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var in api.CreateSpace
	var labels listFlag
	var inherit bool
	var descFile string
	fs.StringVar(&in.Name, "name", "", "name of the space (its id is the slug of the name)")
	fs.StringVar(&in.Parent, "parent", "root", "id of the parent space")
	fs.BoolVar(&inherit, "inherit", true, "roles in this space grant read on its ancestors")
	fs.Var(&labels, "label", "a label (repeatable)")
	fs.StringVar(&in.Description, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE`")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if in.Name == "" {
			return usageError{"--name is required"}
		}
		set := flagsSet(fs)
		if set["inherit"] {
			in.Inherit = &inherit
		}
		var err error
		if in.Description, _, err = textOrFile(e, "description", in.Description, descFile, set["description"]); err != nil {
			return err
		}
		in.Labels = labels
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		s, err := c.CreateSpace(ctx, in)
		if err != nil {
			return err
		}
		return printSpace(e, cf, s)
	}
}

func spaceList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		items, err := c.ListSpaces(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "NAME", "PARENT", "INHERIT", "LABELS"}, func(s api.Space) []string {
			return []string{s.ID, s.Name, orDash(s.Parent), yesNo(s.Inherit), joinOrDash(s.Labels)}
		})
	}
}

func spaceShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "space id")
		if err != nil {
			return err
		}
		s, err := c.GetSpace(ctx, id)
		if err != nil {
			return err
		}
		return printSpace(e, cf, s)
	}
}

func spaceUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var name, parent, desc, descFile string
	var inherit, clearLabels bool
	var labels listFlag
	fs.StringVar(&name, "name", "", "new name (the id stays)")
	fs.StringVar(&parent, "parent", "", "id of the new parent space")
	fs.BoolVar(&inherit, "inherit", true, "roles in this space grant read on its ancestors")
	fs.Var(&labels, "label", "a label (repeatable; replaces all labels)")
	fs.BoolVar(&clearLabels, "clear-labels", false, "remove all labels")
	fs.StringVar(&desc, "description", "", "new markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the new description from `FILE`")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "space id")
		if err != nil {
			return err
		}
		set := flagsSet(fs)
		var in api.UpdateSpace
		if set["name"] {
			in.Name = &name
		}
		if set["parent"] {
			in.Parent = &parent
		}
		if set["inherit"] {
			in.Inherit = &inherit
		}
		switch {
		case clearLabels && len(labels) > 0:
			return usageError{"give --label or --clear-labels, not both"}
		case clearLabels:
			in.Labels = &[]string{}
		case len(labels) > 0:
			l := []string(labels)
			in.Labels = &l
		}
		d, ok, err := textOrFile(e, "description", desc, descFile, set["description"])
		if err != nil {
			return err
		}
		if ok {
			in.Description = &d
		}
		if in == (api.UpdateSpace{}) {
			return usageError{"nothing to change: give at least one flag"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		s, err := c.UpdateSpace(ctx, id, in)
		if err != nil {
			return err
		}
		return printSpace(e, cf, s)
	}
}

func spaceDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "space id")
		if err != nil {
			return err
		}
		if err := c.DeleteSpace(ctx, id); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "deleted space %s\n", id)
		}
		return nil
	}
}

func printSpace(e *env, cf *clientFlags, s *api.Space) error {
	if cf.json() {
		return writeJSON(e.stdout, s)
	}
	return details(e.stdout, []kv{
		{"ID", s.ID},
		{"Name", s.Name},
		{"Parent", orDash(s.Parent)},
		{"Inherit", yesNo(s.Inherit)},
		{"Labels", joinOrDash(s.Labels)},
		{"Created", fmtTime(s.CreatedAt)},
		{"Updated", fmtTime(s.UpdatedAt)},
	}, "Description", s.Description)
}
