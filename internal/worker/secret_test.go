package worker

import (
	"testing"

	"github.com/hoistdev/hoist/internal/run"
)

func TestSecretIn(t *testing.T) {
	m := run.NewMasker([]string{"p&ss<w>rd", "tok\\en"})
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{`"eu-1"`, false},
		{`"x:p&ss<w>rd"`, true},                // as is
		{`"x:p\u0026ss\u003cw\u003erd"`, true}, // escaped as Go's JSON (and tofu's) does
		{`{"k":["a","tok\\en"]}`, true},        // nested, backslash escaped
		{`{"p\u0026ss\u003cw\u003erd":1}`, true},
		{`[1,2,{"a":true}]`, false},
		{`not json p&ss`, false},
	} {
		if got := secretIn(m, tc.value); got != tc.want {
			t.Errorf("secretIn(%s) = %v, want %v", tc.value, got, tc.want)
		}
	}
}
