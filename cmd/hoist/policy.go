package main

// `hoist policy …`: policies as code in Rego (issue 17), on the server, and
// locally: eval against an input file, test a folder of Rego unit tests.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/policy"
)

func policyCommands() []spec {
	return []spec{
		leaf("create", "create a push or plan policy from a Rego file", policyCreateSynopsis, policyCreate),
		leaf("list", "list the policies you may read, or those of a stack", "[--type push|plan] [--stack S]", policyList),
		leaf("show", "show a policy and its Rego source", "ID", policyShow),
		leaf("update", "change a policy (a new body is compiled first)", "ID [--name N] [--space S] [--label L]... [--clear-labels] [--description D | --description-file F] [--body-file F]", policyUpdate),
		leaf("delete", "delete a policy and its attachments", "ID", policyDelete),
		leaf("attach", "attach a policy to a stack", "POLICY --stack S", policyAttach(true)),
		leaf("detach", "detach a policy from a stack", "POLICY --stack S", policyAttach(false)),
		leaf("eval", "evaluate a Rego file against an input JSON file, locally", "POLICY.rego --input INPUT.json", policyEval),
		leaf("test", "run the Rego unit tests (test_… rules) of a folder, locally", "DIR", policyTest),
	}
}

const policyCreateSynopsis = "--name N --type push|plan --space S --body-file F [--label L]... [--description D | --description-file F]"

// maxRegoFile bounds a local Rego or input file: policies are at most
// 64 KiB on the server; inputs (a plan's JSON) may be larger.
const (
	maxRegoFile  = policy.MaxBodyBytes
	maxInputFile = 64 << 20
)

func readBounded(e *env, path string, max int64) ([]byte, error) {
	if path == "-" {
		return readInput(e, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, fi.Size(), max)
	}
	return os.ReadFile(path)
}

func policyCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var in api.CreatePolicy
	var labels listFlag
	var descFile, bodyFile string
	fs.StringVar(&in.Name, "name", "", "name of the policy (its id is the slug of it)")
	fs.StringVar(&in.Type, "type", "", "push (decides runs from Git events) or plan (checks plans)")
	fs.StringVar(&in.Space, "space", "", "the space the policy belongs to")
	fs.Var(&labels, "label", "a label (repeatable); autoattach:<label> attaches to stacks carrying <label>, autoattach:* to all")
	fs.StringVar(&in.Description, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE`")
	fs.StringVar(&bodyFile, "body-file", "", "the Rego source (package hoist), `FILE` or - for stdin")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		for flagName, v := range map[string]string{"name": in.Name, "type": in.Type, "space": in.Space, "body-file": bodyFile} {
			if v == "" {
				return usageError{fmt.Sprintf("--%s is required", flagName)}
			}
		}
		var err error
		if in.Description, _, err = textOrFile(e, "description", in.Description, descFile, flagsSet(fs)["description"]); err != nil {
			return err
		}
		body, err := readBounded(e, bodyFile, maxRegoFile)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		in.Body, in.Labels = string(body), labels
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		p, err := c.CreatePolicy(ctx, in)
		if err != nil {
			return err
		}
		return printPolicy(e, cf, p)
	}
}

func policyList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	var typ, stackID string
	cmd.Flags().StringVar(&typ, "type", "", "only policies of this type (push or plan)")
	cmd.Flags().StringVar(&stackID, "stack", "", "the policies that apply to this stack, attached or autoattached")
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		if stackID != "" {
			items, err := c.StackPolicies(ctx, stackID)
			if err != nil {
				return err
			}
			return printList(e, cf, items, []string{"ID", "TYPE", "SPACE", "VERSION", "ATTACHED"}, func(sp api.StackPolicy) []string {
				how := "explicitly"
				if !sp.Explicit {
					how = "by label " + sp.Autoattach
				}
				return []string{sp.Policy.ID, sp.Policy.Type, sp.Policy.Space, fmt.Sprint(sp.Policy.Version), how}
			})
		}
		items, err := c.ListPolicies(ctx, typ)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "TYPE", "SPACE", "VERSION", "LABELS"}, func(p api.Policy) []string {
			return []string{p.ID, p.Type, p.Space, fmt.Sprint(p.Version), joinOrDash(p.Labels)}
		})
	}
}

func policyShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "policy id")
		if err != nil {
			return err
		}
		p, err := c.GetPolicy(ctx, id)
		if err != nil {
			return err
		}
		return printPolicy(e, cf, p)
	}
}

func printPolicy(e *env, cf *clientFlags, p *api.Policy) error {
	if cf.json() {
		return writeJSON(e.stdout, p)
	}
	if err := details(e.stdout, []kv{
		{"ID", p.ID}, {"Name", p.Name}, {"Type", p.Type}, {"Space", p.Space}, {"Labels", joinOrDash(p.Labels)},
		{"Version", fmt.Sprint(p.Version)}, {"Created", fmtTime(p.CreatedAt)}, {"Updated", fmtTime(p.UpdatedAt)},
	}, "Description", p.Description); err != nil {
		return err
	}
	// The body is shown as is: it is the user's own source, printed through
	// the terminal writer like everything else.
	_, err := fmt.Fprintf(e.stdout, "\nBody:\n%s\n", strings.TrimRight(p.Body, "\n"))
	return err
}

func policyUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var name, spaceID, desc, descFile, bodyFile string
	var labels listFlag
	var clearLabels bool
	fs.StringVar(&name, "name", "", "new name (the id stays)")
	fs.StringVar(&spaceID, "space", "", "move the policy to this space")
	fs.Var(&labels, "label", "replace the labels (repeatable)")
	fs.BoolVar(&clearLabels, "clear-labels", false, "remove every label")
	fs.StringVar(&desc, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE`")
	fs.StringVar(&bodyFile, "body-file", "", "new Rego source, `FILE` or - for stdin")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "policy id")
		if err != nil {
			return err
		}
		set := flagsSet(fs)
		var in api.UpdatePolicy
		if set["name"] {
			in.Name = &name
		}
		if set["space"] {
			in.Space = &spaceID
		}
		if set["label"] && clearLabels {
			return usageError{"give --label or --clear-labels, not both"}
		}
		if set["label"] || clearLabels {
			l := []string(labels)
			if l == nil {
				l = []string{}
			}
			in.Labels = &l
		}
		d, given, err := textOrFile(e, "description", desc, descFile, set["description"])
		if err != nil {
			return err
		}
		if given {
			in.Description = &d
		}
		if bodyFile != "" {
			b, err := readBounded(e, bodyFile, maxRegoFile)
			if err != nil {
				return fmt.Errorf("read body: %w", err)
			}
			body := string(b)
			in.Body = &body
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		p, err := c.UpdatePolicy(ctx, id, in)
		if err != nil {
			return err
		}
		return printPolicy(e, cf, p)
	}
}

func policyDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "policy id")
		if err != nil {
			return err
		}
		if err := c.DeletePolicy(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "policy %s deleted\n", id)
		return nil
	}
}

func policyAttach(attach bool) func(e *env, cmd *cobra.Command) runFunc {
	return func(e *env, cmd *cobra.Command) runFunc {
		cf := addClientFlags(cmd)
		var stackID string
		cmd.Flags().StringVar(&stackID, "stack", "", "the stack")
		return func(ctx context.Context, args []string) error {
			id, err := parseWithID(cmd, args, "policy id")
			if err != nil {
				return err
			}
			if stackID == "" {
				return usageError{"--stack is required"}
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			verb := "attached to"
			if attach {
				err = c.AttachPolicy(ctx, stackID, id)
			} else {
				verb = "detached from"
				err = c.DetachPolicy(ctx, stackID, id)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "policy %s %s stack %s\n", id, verb, stackID)
			return nil
		}
	}
}

func policyEval(e *env, cmd *cobra.Command) runFunc {
	var inputFile string
	cmd.Flags().StringVar(&inputFile, "input", "", "the input, a JSON `FILE` (docs/policies.md has one sample per type), or - for stdin")
	return func(ctx context.Context, args []string) error {
		file, err := parseWithID(cmd, args, "policy file")
		if err != nil {
			return err
		}
		if inputFile == "" {
			return usageError{"--input is required"}
		}
		body, err := readBounded(e, file, maxRegoFile)
		if err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
		raw, err := readBounded(e, inputFile, maxInputFile)
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		input, err := policy.DecodeInput(raw)
		if err != nil {
			return fmt.Errorf("input %s: %w", inputFile, err)
		}
		doc, err := policy.NewEngine(policy.Limits{}).Eval(ctx, string(body), input)
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, doc)
	}
}

func policyTest(e *env, cmd *cobra.Command) runFunc {
	return func(ctx context.Context, args []string) error {
		dir, err := parseWithID(cmd, args, "folder")
		if err != nil {
			return err
		}
		files := map[string]string{}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
				return err
			}
			if len(files) >= 1000 {
				return fmt.Errorf("more than 1000 .rego files under %s", dir)
			}
			b, err := readBounded(e, path, 4*maxRegoFile)
			if err != nil {
				return err
			}
			files[path] = string(b)
			return nil
		})
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("no .rego files under %s", dir)
		}
		results, err := policy.NewEngine(policy.Limits{}).RunTests(ctx, files)
		if err != nil {
			return err
		}
		failed := 0
		for _, r := range results {
			outcome := "PASS"
			if !r.Pass {
				outcome, failed = "FAIL", failed+1
				if r.Error != "" {
					outcome = "ERROR"
				}
			}
			fmt.Fprintf(e.stdout, "%s: %s.%s (%s) %s\n", outcome, r.Package, r.Name, r.File, r.Elapsed.Round(1000))
			if r.Error != "" {
				fmt.Fprintf(e.stdout, "  %s\n", r.Error)
			}
		}
		fmt.Fprintf(e.stdout, "%d passed, %d failed\n", len(results)-failed, failed)
		if len(results) == 0 {
			return fmt.Errorf("no test_… rules under %s", dir)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d tests failed", failed, len(results))
		}
		return nil
	}
}
