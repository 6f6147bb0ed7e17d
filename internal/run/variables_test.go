package run

import "testing"

func TestMasker(t *testing.T) {
	t.Parallel()
	m := NewMasker([]string{"abc", "", "abcdef", "x.y"})
	tests := map[string]string{
		"token abcdef here": "token ***** here",
		"abc and abcdef":    "***** and *****",
		"x.y but not xzy":   "***** but not xzy",
		"nothing to see":    "nothing to see",
		"abcabc":            "**********",
		"":                  "",
	}
	for in, want := range tests {
		if got := m.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NewMasker(nil).Mask("abc"); got != "abc" {
		t.Errorf("empty masker changed the text: %q", got)
	}
}

func TestReservedVariables(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"PATH": true, "tf_http_password": true, "TF_HTTP_ADDRESS": true,
		"TF_CLI_CONFIG_FILE": true, "TF_VAR_region": false, "AWS_REGION": false} {
		if got := reservedVar(name); got != want {
			t.Errorf("reservedVar(%s) = %v", name, got)
		}
	}
}
