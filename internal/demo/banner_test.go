package demo

import "testing"

func TestSelfCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ arg0, want string }{
		{"/tmp/go-build123/b001/exe/hoist", "go run ./cmd/hoist"},
		{"", "go run ./cmd/hoist"},
		{"hoist", "hoist"},
		{"./hoist", "./hoist"},
		{"/opt/my tools/hoist", "'/opt/my tools/hoist'"},
		{"/opt/it's/hoist", `'/opt/it'\''s/hoist'`},
	} {
		if got := SelfCommand(tc.arg0); got != tc.want {
			t.Errorf("SelfCommand(%q) = %q, want %q", tc.arg0, got, tc.want)
		}
	}
}
