package tofu

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A failed command's exit status says nothing; the cause is in the
// `Error:` blocks OpenTofu prints (plain text with -no-color). They are
// picked out of the output as it streams and kept with the error, bounded,
// so that a run can show its cause without its whole log.

// MaxDiagnostics bounds the error text kept from one command: a few errors
// with their source lines, small enough for a page banner and a merge
// request note.
const MaxDiagnostics = 4 << 10

// Error is a tofu command that failed, with OpenTofu's error messages.
type Error struct {
	Command string // "init", "plan", "apply"
	Err     error  // how the process ended
	// Diagnostics are the Error: blocks tofu printed, at most
	// MaxDiagnostics bytes; "" when it printed none. They are tofu's
	// output: they may hold the run's secrets, unmasked.
	Diagnostics string
}

func (e *Error) Error() string { return "tofu " + e.Command + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Diagnostics returns the error messages of the failed tofu command in
// err's chain, or "".
func Diagnostics(err error) string {
	var te *Error
	if errors.As(err, &te) {
		return te.Diagnostics
	}
	return ""
}

// ansi matches terminal escape sequences (CSI and OSC), which tofu prints
// without -no-color and providers may print anyway.
var ansi = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-_]`)

// diagnostics collects the Error: blocks of tofu's output, line by line:
// a block runs from its "Error: summary" line to the next diagnostic
// (Error: or Warning:) or the end of the output.
type diagnostics struct {
	b       strings.Builder
	in      bool // inside an Error: block
	blanks  int  // blank lines held back: trailing ones are dropped
	full    bool // the bound was reached
	dropped int  // Error: blocks that did not fit
}

// room keeps space for the note on dropped blocks within MaxDiagnostics.
const room = MaxDiagnostics - 64

func (d *diagnostics) line(s string) {
	s = plainLine(s)
	switch {
	case strings.HasPrefix(s, "Error: "):
		d.in, d.blanks = true, 0
		if d.full {
			d.dropped++
			return
		}
		if d.b.Len() > 0 {
			d.write("\n\n")
		}
		d.write(s)
	case strings.HasPrefix(s, "Warning: "), s == "╵":
		d.in = false
	case !d.in || d.full:
	case strings.TrimSpace(s) == "":
		d.blanks++
	default:
		d.write(strings.Repeat("\n", d.blanks+1) + s)
		d.blanks = 0
	}
}

// write appends s, cutting it (at a character) where the bound is.
func (d *diagnostics) write(s string) {
	if d.b.Len()+len(s) <= room {
		d.b.WriteString(s)
		return
	}
	cut := room - d.b.Len() - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	d.b.WriteString(s[:max(cut, 0)] + "…")
	d.full = true
}

// text is what was collected.
func (d *diagnostics) text() string {
	switch d.dropped {
	case 0:
		return d.b.String()
	case 1:
		return d.b.String() + "\n\n(1 more error in the log)"
	}
	return d.b.String() + "\n\n(" + strconv.Itoa(d.dropped) + " more errors in the log)"
}

// plainLine is a line of output without colours, control characters or
// the frame tofu draws around a diagnostic when colours are on ("│ ").
func plainLine(s string) string {
	s = ansi.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, " ")
	switch {
	case s == "│", s == "╷":
		return ""
	case strings.HasPrefix(s, "│ "):
		return s[len("│ "):]
	}
	return s
}
