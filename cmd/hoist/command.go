package main

// The command tree on cobra (docs/design/cli.md): every command is a spec
// in its file's table; build turns the tables into cobra commands for one
// call of run. What cobra does not do the way Hoist's CLI always has is
// here: usage text in Hoist's format (help on stdout, usage errors on
// stderr), groups that refuse unknown subcommands with a suggestion and
// exit 2, and Go-flag-style single-dash long flags (-name).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runFunc runs a command once its flags are parsed; args are its
// positional arguments.
type runFunc func(ctx context.Context, args []string) error

// spec is one command: define registers its flags on cmd and returns what
// runs it; subs are its subcommands. A group has only subs; `gitlab-sim`
// has both (it runs the simulator, its subcommands are clients).
type spec struct {
	name     string
	summary  string
	synopsis string // the usage line after the command path
	define   func(e *env, cmd *cobra.Command) runFunc
	subs     []spec
}

// leaf is a spec that runs.
func leaf(name, summary, synopsis string, define func(*env, *cobra.Command) runFunc) spec {
	return spec{name: name, summary: summary, synopsis: synopsis, define: define}
}

// group is a spec that only holds subcommands.
func group(name, summary string, subs ...spec) spec {
	return spec{name: name, summary: summary, subs: subs}
}

// newRoot builds the tree of specs under `hoist` for one call of run:
// cobra keeps parsed flag values in the commands, so nothing is shared
// between calls.
func newRoot(e *env, version string, specs []spec) *cobra.Command {
	root := &cobra.Command{Use: "hoist", Version: version, Args: cobra.ArbitraryArgs,
		SilenceErrors: true, SilenceUsage: true}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout) // before the completion command, which keeps it
	root.SetErr(e.stderr)
	root.SetGlobalNormalizationFunc(flagAlias)
	for _, s := range specs {
		addSpec(e, root, s)
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	eachCommand(root, func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			c.RunE = func(c *cobra.Command, args []string) error { return groupRun(e, c, args) }
			c.Args = cobra.ArbitraryArgs
		}
		describeEnv(c)
	})
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { writeUsage(c.OutOrStdout(), c) })
	root.SetUsageFunc(func(c *cobra.Command) error { writeUsage(c.ErrOrStderr(), c); return nil })
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return flagError(e, c, err) })
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error { return applyEnv(c, e.getenv) }
	return root
}

// addSpec adds s under parent. The command is attached before define runs,
// so that define sees its full path.
func addSpec(e *env, parent *cobra.Command, s spec) {
	cmd := &cobra.Command{Use: strings.TrimSpace(s.name + " " + s.synopsis), Short: s.summary, Args: cobra.ArbitraryArgs}
	parent.AddCommand(cmd)
	if s.define != nil {
		cmd.Annotations = map[string]string{runsAnnotation: "yes"}
		run := s.define(e, cmd)
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if c.HasSubCommands() && len(args) > 0 {
				return groupRun(e, c, args)
			}
			return run(c.Context(), args)
		}
	}
	for _, sub := range s.subs {
		addSpec(e, cmd, sub)
	}
}

func eachCommand(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		eachCommand(sub, f)
	}
}

// flagAlias maps other spellings of a flag to its name: --o was -o under
// Go's flag package, and --gitlab-token-file/--gitlab-token-env are the
// unambiguous names of integration gitlab's --token-file/--token-env.
func flagAlias(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "o":
		return "output"
	case "h":
		return "help"
	case "gitlab-token-file", "gitlab-token-env":
		return pflag.NormalizedName(strings.TrimPrefix(name, "gitlab-"))
	}
	return pflag.NormalizedName(name)
}

// groupRun is a group called without a known subcommand: "help" asks for
// its usage; anything else is a usage error, with the usage on stderr and
// the closest subcommands as suggestions.
func groupRun(e *env, c *cobra.Command, args []string) error {
	if len(args) > 0 && args[0] == "help" {
		return c.Help()
	}
	writeUsage(e.stderr, c)
	what, prefix := "subcommand", cmdName(c)+": "
	if !c.HasParent() {
		what, prefix = "command", ""
	}
	if len(args) == 0 {
		return usageError{fmt.Sprintf("%sno %s given", prefix, what)}
	}
	c.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor alone does not apply
	return usageError{fmt.Sprintf("%sunknown %s %q%s", prefix, what, args[0], didYouMean(c.SuggestionsFor(args[0]), ""))}
}

// flagError turns pflag's parse errors into usage errors (exit 2), with the
// usage on stderr. A group's flag error most often follows a mistyped
// subcommand (`hoist stack lsit --space x`): that is reported instead.
func flagError(e *env, c *cobra.Command, err error) error {
	if pos := c.Flags().Args(); len(pos) > 0 && c.HasSubCommands() && c.Flags().NFlag() == 0 {
		return groupRun(e, c, pos)
	}
	writeUsage(e.stderr, c)
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		msg += didYouMean(closeFlags(c.Flags(), name), "--")
	}
	return usageError{msg}
}

// didYouMean is the suggestion appended to an error: `; did you mean "stack"?`.
func didYouMean(names []string, prefix string) string {
	if len(names) == 0 {
		return ""
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", prefix+n)
	}
	return "; did you mean " + strings.Join(quoted, " or ") + "?"
}

// closeFlags are the flags of fs within two edits of name, or starting
// with it: cobra suggests commands but not flags.
func closeFlags(fs *pflag.FlagSet, name string) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (editDistance(name, f.Name) <= 2 || strings.HasPrefix(f.Name, name)) {
			out = append(out, f.Name)
		}
	})
	return out
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// writeUsage prints a command's usage in the format Hoist has always used:
// `usage: hoist PATH SYNOPSIS`, then its subcommands, then its flags, each
// flag with the environment variables that also set it.
func writeUsage(w io.Writer, c *cobra.Command) {
	c.InitDefaultHelpFlag()
	var b strings.Builder
	word := "subcommand"
	if !c.HasParent() {
		word = "command"
	}
	if c.Runnable() && !isGroup(c) {
		fmt.Fprintf(&b, "usage: %s\n", strings.TrimSpace(c.CommandPath()+" "+synopsis(c)))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "usage: %s <%s> [flags]\n", c.CommandPath(), word)
	}
	if c.Long != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.Long)) // cobra's own commands explain themselves there
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n%ss:\n", word)
		writeCommands(&b, c.Commands())
	}
	if !isGroup(c) || !c.HasParent() {
		fmt.Fprintf(&b, "\nflags:\n%s", c.LocalFlags().FlagUsages())
	}
	if !c.HasParent() {
		b.WriteString("\nEvery flag can also be set by an environment variable, named in each command's -h: " +
			"HOIST_<COMMAND>_<FLAG>,\nand HOIST_URL, HOIST_TOKEN, HOIST_OUTPUT for the flags all client commands share; " +
			"server, worker and\nvcs-agent flags also HOIST_<FLAG>; secrets also from a file named in <VARIABLE>_FILE " +
			"(docs/cli.md).\n")
	}
	io.WriteString(w, b.String())
}

// isGroup reports whether c only dispatches to subcommands.
func isGroup(c *cobra.Command) bool {
	return c.HasSubCommands() && c.Annotations[runsAnnotation] == ""
}

// runsAnnotation marks the commands that do something themselves, as
// opposed to groups (whose RunE only reports a missing subcommand).
const runsAnnotation = "hoist_runs"

func synopsis(c *cobra.Command) string {
	_, rest, _ := strings.Cut(c.Use, " ")
	if rest == "" && c.HasAvailableLocalFlags() {
		return "[flags]"
	}
	return rest
}

// writeCommands lists the commands a user may call (cobra's help command
// included, its hidden completion helpers not).
func writeCommands(b *strings.Builder, cmds []*cobra.Command) {
	var shown []*cobra.Command
	width := 0
	for _, c := range cmds {
		if c.IsAvailableCommand() || c.Name() == "help" {
			shown = append(shown, c)
			width = max(width, len(c.Name()))
		}
	}
	for _, c := range shown {
		fmt.Fprintf(b, "  %-*s  %s\n", width, c.Name(), c.Short)
	}
}

// execute runs the command line args on the tree under root.
func execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.SetArgs(longDashes(root, args)) // never nil: cobra would read os.Args
	return root.ExecuteContext(ctx)
}

// longDashes rewrites Go-flag-style single-dash long flags (-name,
// -name=value) of the command args call to pflag's --name, so that every
// invocation that worked before cobra still does. A flag's value is never
// rewritten, nor anything after "--".
func longDashes(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil {
		return args
	}
	c.InitDefaultHelpFlag()
	c.InitDefaultVersionFlag()
	fs := c.Flags()
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var f *pflag.Flag
		if strings.HasPrefix(a, "--") || len(name) > 1 {
			f = fs.Lookup(name)
		} else {
			f = fs.ShorthandLookup(name)
		}
		if f == nil {
			continue
		}
		if !strings.HasPrefix(a, "--") && len(name) > 1 {
			out[i] = "-" + a
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // the next argument is this flag's value
		}
	}
	return out
}

// cmdName is the command path without the program name ("stack create"),
// for messages that main prefixes with "hoist: ".
func cmdName(c *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), c.Root().Name()), " ")
}

// parseWithID checks that args hold exactly one positional argument, the
// id of the resource acted on.
func parseWithID(c *cobra.Command, args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", usageError{fmt.Sprintf("%s: want exactly one %s, got %d arguments", cmdName(c), what, len(args))}
	}
	return args[0], nil
}

// parseNoArgs checks that args hold no positional argument.
func parseNoArgs(c *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", cmdName(c), args[0])}
	}
	return nil
}

// flagsSet returns the names of the flags that were given (on the command
// line or, as if there, in the environment).
func flagsSet(fs *pflag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}

// usageError is a mistake in the command line; it exits 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
