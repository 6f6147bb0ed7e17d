package main

// `hoist stack …`: stacks (SPEC §3, §6.1).

import (
	"context"
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func stackCommands() []spec {
	return []spec{
		leaf("create", "create a stack on a GitLab repository", stackCreateSynopsis, stackCreate),
		leaf("list", "list the stacks you may read", "[--space S]", stackList),
		leaf("show", "show a stack", "ID", stackShow),
		leaf("update", "change a stack (all but its id); --integration re-attaches a detached stack", stackUpdateSynopsis, stackUpdate),
		leaf("delete", "delete a stack", "ID", stackDelete),
		group("schedule", "a stack's schedules: drift detection and tasks", scheduleCommands()...),
	}
}

// stackFields are the flags create and update share; update sends only
// the ones given.
type stackFields struct {
	name, space, integration, repository, branch, projectRoot string
	description, descFile, tool, toolVersion, workerPool      string
	mrPlanMinAccess, mrApplyMinAccess, applyRequirements      string
	driftIssueLabels, driftIssueMode                          string
	globs, labels                                             listFlag
	autodeploy, allowForkMRs, mrApply, mrAutomerge            bool
	driftIssue                                                bool
}

func addStackFlags(fs *pflag.FlagSet, f *stackFields) {
	fs.StringVar(&f.name, "name", "", "name of the stack (its id is the slug of the first name)")
	fs.StringVar(&f.space, "space", "", "the space the stack belongs to")
	fs.StringVar(&f.integration, "integration", "", "id of the GitLab integration (default: the default integration)")
	fs.StringVar(&f.repository, "repository", "", "GitLab project path, namespace/project (e.g. acme/platform/infra)")
	fs.StringVar(&f.branch, "branch", "", "the tracked branch")
	fs.StringVar(&f.projectRoot, "project-root", "", "folder of the stack in the repository, relative to its root, e.g. infra/prod (default: the whole repository)")
	fs.Var(&f.globs, "glob", "additional project glob: changes matching it also trigger the stack (repeatable)")
	fs.Var(&f.labels, "label", "a label (repeatable)")
	fs.BoolVar(&f.autodeploy, "autodeploy", false, "apply tracked runs without waiting for confirmation")
	fs.StringVar(&f.description, "description", "", "markdown description")
	fs.StringVar(&f.descFile, "description-file", "", "read the description from `FILE`")
	fs.StringVar(&f.tool, "tool", "", "opentofu (default) or terraform (terraform needs --tool-version)")
	fs.StringVar(&f.toolVersion, "tool-version", "", "pin a version of the server's tools folder, e.g. 1.10.6 (default: the workers' default OpenTofu)")
	fs.StringVar(&f.workerPool, "worker-pool", "", "worker pool the runs go to (default: embedded)")
	fs.BoolVar(&f.allowForkMRs, "allow-fork-mrs", false, "let merge requests from forks trigger proposed runs")
	fs.StringVar(&f.mrPlanMinAccess, "mr-plan-min-access", "", "GitLab access a merge request comment's author needs for /hoist plan: "+
		"guest, reporter, developer (default), maintainer or owner")
	fs.BoolVar(&f.mrApply, "mr-apply", false, "let the stack apply before merge with the /hoist apply merge request comment")
	fs.StringVar(&f.mrApplyMinAccess, "mr-apply-min-access", "", "GitLab access a merge request comment's author needs for "+
		"/hoist apply and /hoist unlock: guest, reporter, developer, maintainer (default) or owner")
	fs.BoolVar(&f.mrAutomerge, "mr-automerge", false, "merge a merge request once every stack it changes has applied from it (needs --mr-apply)")
	fs.StringVar(&f.applyRequirements, "apply-requirements", "", "what GitLab must say about a merge request before /hoist apply, "+
		"comma-separated: approved, mergeable, undiverged (\"\" for none)")
	fs.BoolVar(&f.driftIssue, "drift-issue", false, "keep one GitLab issue in the stack's project open while the stack is drifted "+
		"(--drift-issue-mode on; =false is inherit)")
	fs.StringVar(&f.driftIssueMode, "drift-issue-mode", "", "that issue: inherit (as the integration says; default), on, or off "+
		"(none even when the integration turns it on)")
	fs.StringVar(&f.driftIssueLabels, "drift-issue-labels", "", "labels of that issue, comma-separated (\"\" for none; needs the issue on)")
}

// stackDriftIssueText says what a stack's drift issue setting is; a
// server without drift_issue_mode sends only drift_issue.
func stackDriftIssueText(st api.Stack) string {
	switch {
	case st.DriftIssueMode == "off":
		return "no (off on this stack, whatever the integration says)"
	case st.DriftIssueMode == "on" || st.DriftIssue:
		return driftIssueText(true, st.DriftIssueLabels, "")
	}
	return "as the integration says"
}

// driftIssueText says whether a stack (or an integration's stacks) keeps a
// drift issue, and its labels; off is what to say when it is not on.
func driftIssueText(on bool, labels []string, off string) string {
	if !on {
		return off
	}
	if len(labels) == 0 {
		return "yes"
	}
	return "yes, labels " + strings.Join(labels, ", ")
}

// commaList splits a comma-separated flag (--apply-requirements,
// --drift-issue-labels): "" is none.
func commaList(v string) []string {
	out := []string{}
	for r := range strings.SplitSeq(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

const stackCreateSynopsis = "--name N --space S --repository NAMESPACE/PROJECT --branch B [--integration I] " +
	"[--project-root DIR] [--glob G]... [--label L]... [--autodeploy] [--description D | --description-file F] " +
	"[--tool opentofu|terraform] [--tool-version V] [--worker-pool P] [--allow-fork-mrs] [--mr-plan-min-access LEVEL] " +
	"[--mr-apply] [--mr-apply-min-access LEVEL] [--apply-requirements R,…] [--mr-automerge] " +
	"[--drift-issue | --drift-issue-mode inherit|on|off] [--drift-issue-labels L,…]"

func stackCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var f stackFields
	addStackFlags(fs, &f)
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		for flagName, v := range map[string]string{"name": f.name, "space": f.space, "repository": f.repository, "branch": f.branch} {
			if v == "" {
				return usageError{fmt.Sprintf("--%s is required", flagName)}
			}
		}
		desc, _, err := textOrFile(e, "description", f.description, f.descFile, flagsSet(fs)["description"])
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		st, err := c.CreateStack(ctx, api.CreateStack{
			Name: f.name, Space: f.space, Integration: f.integration, Repository: f.repository, Branch: f.branch,
			ProjectRoot: f.projectRoot, AdditionalProjectGlobs: f.globs, Labels: f.labels, Autodeploy: f.autodeploy,
			Description: desc, Tool: f.tool, ToolVersion: f.toolVersion, WorkerPool: f.workerPool,
			AllowForkMRs: f.allowForkMRs, MRPlanMinAccess: f.mrPlanMinAccess, MRApply: f.mrApply,
			MRApplyMinAccess: f.mrApplyMinAccess, ApplyRequirements: commaList(f.applyRequirements),
			MRAutomerge: f.mrAutomerge, DriftIssue: f.driftIssue, DriftIssueMode: f.driftIssueMode,
			DriftIssueLabels: commaList(f.driftIssueLabels)})
		if err != nil {
			return err
		}
		return printStack(e, cf, st)
	}
}

func stackList(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var space string
	fs.StringVar(&space, "space", "", "only the stacks of space `S`")
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		items, err := c.ListStacks(ctx, space)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "NAME", "SPACE", "INTEGRATION", "REPOSITORY", "BRANCH", "PROJECT ROOT", "TRACKED COMMIT", "LABELS"}, func(st api.Stack) []string {
			return []string{st.ID, st.Name, st.Space, stackIntegration(st), st.Repository, st.Branch,
				orDash(st.ProjectRoot), shortSHA(st.TrackedCommit), joinOrDash(st.Labels)}
		})
	}
}

func stackShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "stack id")
		if err != nil {
			return err
		}
		st, err := c.GetStack(ctx, id)
		if err != nil {
			return err
		}
		return printStack(e, cf, st)
	}
}

const stackUpdateSynopsis = "ID [--name N] [--space S] [--integration I] [--repository R] [--branch B] [--project-root DIR] " +
	"[--glob G... | --clear-globs] [--label L... | --clear-labels] [--autodeploy[=false]] [--description D | --description-file F] " +
	"[--tool T] [--tool-version V] [--worker-pool P] [--allow-fork-mrs[=false]] [--mr-plan-min-access LEVEL] " +
	"[--mr-apply[=false]] [--mr-apply-min-access LEVEL] [--apply-requirements R,…] [--mr-automerge[=false]] " +
	"[--drift-issue[=false] | --drift-issue-mode inherit|on|off] [--drift-issue-labels L,…]"

func stackUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var f stackFields
	addStackFlags(fs, &f)
	var clearGlobs, clearLabels bool
	fs.BoolVar(&clearGlobs, "clear-globs", false, "remove all additional project globs")
	fs.BoolVar(&clearLabels, "clear-labels", false, "remove all labels")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "stack id")
		if err != nil {
			return err
		}
		in, err := stackPatch(e, flagsSet(fs), &f, clearGlobs, clearLabels)
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		st, err := c.UpdateStack(ctx, id, in)
		if err != nil {
			return err
		}
		return printStack(e, cf, st)
	}
}

// stackPatch builds the PATCH body from the flags that were given, so that
// only what the admin named changes.
func stackPatch(e *env, set map[string]bool, f *stackFields, clearGlobs, clearLabels bool) (api.UpdateStack, error) {
	var in api.UpdateStack
	for flagName, dst := range map[string]struct {
		v   *string
		out **string
	}{
		"name": {&f.name, &in.Name}, "space": {&f.space, &in.Space}, "integration": {&f.integration, &in.Integration},
		"repository": {&f.repository, &in.Repository}, "branch": {&f.branch, &in.Branch},
		"project-root": {&f.projectRoot, &in.ProjectRoot}, "tool": {&f.tool, &in.Tool},
		"tool-version": {&f.toolVersion, &in.ToolVersion}, "worker-pool": {&f.workerPool, &in.WorkerPool},
		"mr-plan-min-access":  {&f.mrPlanMinAccess, &in.MRPlanMinAccess},
		"mr-apply-min-access": {&f.mrApplyMinAccess, &in.MRApplyMinAccess},
		"drift-issue-mode":    {&f.driftIssueMode, &in.DriftIssueMode},
	} {
		if set[flagName] {
			*dst.out = dst.v
		}
	}
	for flagName, dst := range map[string]struct {
		v   *bool
		out **bool
	}{"autodeploy": {&f.autodeploy, &in.Autodeploy}, "allow-fork-mrs": {&f.allowForkMRs, &in.AllowForkMRs},
		"mr-apply": {&f.mrApply, &in.MRApply}, "mr-automerge": {&f.mrAutomerge, &in.MRAutomerge},
		"drift-issue": {&f.driftIssue, &in.DriftIssue}} {
		if set[flagName] {
			*dst.out = dst.v
		}
	}
	if set["apply-requirements"] {
		reqs := commaList(f.applyRequirements)
		in.ApplyRequirements = &reqs
	}
	if set["drift-issue-labels"] {
		labels := commaList(f.driftIssueLabels)
		in.DriftIssueLabels = &labels
	}
	var err error
	if in.AdditionalProjectGlobs, err = listPatch("glob", f.globs, clearGlobs); err != nil {
		return in, err
	}
	if in.Labels, err = listPatch("label", f.labels, clearLabels); err != nil {
		return in, err
	}
	desc, ok, err := textOrFile(e, "description", f.description, f.descFile, set["description"])
	if err != nil {
		return in, err
	}
	if ok {
		in.Description = &desc
	}
	if in == (api.UpdateStack{}) {
		return in, usageError{"nothing to change: give at least one flag"}
	}
	return in, nil
}

// listPatch is the new value of a repeatable flag: nil when neither it nor
// its --clear- twin was given.
func listPatch(name string, vals []string, clear bool) (*[]string, error) {
	switch {
	case clear && len(vals) > 0:
		return nil, usageError{fmt.Sprintf("give --%s or --clear-%ss, not both", name, name)}
	case clear:
		return &[]string{}, nil
	case len(vals) > 0:
		return &vals, nil
	}
	return nil, nil
}

func stackDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "stack id")
		if err != nil {
			return err
		}
		if err := c.DeleteStack(ctx, id); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "deleted stack %s\n", id)
		}
		return nil
	}
}

func stackIntegration(st api.Stack) string {
	if st.Integration == nil {
		return "(detached)"
	}
	return *st.Integration
}

func shortSHA(c *api.TrackedCommit) string {
	if c == nil || c.SHA == "" {
		return "-"
	}
	if len(c.SHA) > 12 {
		return c.SHA[:12]
	}
	return c.SHA
}

// stackTool is the stack's tool and pinned version, or what runs it
// without one.
func stackTool(st api.Stack) string {
	if st.ToolVersion == "" {
		return st.Tool + " (the workers' default version)"
	}
	return st.Tool + " " + st.ToolVersion
}

func printStack(e *env, cf *clientFlags, st *api.Stack) error {
	warn(e, st.Warnings)
	if cf.json() {
		return writeJSON(e.stdout, st)
	}
	if st.Detached {
		fmt.Fprintln(e.stderr, "warning: stack is detached:", st.DetachedReason)
	}
	tracked := "-"
	if c := st.TrackedCommit; c != nil {
		tracked = fmt.Sprintf("%s on %s (since %s)", c.SHA, c.Branch, fmtTime(c.MovedAt))
	}
	mrLock := "-"
	if l := st.MRLock; l != nil {
		mrLock = fmt.Sprintf("!%d by %s since %s", l.MergeRequestIID, l.LockedBy, fmtTime(l.LockedAt))
	}
	return details(e.stdout, []kv{
		{"ID", st.ID},
		{"Name", st.Name},
		{"Space", st.Space},
		{"Integration", stackIntegration(*st)},
		{"Repository", st.Repository},
		{"Branch", st.Branch},
		{"Project root", orDash(st.ProjectRoot)},
		{"Globs", joinOrDash(st.AdditionalProjectGlobs)},
		{"Labels", joinOrDash(st.Labels)},
		{"Autodeploy", yesNo(st.Autodeploy)},
		{"Tool", stackTool(*st)},
		{"Worker pool", st.WorkerPool},
		{"Fork MRs", yesNo(st.AllowForkMRs)},
		{"/hoist plan", st.MRPlanMinAccess + " or above"},
		{"MR apply", yesNo(st.MRApply)},
		{"/hoist apply", st.MRApplyMinAccess + " or above"},
		{"Apply requirements", joinOrDash(st.ApplyRequirements)},
		{"MR automerge", yesNo(st.MRAutomerge)},
		{"Drift issue", stackDriftIssueText(*st)},
		{"MR lock", mrLock},
		{"Drift", driftText(st.Drift)},
		{"Tracked commit", tracked},
		{"Created", fmtTime(st.CreatedAt)},
		{"Updated", fmtTime(st.UpdatedAt)},
	}, "Description", st.Description)
}

// driftText is what stack show says of the stack's drift mark.
func driftText(d *api.StackDrift) string {
	switch {
	case d == nil:
		return "never checked"
	case !d.Drifted:
		return fmt.Sprintf("none (run %s, %s)", d.Run, fmtTime(d.CheckedAt))
	}
	var rs []string
	for _, r := range d.Resources {
		rs = append(rs, r.Action+" "+r.Address)
	}
	return fmt.Sprintf("DRIFTED since %s (run %s): %s", fmtTime(d.ChangedAt), d.Run, strings.Join(rs, ", "))
}
