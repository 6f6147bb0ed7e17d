package slug

import "testing"

func TestMake(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Acme GitLab":         "acme-gitlab",
		"  leading/trailing ": "leading-trailing",
		"Zürich Prod":         "zurich-prod",
		"a__b--c":             "a-b-c",
		"UPPER123":            "upper123",
		"日本":                  "",
		"-":                   "",
	}
	for in, want := range tests {
		if got := Make(in); got != want {
			t.Errorf("Make(%q) = %q, want %q", in, got, want)
		}
	}
}
