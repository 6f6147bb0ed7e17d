package web

import (
	"strings"
	"testing"
)

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/source-control", "/source-control"},
		{"/ok/path?x=1", "/ok/path?x=1"},
		{"/stacks/a%20b?tab=runs#logs", "/stacks/a%20b?tab=runs#logs"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\nLocation: http://evil.example", "/"},
		{"/%0d%0aSet-Cookie:%20x=1", "/"},
		{"/\x00", "/"},
		{"/\x7f", "/"},
		{"/\u0085evil", "/"}, // C1 control (NEL)
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/ok\\path", "/"},
		{"/%5Cevil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/a/%2F%2Fevil.example", "/a/%2F%2Fevil.example"}, // decoded, still a path below /a
		{"/%zz", "/"},
		{"https://evil.example", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{" /evil", "/"},
		{"/" + strings.Repeat("a", maxNextLen), "/"},
	} {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
