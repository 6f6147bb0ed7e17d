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
// The long-running commands (server, worker, vcs-agent: longRunning) also
// read HOIST_<FLAG>, after the scoped name, unless that bare name lies in
// a command's own HOIST_<COMMAND>_ names (`server --worker-slots` would
// be HOIST_WORKER_SLOTS, which is `worker --slots`) or the flag opts out
// (scopedEnvOnly). A flag marked secret (secretFlag) is also read from the
// file that <VARIABLE>_FILE names, for each of its variables.
//
// A flag given on the command line wins; a variable acts exactly as the
// flag would (it counts as given for the update commands). Variables are
// read only when a command runs, so help never shows their values.

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hoistdev/hoist/internal/secret"
)

const (
	envScopeKey  = "hoist_env_scope"       // flag annotation: the family owning a shared flag
	envAliasKey  = "hoist_env_alias"       // flag annotation: variables read after the rule's
	envScopedKey = "hoist_env_scoped_only" // flag annotation: no bare HOIST_<FLAG> name
	secretKey    = "hoist_secret"          // flag annotation: a secret; its value is the flag reading its file, if any
	envFromKey   = "hoist_env_from"        // flag annotation set by applyEnv: the variable read, and the file
	bareEnvKey   = "hoist_env_bare"        // command annotation: its flags also have HOIST_<FLAG> names
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

// scopedEnvOnly gives the named flags of a long-running command no bare
// HOIST_<FLAG> name, because that name already means something else.
func scopedEnvOnly(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		mustAnnotate(fs, n, envScopedKey, "yes")
	}
}

// secretFlag marks the flag name as carrying a secret: --print-config
// redacts it, help says so, and each of its variables V can instead be a
// file that V_FILE names. fileFlag is the command's own flag for that file
// (--pool-token-file), whose variables are then exactly the V_FILE names;
// "" when there is none and applyEnv reads the file itself.
func secretFlag(fs *pflag.FlagSet, name, fileFlag string) {
	mustAnnotate(fs, name, secretKey, fileFlag)
}

// mustAnnotate fails only for a flag that was never defined: a mistake in
// this package, caught by every test that builds the tree.
func mustAnnotate(fs *pflag.FlagSet, name, key string, values ...string) {
	if err := fs.SetAnnotation(name, key, values); err != nil {
		panic(err)
	}
}

func isSecret(f *pflag.Flag) bool {
	_, ok := f.Annotations[secretKey]
	return ok
}

// envName is the rule: HOIST_<SCOPE>_<FLAG>.
func envName(scope, flag string) string {
	r := strings.NewReplacer("-", "_", " ", "_")
	return "HOIST_" + strings.ToUpper(r.Replace(strings.TrimSpace(scope+" "+flag)))
}

// envNames are the variables that set f of c, in the order they are read:
// the rule's, the bare HOIST_<FLAG> of a long-running command, the aliases.
func envNames(c *cobra.Command, f *pflag.Flag) []string {
	scope, shared := cmdName(c), false
	if s, ok := f.Annotations[envScopeKey]; ok {
		scope, shared = s[0], true
	}
	names := []string{envName(scope, f.Name)}
	if bare := envName("", f.Name); c.Annotations[bareEnvKey] != "" && !shared && f.Annotations[envScopedKey] == nil &&
		!inCommandNames(c.Root(), bare) {
		names = append(names, bare)
	}
	for _, a := range f.Annotations[envAliasKey] {
		if !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	return names
}

// inCommandNames reports whether name starts like the rule's names of a
// top-level command (HOIST_WORKER_…): those belong to that command.
func inCommandNames(root *cobra.Command, name string) bool {
	for _, c := range root.Commands() {
		if strings.HasPrefix(name, envName(c.Name(), "")+"_") {
			return true
		}
	}
	return false
}

// fileEnvNames are the …_FILE variables of a secret flag that applyEnv
// reads itself (none for a flag whose file has a flag of its own).
func fileEnvNames(c *cobra.Command, f *pflag.Flag) []string {
	if v, ok := f.Annotations[secretKey]; !ok || v[0] != "" {
		return nil
	}
	var out []string
	for _, n := range envNames(c, f) {
		out = append(out, n+"_FILE")
	}
	return out
}

// envFlags are the flags of c that the environment can set: all but
// cobra's own --help and --version, and --print-config, which is an
// action like them (a variable that turns a server into a printer would
// be a trap in a deployment).
func envFlags(c *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "version" && f.Name != printConfigFlag {
			out = append(out, f)
		}
	})
	return out
}

// applyEnv sets each flag of c not given on the command line from the
// first of its variables that is set (surrounding space trimmed, as a
// value from a file would be), or for a secret from the file its …_FILE
// names, and records which on the flag (envFromKey). An invalid value names
// the variable, not the value, which may be a secret.
func applyEnv(c *cobra.Command, getenv func(string) string) error {
	for _, f := range envFlags(c) {
		if f.Changed {
			continue
		}
		for _, name := range envNames(c, f) {
			v, from, path, err := envValue(c, f, name, getenv)
			if err != nil {
				return err
			}
			if from == "" {
				continue
			}
			if c.Flags().Set(f.Name, v) != nil {
				return usageError{fmt.Sprintf("$%s: not a valid %s for --%s", from, f.Value.Type(), f.Name)}
			}
			mustAnnotate(c.Flags(), f.Name, envFromKey, from, path)
			break
		}
	}
	return nil
}

// envValue is what the variable name holds for f; for a secret flag, the
// contents of the file name_FILE names instead. from is the variable read
// ("" when neither is set) and path the file.
func envValue(c *cobra.Command, f *pflag.Flag, name string, getenv func(string) string) (v, from, path string, err error) {
	v = strings.TrimSpace(getenv(name))
	if !isSecret(f) {
		if v == "" {
			return "", "", "", nil
		}
		return v, name, "", nil
	}
	fileVar := name + "_FILE"
	path = strings.TrimSpace(getenv(fileVar))
	switch {
	case v != "" && path != "":
		return "", "", "", usageError{fmt.Sprintf("$%s and $%s are both set: give the secret for --%s one way", name, fileVar, f.Name)}
	case v != "":
		return v, name, "", nil
	case path == "" || !slices.Contains(fileEnvNames(c, f), fileVar):
		return "", "", "", nil // unset, or the variable of the command's own file flag
	}
	v, err = secret.ReadFile(path)
	if err != nil {
		return "", "", "", fmt.Errorf("$%s: %w", fileVar, err)
	}
	return v, fileVar, path, nil
}

// envSource is where applyEnv took f's value from: the variable, and the
// file for a …_FILE variable; "" when it did not set f.
func envSource(f *pflag.Flag) (variable, path string) {
	if from := f.Annotations[envFromKey]; len(from) == 2 {
		return from[0], from[1]
	}
	return "", ""
}

// secretFiles are the regular files c's secrets were read from (…_FILE),
// which runs must never see. Anything else (a pipe from <(…)) is gone once
// read.
func secretFiles(c *cobra.Command) []string {
	var out []string
	for _, f := range envFlags(c) {
		if _, path := envSource(f); path != "" {
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
				out = append(out, path)
			}
		}
	}
	return out
}

// describeEnv appends to each flag's help the variables that set it.
func describeEnv(c *cobra.Command) {
	for _, f := range envFlags(c) {
		names := envNames(c, f)
		f.Usage += " [$" + strings.Join(names, ", $")
		if files := fileEnvNames(c, f); len(files) > 0 {
			f.Usage += "; secret: or the file named by $" + strings.Join(files, ", $")
		} else if isSecret(f) {
			f.Usage += "; secret: or the file of --" + f.Annotations[secretKey][0]
		}
		f.Usage += "]"
	}
}
