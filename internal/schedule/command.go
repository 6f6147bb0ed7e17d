package schedule

import (
	"errors"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/hoistdev/hoist/internal/apperr"
)

// MaxCommandLine bounds a command written as one line (the web form's):
// the arguments hold at most 16 KiB, quoting adds some.
const MaxCommandLine = 32 << 10

// ParseCommand splits a task's command written as one line into its
// arguments as a shell (bash) would, without running or expanding
// anything: quotes ('…', "…") and backslashes group and escape, and
// everything else is taken as written (no globbing, no ~, no braces).
// What a shell would expand or run is refused rather than passed on
// unexpanded: $(…) and backticks, $NAME and ${…}, $((…)), and what makes
// more than one plain command (;, &, |, &&, redirections, NAME=value
// prefixes). Errors are apperr.InvalidField("command", …).
func ParseCommand(line string) ([]string, error) {
	if len(line) > MaxCommandLine {
		return nil, apperr.InvalidField("command", "must be at most %d bytes, got %d", MaxCommandLine, len(line))
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(line), "")
	if err != nil {
		var pe syntax.ParseError
		if errors.As(err, &pe) {
			return nil, apperr.InvalidField("command", "is not valid shell words: %s", pe.Text)
		}
		return nil, apperr.InvalidField("command", "is not valid shell words: %v", err)
	}
	if len(f.Stmts) == 0 {
		return nil, nil
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if len(f.Stmts) > 1 || !ok || st.Negated || st.Background || len(st.Redirs) > 0 {
		return nil, apperr.InvalidField("command", "must be one command: ;, &, |, redirections and shell syntax are not supported")
	}
	if len(call.Assigns) > 0 {
		return nil, apperr.InvalidField("command", "must not set variables (NAME=value): set them as the stack's variables")
	}
	args := make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		var b strings.Builder
		for _, p := range w.Parts {
			if err := wordPart(&b, p); err != nil {
				return nil, err
			}
		}
		args = append(args, b.String())
	}
	return args, nil
}

// wordPart writes the literal value of one part of a word, or refuses
// what a shell would expand.
func wordPart(b *strings.Builder, p syntax.WordPart) error {
	switch p := p.(type) {
	case *syntax.Lit:
		b.WriteString(unescape(p.Value, ""))
	case *syntax.SglQuoted:
		if p.Dollar {
			return apperr.InvalidField("command", "$'…' quoting is not supported: use '…'")
		}
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		if p.Dollar {
			return apperr.InvalidField("command", `$"…" quoting is not supported: use "…"`)
		}
		for _, q := range p.Parts {
			lit, ok := q.(*syntax.Lit)
			if !ok {
				return refuseExpansion(q)
			}
			b.WriteString(unescape(lit.Value, "$`\"\\\n"))
		}
	default:
		return refuseExpansion(p)
	}
	return nil
}

// refuseExpansion says why a part a shell would expand is refused.
func refuseExpansion(p syntax.WordPart) error {
	switch p.(type) {
	case *syntax.CmdSubst:
		return apperr.InvalidField("command", "command substitution ($(…) or backticks) is not run: write the argument out")
	case *syntax.ProcSubst:
		return apperr.InvalidField("command", "process substitution (<(…), >(…)) is not run: write the argument out")
	case *syntax.ParamExp:
		return apperr.InvalidField("command", "variables ($NAME, ${…}) are not expanded: write the value out, or put a literal $ in single quotes")
	case *syntax.ArithmExp:
		return apperr.InvalidField("command", "arithmetic ($((…))) is not evaluated: write the number out")
	}
	return apperr.InvalidField("command", "holds shell syntax that is not supported: write plain, quoted arguments")
}

// unescape removes backslashes as a shell does: outside quotes (escapable
// "") each escapes the next character, inside double quotes only the
// characters in escapable; a backslash before a newline joins the lines.
func unescape(s, escapable string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		next := s[i+1]
		switch {
		case next == '\n':
			i++
		case escapable == "" || strings.IndexByte(escapable, next) >= 0:
			b.WriteByte(next)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FormatCommand writes args as one line that ParseCommand reads back as
// args: an argument that is not plain is put in single quotes (a quote
// in it closes them, is escaped, and opens them again).
func FormatCommand(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteArg(a)
	}
	return strings.Join(out, " ")
}

func quoteArg(a string) string {
	plain := a != ""
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r)) {
			plain = false
			break
		}
	}
	if plain {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
