package run

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanCommitTitle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 150) // 300 bytes
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Add the VPC", "Add the VPC"},
		{"  Add the VPC \n\nWith a body", "Add the VPC"},
		{"Windows line\r\nbody", "Windows line"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{long, strings.Repeat("é", 100)},
		{"a" + long, "a" + strings.Repeat("é", 99)}, // cut before a split rune
	} {
		got := CleanCommitTitle(tc.in)
		if got != tc.want || len(got) > MaxCommitTitle || !utf8.ValidString(got) {
			t.Errorf("CleanCommitTitle(%.40q) = %.40q (%d bytes), want %.40q", tc.in, got, len(got), tc.want)
		}
	}
}
