package main

// What the CLI writes to a terminal (issue 13). Much of it is text held by
// the server and written by other people: names, descriptions, labels,
// error messages, delivery reasons, run logs. A terminal obeys some
// characters instead of printing them — `ESC ] 52 ; c ; … BEL` in a space's
// description would write the viewer's clipboard, other sequences retitle
// the window, hide text or move the cursor to rewrite earlier lines — and
// bidi overrides make text read differently from its bytes. So every byte
// any command writes passes through one termWriter (run wraps stdout and
// stderr), and new commands are covered without doing anything.
//
// Each such character is replaced by its escape \uXXXX (invalid UTF-8
// bytes by \xNN), not by U+FFFD: the reader sees what was there, and inside
// a JSON string \uXXXX is the JSON escape of the same character, so -o json
// stays valid JSON that decodes to exactly what the server sent.
// (encoding/json already escapes C0 controls; it leaves DEL, C1 controls
// and bidi overrides raw, which this replaces.)

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// unsafeRune reports whether a terminal may act on r instead of showing it:
// C0 controls but newline and tab (logs and descriptions span lines; tabs
// inside table cells are handled by oneLine), DEL, C1 controls (U+0080 to
// U+009F; CSI, OSC and friends in their 8-bit form), and the bidi
// embeddings, overrides and isolates of the "Trojan Source" attack
// (U+202A–U+202E, U+2066–U+2069). Bidi marks (U+200E, U+200F, U+061C)
// are left alone: they cannot reorder more than one character and appear
// in legitimate right-to-left text.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// appendSafe appends src to dst with every unsafe rune replaced by \uXXXX
// and every byte that is not UTF-8 by \xNN. Unless final, an incomplete
// UTF-8 sequence at the end of src is not consumed but returned as rest,
// for the next call to complete (writes may split a character).
func appendSafe(dst, src []byte, final bool) (out, rest []byte) {
	for i := 0; i < len(src); {
		b := src[i]
		if b >= 0x20 && b < 0x7f || b == '\n' || b == '\t' {
			dst = append(dst, b)
			i++
			continue
		}
		if b >= utf8.RuneSelf && !final && !utf8.FullRune(src[i:]) {
			return dst, src[i:]
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = fmt.Appendf(dst, `\x%02x`, b)
		case unsafeRune(r):
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, src[i:i+size]...)
		}
		i += size
	}
	return dst, nil
}

// termSafe is appendSafe for a whole string.
func termSafe(s string) string {
	out, _ := appendSafe(make([]byte, 0, len(s)), []byte(s), true)
	return string(out)
}

// oneLine is for values shown on one line (table cells, "key: value"): a
// newline or tab inside one would forge rows or shift columns, so they are
// escaped too. termWriter takes care of the rest.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}

// termWriter is an io.Writer that passes what it is given through
// appendSafe. Safe for concurrent use (a server's loggers and a command may
// share stderr).
type termWriter struct {
	w       io.Writer
	mu      sync.Mutex
	pending []byte // the start of a character split between two writes
	buf     []byte
}

func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

// Write escapes p and writes it in one call to the underlying writer,
// holding back up to three bytes of a character p ends inside of. It
// reports len(p) on success, as io.Writer requires, whatever it wrote.
func (t *termWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	src := p
	if len(t.pending) > 0 {
		src = append(t.pending, p...)
	}
	var rest []byte
	t.buf, rest = appendSafe(t.buf[:0], src, false)
	t.pending = append(t.pending[:0:0], rest...)
	if len(t.buf) == 0 {
		return len(p), nil
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a character left incomplete by the last Write, escaped as
// the invalid bytes it then is.
func (t *termWriter) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return nil
	}
	t.buf, _ = appendSafe(t.buf[:0], t.pending, true)
	t.pending = nil
	_, err := t.w.Write(t.buf)
	return err
}
