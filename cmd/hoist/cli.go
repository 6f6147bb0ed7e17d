package main

// Shared plumbing of the client commands (SPEC §6.1): the --url/--token/-o
// flags, reading secrets from files or the environment, and output as human
// tables or JSON.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apiclient"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultURL is where `hoist server` listens by default (SPEC §6.1).
const defaultURL = "http://127.0.0.1:8080"

// clientFlags are the flags shared by every client command; they read
// HOIST_URL, HOIST_TOKEN and HOIST_OUTPUT (envflag.go), only when the
// command runs, so that -h never prints the API key as a flag default.
type clientFlags struct {
	cmd    *cobra.Command
	url    string
	token  string
	output string
}

func addClientFlags(cmd *cobra.Command) *clientFlags {
	cf := &clientFlags{cmd: cmd}
	fs := cmd.Flags()
	fs.StringVar(&cf.url, "url", "", "Hoist server URL (default "+defaultURL+")")
	fs.StringVar(&cf.token, "token", "", "Hoist API key")
	addOutputFlag(fs, &cf.output)
	shareEnv(fs, "", "url", "token", "output")
	secretFlag(fs, "token", "")
	return cf
}

// addOutputFlag is -o/--output (Go's flag package also took --o).
func addOutputFlag(fs *pflag.FlagSet, output *string) {
	fs.StringVarP(output, "output", "o", "table", "output format: table or json")
}

// client checks the output format and builds the API client.
func (cf *clientFlags) client(e *env) (*apiclient.Client, error) {
	if cf.output != "table" && cf.output != "json" {
		return nil, usageError{fmt.Sprintf("-o %q: want table or json", cf.output)}
	}
	u := cf.url
	if u == "" {
		u = defaultURL
	}
	if cf.token == "" {
		return nil, usageError{"no API key: set HOIST_TOKEN (or HOIST_TOKEN_FILE) or give --token"}
	}
	opts := []apiclient.Option{apiclient.WithUserAgent("hoist-cli")}
	if e.http != nil {
		opts = append(opts, apiclient.WithHTTPClient(e.http))
	}
	return apiclient.New(u, cf.token, opts...)
}

func (cf *clientFlags) json() bool { return cf.output == "json" }

// parseID is the prologue of a command acting on one resource: it checks
// that args hold exactly one id (what names it in messages), then builds
// the client. Commands that check more between the two call parseWithID and
// client themselves, so that their usage errors come first.
func (cf *clientFlags) parseID(e *env, args []string, what string) (*apiclient.Client, string, error) {
	id, err := parseWithID(cf.cmd, args, what)
	if err != nil {
		return nil, "", err
	}
	c, err := cf.client(e)
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}

// parseNone is parseID for commands without positional arguments.
func (cf *clientFlags) parseNone(e *env, args []string) (*apiclient.Client, error) {
	if err := parseNoArgs(cf.cmd, args); err != nil {
		return nil, err
	}
	return cf.client(e)
}

// printList writes items as JSON with -o json, else as a table: header,
// then row(item) for each item.
func printList[T any](e *env, cf *clientFlags, items []T, header []string, row func(T) []string) error {
	if cf.json() {
		return writeJSON(e.stdout, items)
	}
	rows := [][]string{header}
	for _, it := range items {
		rows = append(rows, row(it))
	}
	return table(e.stdout, rows)
}

// listFlag collects a repeatable string flag (--label a --label b). Unlike
// pflag's string slices it never splits a value at commas (--file
// PATH=CONTENT may hold some); from the environment it takes one value.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
func (l *listFlag) Type() string       { return "string" }

// readSecret reads a secret from exactly one of a file ("-" is stdin) or an
// environment variable, so that it never has to appear in argv (SPEC
// §6.1). The value itself never appears in any message.
func readSecret(e *env, what, file, envVar string) (string, error) {
	switch {
	case file != "" && envVar != "":
		return "", usageError{fmt.Sprintf("give the %s either from a file or from an environment variable, not both", what)}
	case file == "" && envVar == "":
		return "", nil
	}
	var v, from string
	if envVar != "" {
		v, from = e.getenv(envVar), "environment variable "+envVar
	} else {
		b, err := readInput(e, file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		v, from = string(b), file
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", usageError{fmt.Sprintf("%s: %s is empty", what, from)}
	}
	return v, nil
}

// readInput reads a file named on the command line; "-" is stdin. Errors
// name the file but never quote its contents.
func readInput(e *env, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(path)
}

// textOrFile returns the text given inline or read from a file, with
// whether either was given.
func textOrFile(e *env, what, text, file string, textSet bool) (string, bool, error) {
	if textSet && file != "" {
		return "", false, usageError{fmt.Sprintf("give the %s inline or from a file, not both", what)}
	}
	if file == "" {
		return text, textSet, nil
	}
	b, err := readInput(e, file)
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", what, err)
	}
	return string(b), true, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; the first row is the header. Cells are
// one line each (oneLine), so a value cannot forge rows or columns.
func table(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = oneLine(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// kv is one line of a detail view ("Name:  value").
type kv struct{ k, v string }

// details writes a detail view: aligned "key: value" lines, then a
// multi-line block (a description) if any.
func details(w io.Writer, lines []kv, blockTitle, block string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(tw, "%s:\t%s\n", l.k, oneLine(l.v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if strings.TrimSpace(block) == "" {
		return nil
	}
	fmt.Fprintf(w, "%s:\n", blockTitle)
	for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinOrDash(ss []string) string { return orDash(strings.Join(ss, ",")) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// warn prints server warnings (an expiring GitLab token) to stderr, where
// they are seen even when stdout is piped into a script.
func warn(e *env, warnings []string) {
	for _, w := range warnings {
		if strings.HasPrefix(strings.ToLower(w), "warning") {
			fmt.Fprintln(e.stderr, w) // already loud (an expiry within days)
			continue
		}
		fmt.Fprintln(e.stderr, "warning:", w)
	}
}

// parseRoles turns SPACE:ROLE arguments into role bindings. With
// roleOptional a bare SPACE is accepted (revoking needs only the space).
func parseRoles(vals []string, roleOptional bool) ([]api.RoleBinding, error) {
	out := make([]api.RoleBinding, 0, len(vals))
	for _, v := range vals {
		space, role, ok := strings.Cut(v, ":")
		if space == "" || (!ok && !roleOptional) || (ok && role == "") {
			return nil, usageError{fmt.Sprintf("--role %q: want SPACE:ROLE, e.g. root:read (roles: read, write, admin)", v)}
		}
		out = append(out, api.RoleBinding{Space: space, Role: role})
	}
	return out, nil
}

// fmtUserRoles is fmtRoles for a user's roles, marking those from role
// mappings: "platform:admin (mapped)".
func fmtUserRoles(rs []api.UserRole) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Space + ":" + r.Role
		if r.Source == "mapping" {
			parts[i] += " (mapped)"
		}
	}
	return joinOrDash(parts)
}

func fmtRoles(rs []api.RoleBinding) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Space + ":" + r.Role
	}
	return joinOrDash(parts)
}
