package schedule

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want []string
		err  string // part of the refusal; "" when accepted
	}{
		{line: "tofu  state list", want: []string{"tofu", "state", "list"}},
		{line: "", want: nil},
		{line: `tofu state rm 'aws_instance.web["a b"]'`, want: []string{"tofu", "state", "rm", `aws_instance.web["a b"]`}},
		{line: `tofu state show "module.x[\"k\"].aws_s3_bucket.b"`, want: []string{"tofu", "state", "show", `module.x["k"].aws_s3_bucket.b`}},
		{line: `tofu import aws_instance.x\[0\] i-123`, want: []string{"tofu", "import", "aws_instance.x[0]", "i-123"}},
		{line: `tofu state show aws_instance.x[0]`, want: []string{"tofu", "state", "show", "aws_instance.x[0]"}},
		{line: "tofu output -raw 'price$'", want: []string{"tofu", "output", "-raw", "price$"}},
		{line: `tofu "a\b" ~ {a,b} *`, want: []string{"tofu", `a\b`, "~", "{a,b}", "*"}},
		{line: "tofu state \\\nlist # all of it", want: []string{"tofu", "state", "list"}},
		{line: "tofu ''", want: []string{"tofu", ""}},
		{line: "tofu state rm $(cat list)", err: "command substitution"},
		{line: "tofu state rm `cat list`", err: "command substitution"},
		{line: `tofu state rm "x$(id)"`, err: "command substitution"},
		{line: "tofu state rm $ADDR", err: "variables"},
		{line: `tofu state rm "${ADDR}"`, err: "variables"},
		{line: "tofu apply -parallelism=$((2+2))", err: "arithmetic"},
		{line: "tofu state list; rm -rf /", err: "must be one command"},
		{line: "tofu state list | tee x", err: "must be one command"},
		{line: "tofu state list > out", err: "must be one command"},
		{line: "tofu state list &", err: "must be one command"},
		{line: "(tofu state list)", err: "must be one command"},
		{line: "TF_LOG=debug tofu plan", err: "must not set variables"},
		{line: "tofu state rm 'unclosed", err: "is not valid shell words"},
		{line: "tofu $'a\\n'", err: "$'…' quoting"},
		{line: `tofu $"a"`, err: `$"…" quoting`},
		{line: "tofu <(cat x)", err: "process substitution"},
		{line: "tofu @(a|b)", err: "not supported"},
		{line: "[[ -f x ]]", err: "must be one command"},
		{line: strings.Repeat("a", MaxCommandLine+1), err: "must be at most"},
	} {
		got, err := ParseCommand(tc.line)
		if tc.err == "" {
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("ParseCommand(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
			}
			continue
		}
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != "command" || !strings.Contains(e.Message, tc.err) {
			t.Errorf("ParseCommand(%q) = %q, %v; want a refusal on command with %q", tc.line, got, err, tc.err)
		}
	}
}

// TestFormatCommand: what FormatCommand writes, ParseCommand reads back.
func TestFormatCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"tofu", "state", "list"},
		{"tofu", "state", "rm", `aws_instance.web["a b"]`},
		{"tofu", "output", "-raw", "it's $HOME `x` $(id) \\ \" ~ * {a,b} # ; |"},
		{"tofu", "", "-var=x=1", "line\nbreak", "tab\there", "ünïcode"},
	} {
		line := FormatCommand(args)
		got, err := ParseCommand(line)
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("ParseCommand(FormatCommand(%q)) = ParseCommand(%q) = %q, %v", args, line, got, err)
		}
	}
	if got := FormatCommand([]string{"tofu", "state", "rm", "a b"}); got != "tofu state rm 'a b'" {
		t.Errorf("FormatCommand = %q", got)
	}
}
