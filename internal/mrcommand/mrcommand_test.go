package mrcommand

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	many := make([]string, MaxStacks+1)
	for i := range many {
		many[i] = fmt.Sprintf("s%d", i)
	}
	tests := []struct {
		name       string
		note       string
		want       Command
		notCommand bool
	}{
		{name: "plan all", note: "/hoist plan", want: Command{Kind: Plan}},
		{name: "plan named", note: "/hoist plan app net", want: Command{Kind: Plan, Stacks: []string{"app", "net"}}},
		{name: "apply named", note: "/hoist apply app", want: Command{Kind: Apply, Stacks: []string{"app"}}},
		{name: "unlock", note: "/hoist unlock", want: Command{Kind: Unlock}},
		{name: "help", note: "/hoist help", want: Command{Kind: Help}},
		{name: "help ignores words", note: "/hoist help me please", want: Command{Kind: Help}},
		{name: "bare prefix is help", note: "/hoist", want: Command{Kind: Help}},
		{name: "bare prefix and blanks is help", note: "  /hoist  \t", want: Command{Kind: Help}},
		{name: "case-insensitive", note: "/HoIsT PLAN App", want: Command{Kind: Plan, Stacks: []string{"App"}}},
		{name: "rest of note ignored", note: "/hoist apply app\nand then /hoist unlock\r\nthanks", want: Command{Kind: Apply, Stacks: []string{"app"}}},
		{name: "CRLF", note: "/hoist plan\r\nmore", want: Command{Kind: Plan}},
		{name: "extra blanks and tabs", note: "\t/hoist   plan\t app   net ", want: Command{Kind: Plan, Stacks: []string{"app", "net"}}},
		{name: "duplicates dropped", note: "/hoist plan app app net app", want: Command{Kind: Plan, Stacks: []string{"app", "net"}}},
		{name: "names with path characters", note: "/hoist plan infra/prod_eu-1.v2", want: Command{Kind: Plan, Stacks: []string{"infra/prod_eu-1.v2"}}},
		{name: "exactly MaxStacks", note: "/hoist plan " + strings.Join(many[:MaxStacks], " "), want: Command{Kind: Plan, Stacks: many[:MaxStacks]}},

		{name: "plain comment", note: "Looks good to me", notCommand: true},
		{name: "empty", note: "", notCommand: true},
		{name: "command on second line", note: "thanks!\n/hoist apply", notCommand: true},
		{name: "prefix glued to a word", note: "/hoistplan", notCommand: true},
		{name: "prefix in a sentence", note: "please run /hoist plan", notCommand: true},
		{name: "atlantis command", note: "atlantis plan", notCommand: true},
		{name: "Greek omicron lookalike", note: "/h\u03bfist plan", notCommand: true},
		{name: "Cyrillic i lookalike", note: "/ho\u0456st plan", notCommand: true},
		{name: "long s folds to s in Unicode", note: "/hoi\u017ft plan", notCommand: true},
		{name: "fullwidth solidus", note: "\uff0fhoist plan", notCommand: true},
		{name: "non-breaking space after prefix", note: "/hoist\u00a0plan", notCommand: true},
		{name: "markdown quote", note: "> /hoist apply", notCommand: true},

		{name: "typo suggests", note: "/hoist aply", want: Command{Kind: Invalid, Problem: "`aply` is not a Hoist command.", Suggestion: Apply}},
		{name: "typo plan", note: "/hoist pln app", want: Command{Kind: Invalid, Problem: "`pln` is not a Hoist command.", Suggestion: Plan}},
		{name: "typo unlock", note: "/hoist UNLOK", want: Command{Kind: Invalid, Problem: "`UNLOK` is not a Hoist command.", Suggestion: Unlock}},
		{name: "unknown verb", note: "/hoist destroy everything", want: Command{Kind: Invalid, Problem: "`destroy` is not a Hoist command."}},
		{name: "Kelvin sign is not k", note: "/hoist unloc\u212a", want: Command{Kind: Invalid, Problem: "`unloc\u212a` is not a Hoist command."}},
		{name: "backquotes stripped from echo", note: "/hoist `rm", want: Command{Kind: Invalid, Problem: "`rm` is not a Hoist command."}},
		{name: "long verb shortened", note: "/hoist " + strings.Repeat("x", 500), want: Command{Kind: Invalid, Problem: "`" + strings.Repeat("x", 32) + "…` is not a Hoist command."}},
		{name: "stack name with shell characters", note: "/hoist apply app;rm", want: Command{Kind: Invalid,
			Problem: "`app;rm` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most 100 characters)."}},
		{name: "stack name like an option", note: "/hoist apply --force", want: Command{Kind: Invalid,
			Problem: "`--force` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most 100 characters)."}},
		{name: "stack name path traversal", note: "/hoist plan ../x", want: Command{Kind: Invalid,
			Problem: "`../x` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most 100 characters)."}},
		{name: "stack name lookalike", note: "/hoist plan \u0430pp", want: Command{Kind: Invalid,
			Problem: "`\u0430pp` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most 100 characters)."}},
		{name: "stack name too long", note: "/hoist plan " + strings.Repeat("a", MaxStackNameBytes+1), want: Command{Kind: Invalid,
			Problem: "`" + strings.Repeat("a", 32) + "…` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most 100 characters)."}},
		{name: "too many stacks", note: "/hoist plan " + strings.Join(many, " "), want: Command{Kind: Invalid, Problem: "A command names at most 20 stacks."}},
		{name: "line too long", note: "/hoist plan " + strings.Repeat("a ", MaxLineBytes), want: Command{Kind: Invalid, Problem: "The command line is longer than 1024 bytes."}},
		{name: "huge note without newline", note: "/hoist plan " + strings.Repeat("a", 10<<20), want: Command{Kind: Invalid, Problem: "The command line is longer than 1024 bytes."}},
		{name: "NUL byte", note: "/hoist plan app\x00", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
		{name: "escape sequence", note: "/hoist plan \x1b[2Japp", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
		{name: "C1 control", note: "/hoist plan app\u0085", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
		{name: "bidi override", note: "/hoist plan \u202eppa", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
		{name: "zero-width space", note: "/hoist pl\u200ban", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
		{name: "invalid UTF-8", note: "/hoist plan \xff\xfe", want: Command{Kind: Invalid, Problem: "The command line holds control characters or invalid text."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Parse(tt.note)
			if ok == tt.notCommand {
				t.Fatalf("Parse(%.60q) ok = %v, want %v (got %+v)", tt.note, ok, !tt.notCommand, got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%.60q) =\n %+v\nwant\n %+v", tt.note, got, tt.want)
			}
		})
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		note       string
		wantPrefix string
	}{
		{note: "/hoist help", wantPrefix: HelpText},
		{note: "/hoist aply", wantPrefix: "`aply` is not a Hoist command. Did you mean `/hoist apply`?\n\n" + HelpText},
		{note: "/hoist destroy", wantPrefix: "`destroy` is not a Hoist command.\n\n" + HelpText},
		{note: "/hoist plan", wantPrefix: ""},
	}
	for _, tt := range tests {
		cmd, ok := Parse(tt.note)
		if !ok {
			t.Fatalf("Parse(%q) is not a command", tt.note)
		}
		if got := cmd.Reply(); got != tt.wantPrefix {
			t.Errorf("Parse(%q).Reply() = %q, want %q", tt.note, got, tt.wantPrefix)
		}
	}
	for _, v := range []Kind{Plan, Apply, Unlock, Help} {
		if !strings.Contains(HelpText, "`/hoist "+string(v)) {
			t.Errorf("HelpText does not list %s", v)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]Kind{
		"aply": Apply, "appyl": Apply, "pla": Plan, "plam": Plan, "hepl": Help, "unlok": Unlock, "ulnock": Unlock,
		"destroy": "", "": "", "x": "", strings.Repeat("p", 1000): "",
	} {
		if got := suggest(word); got != want {
			t.Errorf("suggest(%.20q) = %q, want %q", word, got, want)
		}
	}
}

// FuzzParse checks that no input panics, that every command respects the
// bounds, and that whatever a reply quotes holds no control characters.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/hoist plan app", "/HOIST apply a b c\nx", "/hoist aply", "/hoist \x00", "/hoi\u017ft", "hi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, note string) {
		cmd, ok := Parse(note)
		if !ok {
			if cmd.Kind != "" {
				t.Fatalf("not a command but kind %q", cmd.Kind)
			}
			return
		}
		if len(cmd.Stacks) > MaxStacks {
			t.Fatalf("%d stacks", len(cmd.Stacks))
		}
		for _, s := range cmd.Stacks {
			if !validStackName(s) || len(s) > MaxStackNameBytes {
				t.Fatalf("stack %q accepted", s)
			}
		}
		if strings.ContainsFunc(cmd.Reply(), func(r rune) bool { return r != '\n' && isControl(r) }) {
			t.Fatalf("reply holds a control character: %q", cmd.Reply())
		}
	})
}
