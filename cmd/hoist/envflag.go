package main

// Every flag of every command can also be set by an environment variable,
// named by one rule (docs/cli.md): HOIST_, then the flag's scope and name in
// upper case with dashes and spaces as underscores. The scope is the
// command that owns the flag (`stack create --name` is
// HOIST_STACK_CREATE_NAME, `vcs-agent --vendor` HOIST_VCS_AGENT_VENDOR);
// flags that a family of commands shares are owned by the family: hoist
// itself for the client flags (HOIST_URL, HOIST_TOKEN, HOIST_OUTPUT),
// gitlab-sim for its clients' (HOIST_GITLAB_SIM_URL). A variable documented
// before the rule that it does not produce stays as an alias (envAlias).
//
// A flag given on the command line wins; a variable acts exactly as the
// flag would (it counts as given for the update commands). Variables are
// read only when a command runs, so help never shows their values.

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const (
	envScopeKey = "hoist_env_scope" // flag annotation: the family owning a shared flag
	envAliasKey = "hoist_env_alias" // flag annotation: variables read after the rule's
)

// shareEnv gives the named flags of fs the scope of the family that shares
// them ("" for hoist itself).
func shareEnv(fs *pflag.FlagSet, scope string, names ...string) {
	for _, n := range names {
		mustAnnotate(fs, n, envScopeKey, scope)
	}
}

// envAlias makes the flag also read the given variables, after the one
// the rule names.
func envAlias(fs *pflag.FlagSet, name string, vars ...string) {
	mustAnnotate(fs, name, envAliasKey, vars...)
}

// mustAnnotate fails only for a flag that was never defined: a mistake in
// this package, caught by every test that builds the tree.
func mustAnnotate(fs *pflag.FlagSet, name, key string, values ...string) {
	if err := fs.SetAnnotation(name, key, values); err != nil {
		panic(err)
	}
}

// envName is the rule: HOIST_<SCOPE>_<FLAG>.
func envName(scope, flag string) string {
	r := strings.NewReplacer("-", "_", " ", "_")
	return "HOIST_" + strings.ToUpper(r.Replace(strings.TrimSpace(scope+" "+flag)))
}

// envNames are the variables that set f of c, in the order they are read.
func envNames(c *cobra.Command, f *pflag.Flag) []string {
	scope := cmdName(c)
	if s, ok := f.Annotations[envScopeKey]; ok {
		scope = s[0]
	}
	return append([]string{envName(scope, f.Name)}, f.Annotations[envAliasKey]...)
}

// envFlags are the flags of c that the environment can set: all but
// cobra's own --help and --version.
func envFlags(c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "version" {
			out = append(out, f)
		}
	})
	return out
}

// applyEnv sets each flag of c not given on the command line from the
// first of its variables that is set (surrounding space trimmed, as a
// value from a file would be). An invalid value names the variable, not
// the value, which may be a secret.
func applyEnv(c *cobra.Command, getenv func(string) string) error {
	for _, f := range envFlags(c) {
		if f.Changed {
			continue
		}
		for _, name := range envNames(c, f) {
			v := strings.TrimSpace(getenv(name))
			if v == "" {
				continue
			}
			if c.Flags().Set(f.Name, v) != nil {
				return usageError{fmt.Sprintf("$%s: not a valid %s for --%s", name, f.Value.Type(), f.Name)}
			}
			break
		}
	}
	return nil
}

// describeEnv appends to each flag's help the variables that set it.
func describeEnv(c *cobra.Command) {
	for _, f := range envFlags(c) {
		f.Usage += " [$" + strings.Join(envNames(c, f), ", $") + "]"
	}
}
