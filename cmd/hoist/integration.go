package main

// `hoist integration …`: GitLab integrations (SPEC §2, §6.1).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func integrationCommands() []spec {
	return []spec{
		group("gitlab", "create, update, test GitLab integrations and rotate their webhook secret",
			leaf("create", "connect a GitLab", gitlabCreateSynopsis, gitlabCreate),
			leaf("update", "change a GitLab integration (all but its name)", gitlabUpdateSynopsis, gitlabUpdate),
			leaf("test", "check the integration's token against GitLab again", "ID", gitlabTest),
			leaf("rotate-secret", "replace the webhook secret (the old one stops working at once)", "ID", gitlabRotate),
			leaf("create-webhook", "add Hoist's webhook to a GitLab project (or update the one already there)",
				"ID --repository GROUP/PROJECT", gitlabCreateWebhook)),
		leaf("list", "list the integrations you may see", "", integrationList),
		leaf("show", "show an integration with its webhook endpoint and secret", "ID", integrationShow),
		leaf("delete", "delete an integration", "ID", integrationDelete),
	}
}

// gitlabTokenFlags are where the GitLab token comes from. --token is
// Hoist's own API key on every client command, so the GitLab token only
// comes from a file or an environment variable: --token-file/--token-env as
// SPEC §6.1 names them, with --gitlab-token-file/--gitlab-token-env as
// unambiguous aliases (flagAlias in command.go).
type gitlabTokenFlags struct{ file, env string }

func addGitLabTokenFlags(fs *pflag.FlagSet) *gitlabTokenFlags {
	t := &gitlabTokenFlags{}
	fs.StringVar(&t.file, "token-file", "", "read the GitLab token from `FILE` (- for stdin); also --gitlab-token-file")
	fs.StringVar(&t.env, "token-env", "", "read the GitLab token from environment variable `VAR`; also --gitlab-token-env")
	return t
}

func (t *gitlabTokenFlags) read(e *env) (string, error) {
	return readSecret(e, "GitLab token", t.file, t.env)
}

// The host flags' help states the rule docs/gitlab.md, docs/vcs-agents.md
// and the web form state: private://<pool> goes in the user-facing host.
const (
	apiHostUsage = "GitLab's `URL`, e.g. https://gitlab.com (a trailing /api/v4 is dropped); " +
		"for a private GitLab, its address inside the private network"
	userFacingHostUsage = "`URL` shown to users and used in links (default: the API host); " +
		"private://<pool> for a private GitLab: every call goes through that VCS agent pool and links show as plain text"
)

const gitlabCreateSynopsis = "--name N --api-host URL --token-file F|--token-env V [--default | --space S] " +
	"[--user-facing-host URL] [--label L]... [--description D | --description-file F] [--ca-bundle-file F] " +
	"[--aggregate-statuses] [--drift-issue] [--drift-issue-labels L,…]"

func gitlabCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	tok := addGitLabTokenFlags(fs)
	var in api.CreateGitLabIntegration
	var labels listFlag
	var descFile, caFile string
	fs.StringVar(&in.Name, "name", "", "name of the integration (immutable; its id and webhook endpoint derive from it)")
	fs.StringVar(&in.APIHost, "api-host", "", apiHostUsage)
	fs.StringVar(&in.UserFacingHost, "user-facing-host", "", userFacingHostUsage)
	fs.BoolVar(&in.IsDefault, "default", false, "make it the default integration, usable from every space")
	fs.StringVar(&in.Space, "space", "", "the space that owns a space-level integration")
	fs.Var(&labels, "label", "a label (repeatable)")
	fs.StringVar(&in.Description, "description", "", "markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the description from `FILE`")
	fs.StringVar(&caFile, "ca-bundle-file", "", "PEM `FILE` of CAs trusted for this GitLab only")
	fs.BoolVar(&in.AggregateStatuses, "aggregate-statuses", false, aggregateUsage)
	var driftLabels string
	fs.BoolVar(&in.DriftIssue, "drift-issue", false, driftIssueUsage)
	fs.StringVar(&driftLabels, "drift-issue-labels", "", driftIssueLabelsUsage)
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		set := flagsSet(fs)
		switch {
		case in.Name == "":
			return usageError{"--name is required"}
		case in.APIHost == "":
			return usageError{"--api-host is required"}
		case in.IsDefault && in.Space != "":
			return usageError{"give --default or --space, not both"}
		case !in.IsDefault && in.Space == "":
			return usageError{"give --default (all spaces) or --space S (one space)"}
		}
		in.DriftIssueLabels = commaList(driftLabels)
		var err error
		if in.Description, _, err = textOrFile(e, "description", in.Description, descFile, set["description"]); err != nil {
			return err
		}
		if in.CABundle, err = readCABundle(e, caFile); err != nil {
			return err
		}
		if in.Token, err = tok.read(e); err != nil {
			return err
		}
		if in.Token == "" {
			return usageError{"give the GitLab token with --token-file FILE or --token-env VAR"}
		}
		in.Labels = labels
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		it, err := c.CreateGitLabIntegration(ctx, in)
		if err != nil {
			return err
		}
		return printIntegration(e, cf, it)
	}
}

func readCABundle(e *env, file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := readInput(e, file)
	if err != nil {
		return "", fmt.Errorf("read CA bundle: %w", err)
	}
	return string(b), nil
}

const gitlabUpdateSynopsis = "ID [--api-host URL] [--user-facing-host URL] [--token-file F|--token-env V] " +
	"[--label L... | --clear-labels] [--description D | --description-file F] [--ca-bundle-file F | --clear-ca-bundle] " +
	"[--default | --space S] [--aggregate-statuses[=BOOL]] [--drift-issue[=BOOL]] [--drift-issue-labels L,…]"

const aggregateUsage = "write only the commit statuses hoist/tracked, hoist/proposed and hoist/modules, " +
	"not one per stack (for monorepos with many stacks)"

const (
	driftIssueUsage = "keep one GitLab issue per drifted stack in its project, for the stacks of this integration " +
		"that do not turn --drift-issue on themselves"
	driftIssueLabelsUsage = "labels of those issues, comma-separated (\"\" for none; needs --drift-issue)"
)

func gitlabUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	tok := addGitLabTokenFlags(fs)
	var apiHost, ufHost, desc, descFile, caFile, space, name string
	var labels listFlag
	var clearLabels, makeDefault, clearCA, aggregate, driftIssue bool
	var driftLabels string
	fs.StringVar(&apiHost, "api-host", "", apiHostUsage)
	fs.StringVar(&ufHost, "user-facing-host", "", userFacingHostUsage)
	fs.Var(&labels, "label", "a label (repeatable; replaces all labels)")
	fs.BoolVar(&clearLabels, "clear-labels", false, "remove all labels")
	fs.StringVar(&desc, "description", "", "new markdown description")
	fs.StringVar(&descFile, "description-file", "", "read the new description from `FILE`")
	fs.StringVar(&caFile, "ca-bundle-file", "", "PEM `FILE` of CAs trusted for this GitLab only")
	fs.StringVar(&space, "space", "", "move the integration to space `S` (a default one stops being the default)")
	fs.BoolVar(&makeDefault, "default", false, "make it the default integration (it moves to root)")
	fs.BoolVar(&clearCA, "clear-ca-bundle", false, "trust the system CAs again")
	fs.BoolVar(&aggregate, "aggregate-statuses", false, aggregateUsage+"; =false goes back to one per stack")
	fs.BoolVar(&driftIssue, "drift-issue", false, driftIssueUsage+"; =false turns the default off")
	fs.StringVar(&driftLabels, "drift-issue-labels", "", driftIssueLabelsUsage)
	// Registered only to refuse it with a clear message rather than
	// "unknown flag".
	fs.StringVar(&name, "name", "", "not allowed: names are immutable")
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "integration id")
		if err != nil {
			return err
		}
		set := flagsSet(fs)
		if set["name"] {
			return usageError{"the name of an integration cannot be changed: its id and webhook endpoint derive from it " +
				"(create a new integration with the new name instead)"}
		}
		in, err := gitlabPatch(e, set, tok, gitlabPatchArgs{
			apiHost: apiHost, ufHost: ufHost, desc: desc, descFile: descFile, caFile: caFile, space: space,
			labels: labels, clearLabels: clearLabels, makeDefault: makeDefault, clearCA: clearCA, aggregate: aggregate,
			driftIssue: driftIssue, driftLabels: driftLabels})
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		it, err := c.UpdateGitLabIntegration(ctx, id, in)
		if err != nil {
			return err
		}
		return printIntegration(e, cf, it)
	}
}

type gitlabPatchArgs struct {
	apiHost, ufHost, desc, descFile, caFile, space, driftLabels string
	labels                                                      []string
	clearLabels, makeDefault, clearCA, aggregate, driftIssue    bool
}

// gitlabPatch builds the PATCH body from the flags that were given, so that
// only what the admin named changes.
func gitlabPatch(e *env, set map[string]bool, tok *gitlabTokenFlags, a gitlabPatchArgs) (api.UpdateGitLabIntegration, error) {
	var in api.UpdateGitLabIntegration
	if set["api-host"] {
		in.APIHost = &a.apiHost
	}
	if set["user-facing-host"] {
		in.UserFacingHost = &a.ufHost
	}
	switch {
	case a.makeDefault && set["space"]:
		return in, usageError{"give --default or --space, not both"}
	case a.makeDefault:
		in.IsDefault = &a.makeDefault
	case set["space"]:
		notDefault := false
		in.Space, in.IsDefault = &a.space, &notDefault
	}
	switch {
	case a.clearLabels && len(a.labels) > 0:
		return in, usageError{"give --label or --clear-labels, not both"}
	case a.clearLabels:
		in.Labels = &[]string{}
	case len(a.labels) > 0:
		in.Labels = &a.labels
	}
	desc, ok, err := textOrFile(e, "description", a.desc, a.descFile, set["description"])
	if err != nil {
		return in, err
	}
	if ok {
		in.Description = &desc
	}
	switch {
	case a.clearCA && a.caFile != "":
		return in, usageError{"give --ca-bundle-file or --clear-ca-bundle, not both"}
	case a.clearCA:
		in.CABundle = new(string)
	case a.caFile != "":
		ca, err := readCABundle(e, a.caFile)
		if err != nil {
			return in, err
		}
		in.CABundle = &ca
	}
	if set["aggregate-statuses"] {
		in.AggregateStatuses = &a.aggregate
	}
	if set["drift-issue"] {
		in.DriftIssue = &a.driftIssue
	}
	if set["drift-issue-labels"] {
		labels := commaList(a.driftLabels)
		in.DriftIssueLabels = &labels
	}
	t, err := tok.read(e)
	if err != nil {
		return in, err
	}
	if t != "" {
		in.Token = &t
	}
	if in == (api.UpdateGitLabIntegration{}) {
		return in, usageError{"nothing to change: give at least one flag"}
	}
	return in, nil
}

func gitlabTest(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "integration id")
		if err != nil {
			return err
		}
		r, err := c.TestGitLabIntegration(ctx, id)
		if err != nil {
			return err
		}
		warn(e, r.Warnings)
		if cf.json() {
			return writeJSON(e.stdout, r)
		}
		return details(e.stdout, []kv{
			{"OK", yesNo(r.OK)},
			{"Token user", orDash(r.TokenUser)},
			{"Token scopes", joinOrDash(r.TokenScopes)},
			{"Token expires", tokenExpiry(r.TokenExpiresAt)},
		}, "", "")
	}
}

func gitlabRotate(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "integration id")
		if err != nil {
			return err
		}
		it, err := c.RotateGitLabWebhookSecret(ctx, id)
		if err != nil {
			return err
		}
		if err := printIntegration(e, cf, it); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "the old webhook secret no longer works: webhooks Hoist created have the new one "+
			"(unless warned above); update the secret token of the others in GitLab")
		return nil
	}
}

func gitlabCreateWebhook(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	repo := fs.String("repository", "", "the GitLab project, `GROUP/PROJECT`")
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "integration id")
		if err != nil {
			return err
		}
		if *repo == "" {
			return usageError{"integration gitlab create-webhook: --repository is required"}
		}
		h, err := c.CreateGitLabWebhook(ctx, id, api.CreateGitLabWebhook{Repository: *repo})
		if err != nil {
			return err
		}
		if cf.json() {
			return writeJSON(e.stdout, h)
		}
		fmt.Fprintf(e.stdout, "%s webhook %d of %s (project %d) -> %s\n", webhookOutcome(h), h.HookID, h.Repository, h.ProjectID, h.URL)
		return nil
	}
}

// webhookOutcome says what create-webhook did to the hook: added it, turned
// on the triggers it lacked, or only set its secret token again.
func webhookOutcome(h *api.GitLabWebhook) string {
	switch {
	case h.Created:
		return "added the"
	case len(h.TriggersAdded) > 0:
		return "turned on " + strings.Join(h.TriggersAdded, ", ") + " of the existing"
	}
	return "set the secret token (triggers already on) of the existing"
}

func integrationList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		items, err := c.ListIntegrations(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "NAME", "PROVIDER", "TYPE", "SPACE", "API HOST", "PRIVATE", "LABELS"}, func(it api.Integration) []string {
			return []string{it.ID, it.Name, it.Provider, integrationType(it), it.Space,
				it.APIHost, yesNo(it.Private), joinOrDash(it.Labels)}
		})
	}
}

func integrationShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "integration id")
		if err != nil {
			return err
		}
		it, err := c.GetGitLabIntegration(ctx, id)
		if err != nil {
			return err
		}
		return printIntegration(e, cf, it)
	}
}

func integrationDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "integration id")
		if err != nil {
			return err
		}
		if err := c.DeleteGitLabIntegration(ctx, id); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "deleted integration %s\n", id)
		}
		return nil
	}
}

func integrationType(it api.Integration) string {
	if it.IsDefault {
		return "default"
	}
	return "space"
}

// tokenExpiry is the day a GitLab token expires, or "never".
func tokenExpiry(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format("2006-01-02")
}

// printIntegration shows an integration's details. The webhook secret is
// printed because the server only returns it to those allowed to see it
// (SPEC §2.3), who need it to configure GitLab's webhook.
func printIntegration(e *env, cf *clientFlags, it *api.Integration) error {
	warn(e, it.Warnings)
	if cf.json() {
		return writeJSON(e.stdout, it)
	}
	return details(e.stdout, []kv{
		{"ID", it.ID},
		{"Name", it.Name},
		{"Provider", it.Provider},
		{"Type", integrationType(*it)},
		{"Space", it.Space},
		{"API host", it.APIHost},
		{"User-facing host", orDash(it.UserFacingHost)},
		{"Private", yesNo(it.Private)},
		{"Aggregate statuses", yesNo(it.AggregateStatuses)},
		{"Drift issue", driftIssueText(it.DriftIssue, it.DriftIssueLabels, "no")},
		{"Labels", joinOrDash(it.Labels)},
		{"Token user", orDash(it.TokenUser)},
		{"Token scopes", joinOrDash(it.TokenScopes)},
		{"Token expires", tokenExpiry(it.TokenExpiresAt)},
		{"Webhook endpoint", orDash(it.WebhookEndpoint)},
		{"Webhook secret", orDash(it.WebhookSecret)},
		{"Created", fmtTime(it.CreatedAt)},
		{"Updated", fmtTime(it.UpdatedAt)},
	}, "Description", it.Description)
}
