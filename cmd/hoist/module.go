package main

// `hoist module …`: modules and their versions (SPEC §4.5, §6.1).

import (
	"context"
	"fmt"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
)

func moduleCommands() []spec {
	return []spec{
		leaf("create", "create a module on a GitLab repository", moduleCreateSynopsis, moduleCreate),
		leaf("list", "list the modules you may read", "", moduleList),
		leaf("show", "show a module and its registry address", "ID", moduleShow),
		leaf("delete", "delete a module and its versions", "ID", moduleDelete),
		leaf("versions", "list a module's versions", "MODULE", moduleVersions),
		leaf("create-version", "publish a version by hand from a commit", "MODULE --sha SHA --version V", moduleCreateVersion),
		leaf("mark-bad", "mark a version bad with a note (the registry stops offering it)", "MODULE VERSION --note N", moduleMarkBad),
	}
}

const moduleCreateSynopsis = "--name N --provider P --repository NAMESPACE/PROJECT --branch B [--space S] [--integration I] " +
	"[--project-root DIR] [--label L]... [--description D | --description-file F]"

func moduleCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var in api.CreateModule
	var labels listFlag
	var descFile string
	fs.StringVar(&in.Name, "name", "", "name of the module (its id, the registry name, is the slug of it)")
	fs.StringVar(&in.Provider, "provider", "", "the registry address's provider part, e.g. aws, google, null")
	fs.StringVar(&in.Space, "space", "", "the space the module belongs to, its registry namespace (default root)")
	fs.StringVar(&in.Integration, "integration", "", "id of the GitLab integration (default: the default integration)")
	fs.StringVar(&in.Repository, "repository", "", "GitLab project path, namespace/project")
	fs.StringVar(&in.Branch, "branch", "", "the branch the module is developed on")
	fs.StringVar(&in.ProjectRoot, "project-root", "", "folder of the module in the repository, relative to its root, e.g. modules/vpc (default: the whole repository)")
	fs.Var(&labels, "label", "a label (repeatable)")
	fs.StringVar(&in.Description, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE`")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		for flagName, v := range map[string]string{"name": in.Name, "provider": in.Provider, "repository": in.Repository, "branch": in.Branch} {
			if v == "" {
				return usageError{fmt.Sprintf("--%s is required", flagName)}
			}
		}
		var err error
		if in.Description, _, err = textOrFile(e, "description", in.Description, descFile, flagsSet(fs)["description"]); err != nil {
			return err
		}
		in.Labels = labels
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		m, err := c.CreateModule(ctx, in)
		if err != nil {
			return err
		}
		return printModule(e, cf, m)
	}
}

func moduleList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		items, err := c.ListModules(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "PROVIDER", "SPACE", "INTEGRATION", "REPOSITORY", "PROJECT ROOT", "SOURCE", "LABELS"}, func(m api.Module) []string {
			return []string{m.ID, m.Provider, m.Space, m.Integration, m.Repository, orDash(m.ProjectRoot),
				m.Source, joinOrDash(m.Labels)}
		})
	}
}

func moduleShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "module id")
		if err != nil {
			return err
		}
		m, err := c.GetModule(ctx, id)
		if err != nil {
			return err
		}
		return printModule(e, cf, m)
	}
}

func printModule(e *env, cf *clientFlags, m *api.Module) error {
	warn(e, m.Warnings)
	if cf.json() {
		return writeJSON(e.stdout, m)
	}
	integ := m.Integration
	if m.Detached {
		integ += " (deleted: the module is detached)"
	}
	return details(e.stdout, []kv{
		{"ID", m.ID}, {"Name", m.Name}, {"Provider", m.Provider}, {"Space", m.Space}, {"Integration", integ},
		{"Repository", m.Repository}, {"Branch", m.Branch}, {"Project root", orDash(m.ProjectRoot)},
		{"Source", "<hoist-host>/" + m.Source}, {"Labels", joinOrDash(m.Labels)}, {"Created", fmtTime(m.CreatedAt)},
	}, "Description", m.Description)
}

func moduleDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "module id")
		if err != nil {
			return err
		}
		if err := c.DeleteModule(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "module %s deleted\n", id)
		return nil
	}
}

func moduleVersions(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "module id")
		if err != nil {
			return err
		}
		vs, err := c.ListModuleVersions(ctx, id)
		if err != nil {
			return err
		}
		return printList(e, cf, vs, []string{"VERSION", "STATE", "SHA", "TAG", "CREATED", "BY", "NOTE"}, func(v api.ModuleVersion) []string {
			return []string{v.Version, v.State, v.SHA, orDash(v.Tag), fmtTime(v.CreatedAt), orDash(v.CreatedBy), orDash(v.Note)}
		})
	}
}

func moduleCreateVersion(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var sha, version string
	fs.StringVar(&sha, "sha", "", "the commit to publish (full or abbreviated SHA)")
	fs.StringVar(&version, "version", "", "the version, e.g. 1.2.0 or v1.2.0")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "module id")
		if err != nil {
			return err
		}
		if sha == "" || version == "" {
			return usageError{"module create-version: --sha and --version are required"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		v, err := c.CreateModuleVersion(ctx, id, version, sha)
		if err != nil {
			return err
		}
		return printVersion(e, cf, v)
	}
}

func moduleMarkBad(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var note string
	fs.StringVar(&note, "note", "", "why the version is bad (required)")
	return func(ctx context.Context, args []string) error {
		if len(args) != 2 {
			return usageError{fmt.Sprintf("module mark-bad: want MODULE VERSION, got %d arguments", len(args))}
		}
		if note == "" {
			return usageError{"module mark-bad: --note is required"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		v, err := c.MarkModuleVersionBad(ctx, args[0], args[1], note)
		if err != nil {
			return err
		}
		return printVersion(e, cf, v)
	}
}

func printVersion(e *env, cf *clientFlags, v *api.ModuleVersion) error {
	if cf.json() {
		return writeJSON(e.stdout, v)
	}
	return details(e.stdout, []kv{{"Module", v.Module}, {"Version", v.Version}, {"State", v.State}, {"SHA", v.SHA},
		{"Tag", orDash(v.Tag)}, {"Created", fmtTime(v.CreatedAt)}, {"By", orDash(v.CreatedBy)}}, "Note", v.Note)
}
