package main

// The long-running commands (server, worker, vcs-agent) are configured
// by flags, environment variables and secret files (envflag.go);
// --print-config shows what they add up to, and where each value came
// from, instead of starting. Secrets show only their size.

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const printConfigFlag = "print-config"

// longRunning wraps the define of a long-running command: its flags also
// read HOIST_<FLAG> (envflag.go), and --print-config[=json] prints the
// effective configuration and exits before anything starts.
func longRunning(define func(*env, *cobra.Command) runFunc) func(*env, *cobra.Command) runFunc {
	return func(e *env, cmd *cobra.Command) runFunc {
		cmd.Annotations[bareEnvKey] = "yes"
		format := cmd.Flags().String(printConfigFlag, "", "print the effective configuration, secrets redacted, as `FORMAT` table or json (--print-config=json), and exit")
		cmd.Flags().Lookup(printConfigFlag).NoOptDefVal = "table"
		run := define(e, cmd)
		return func(ctx context.Context, args []string) error {
			if *format == "" {
				return run(ctx, args)
			}
			if err := parseNoArgs(cmd, args); err != nil {
				return err
			}
			return printConfig(e.stdout, cmd, *format)
		}
	}
}

// configEntry is one flag of --print-config.
type configEntry struct {
	Flag     string `json:"flag"`
	Value    string `json:"value"`              // a secret's is "<redacted, N bytes>"
	Source   string `json:"source"`             // default, flag, env or file
	Variable string `json:"variable,omitempty"` // for env and file: HOIST_… or HOIST_…_FILE
	Secret   bool   `json:"secret,omitempty"`
}

func printConfig(w io.Writer, c *cobra.Command, format string) error {
	entries := configEntries(c)
	switch format {
	case "json":
		return writeJSON(w, struct {
			Command string        `json:"command"`
			Flags   []configEntry `json:"flags"`
		}{cmdName(c), entries})
	case "table":
		rows := [][]string{{"FLAG", "VALUE", "SOURCE"}}
		for _, e := range entries {
			v, src := e.Value, e.Source
			if v == "" {
				v = `""`
			}
			if e.Variable != "" {
				src = "$" + e.Variable
			}
			rows = append(rows, []string{"--" + e.Flag, v, src})
		}
		return table(w, rows)
	}
	return usageError{fmt.Sprintf("--%s=%q: want table or json", printConfigFlag, format)}
}

// configEntries are c's flags (those the environment can set) with their
// values and sources, secrets redacted.
func configEntries(c *cobra.Command) []configEntry {
	var out []configEntry
	for _, f := range envFlags(c) {
		e := configEntry{Flag: f.Name, Value: f.Value.String(), Source: "default", Secret: isSecret(f)}
		if variable, path := envSource(f); variable != "" {
			e.Source, e.Variable = "env", variable
			if path != "" {
				e.Source = "file"
			}
		} else if f.Changed {
			e.Source = "flag"
		}
		if e.Secret && e.Value != "" {
			e.Value = fmt.Sprintf("<redacted, %d bytes>", len(e.Value))
		}
		out = append(out, e)
	}
	return out
}

// flagOrigin names where f's value came from, for an error about the
// value that must not quote it: --flag, $VARIABLE or $VARIABLE_FILE.
func flagOrigin(f *pflag.Flag) string {
	if variable, _ := envSource(f); variable != "" {
		return "$" + variable
	}
	return "--" + f.Name
}
