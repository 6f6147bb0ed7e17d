package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTermSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain text", "Team A: the *platform* space", "Team A: the *platform* space"},
		{"newline and tab kept", "line 1\n\tline 2\n", "line 1\n\tline 2\n"},
		{"non-ASCII text kept", "Équipe 東京 — ok ✓ \u200f\u05e9\u05dc\u05d5\u05dd", "Équipe 東京 — ok ✓ \u200f\u05e9\u05dc\u05d5\u05dd"},
		{"OSC 52 clipboard write", "\x1b]52;c;ZXZpbA==\x07", `\u001b]52;c;ZXZpbA==\u0007`},
		{"CSI colour and erase", "\x1b[31mred\x1b[2K", `\u001b[31mred\u001b[2K`},
		{"carriage return", "ok\rFAILED", `ok\u000dFAILED`},
		{"backspace and NUL", "a\bb\x00", `a\u0008b\u0000`},
		{"DEL", "x\x7fy", `x\u007fy`},
		{"C1 CSI and NEL as UTF-8", "a\u009b31mb\u0085", `a\u009b31mb\u0085`},
		{"bidi overrides", "\u202eevil\u202c \u202a\u202b\u202d", `\u202eevil\u202c \u202a\u202b\u202d`},
		{"bidi isolates", "\u2066a\u2067b\u2068c\u2069", `\u2066a\u2067b\u2068c\u2069`},
		{"raw 8-bit CSI byte (not UTF-8)", "a\x9b31mb", `a\x9b31mb`},
		{"invalid UTF-8", "\xff\xfe ok", `\xff\xfe ok`},
		{"truncated character at the end", "ok \xe2\x80", `ok \xe2\x80`},
		{"U+FFFD itself is text", "\ufffd", "\ufffd"},
	}
	for _, tt := range tests {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("%s: termSafe(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestTermWriterSplitWrites: characters split between writes (a streamed
// run log) are escaped as if written whole; a dangling start of one is
// escaped by Flush.
func TestTermWriterSplitWrites(t *testing.T) {
	t.Parallel()
	in := "log \u202e line\n\u009b2J é \x1b]0;title\x07 end"
	var out bytes.Buffer
	w := newTermWriter(&out)
	for i := range len(in) { // one byte per write: the worst split
		if n, err := w.Write([]byte{in[i]}); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if _, err := w.Write([]byte("\xe2\x80")); err != nil { // the start of a character that never ends
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := termSafe(in) + `\xe2\x80`
	if out.String() != want {
		t.Errorf("split writes gave %q, want %q", out.String(), want)
	}
}

// TestTermWriterKeepsJSON: -o json output through the writer is still
// valid JSON and decodes to exactly the server's values.
func TestTermWriterKeepsJSON(t *testing.T) {
	t.Parallel()
	v := map[string]string{
		"description": "\x1b]52;c;ZXZpbA==\x07 \u202eevil\u202c \u2066x\u2069 \x7f \u0085\u009b \r\n\t end",
		"name":        "Équipe \"A\" \\ 東京",
	}
	var out bytes.Buffer
	w := newTermWriter(&out)
	if err := writeJSON(w, v); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	assertNoTerminalControls(t, out.String())
	var back map[string]string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	for k := range v {
		if back[k] != v[k] {
			t.Errorf("%s decodes to %q, want %q", k, back[k], v[k])
		}
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain": "plain", "two\nlines": `two\nlines`, "a\tb": `a\tb`, "": "",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// assertNoTerminalControls fails if s holds a byte or character a terminal
// would act on: C0 controls but \n and \t, DEL, C1 controls (as UTF-8 or
// as raw 8-bit bytes), bidi overrides and isolates.
func assertNoTerminalControls(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) ||
			(r >= 0x2066 && r <= 0x2069) || (r == utf8.RuneError && size == 1) {
			t.Errorf("output holds %q at byte %d: %q", s[i:i+size], i, s[max(0, i-20):min(len(s), i+20)])
			return
		}
		i += size
	}
}

// TestCLINoTerminalControlsFromServer is issue 13's finding end to end: a
// space whose name, label and description carry an OSC 52 clipboard write,
// bidi overrides and C1 controls. `space show` and `space list` print them
// escaped and visible; -o json stays JSON and gives back the exact values;
// an error quoting them prints no raw control either.
func TestCLINoTerminalControlsFromServer(t *testing.T) {
	t.Parallel()
	h := setupE2E(t)
	admin := h.adminKey
	name := "Team \u202eA\u202c"
	label := "\u2066ops\u2069"
	desc := "# Team\n\nharmless \x1b]52;c;ZXZpbA==\x07 text\n\u202eevil\u202c \u2066isolated\u2069\r\u009b2J\x7f\n"
	var sp struct {
		ID, Name, Description string
		Labels                []string
	}
	h.jsonOut(&sp, admin, "space", "create", "--name", name, "--label", label, "--description", desc)
	if sp.Name != name || sp.Description != desc || len(sp.Labels) != 1 || sp.Labels[0] != label {
		t.Fatalf("-o json does not give back the server's values: %+v", sp)
	}
	h.jsonOut(&sp, admin, "space", "show", sp.ID)
	if sp.Description != desc {
		t.Errorf("show -o json: description %q", sp.Description)
	}

	show := h.ok(admin, "space", "show", sp.ID)
	for _, want := range []string{`harmless \u001b]52;c;ZXZpbA==\u0007 text`, `Team \u202eA\u202c`, `\u2066ops\u2069`, `\u009b2J\u007f`} {
		if !strings.Contains(show, want) {
			t.Errorf("space show lacks %q:\n%s", want, show)
		}
	}
	list := h.ok(admin, "space", "list")
	if !strings.Contains(list, `Team \u202eA\u202c`) {
		t.Errorf("space list:\n%s", list)
	}
	_, _, err := h.run(admin, nil, "space", "create", "--name", name)
	if err == nil {
		t.Fatal("a second space with the same name was created")
	}

	h.mu.Lock()
	printed := h.printed.String() // every command's stdout and stderr, and main's error lines
	h.mu.Unlock()
	assertNoTerminalControls(t, printed)
	if strings.Contains(printed, "\x1b") || strings.Contains(printed, "\a") || strings.Contains(printed, "\u202e") {
		t.Error("raw ESC, BEL or RLO printed")
	}
}
