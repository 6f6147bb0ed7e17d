package run

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestWorkerNote: a worker's note is its own text, kept in the history
// and shown on the run page: bounded, and without control or bidi
// characters.
func TestWorkerNote(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "sandboxed: Landlock ABI 7", "sandboxed: Landlock ABI 7"},
		{"terminal escape", "ok\x1b]52;c;ZXZpbA==\x07", "ok ]52;c;ZXZpbA=="},
		{"bidi override", "a\u202eb", "a b"},
		{"newlines", "a\nb\r", "a b"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := workerNote(tt.in); got != tt.want {
			t.Errorf("%s: workerNote(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	long := workerNote(strings.Repeat("é", 10*MaxWorkerNote))
	if n := utf8.RuneCountInString(long); n != MaxWorkerNote || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("a long note kept %d characters (valid %v)", n, utf8.ValidString(long))
	}
}

// TestErrorDetail: OpenTofu's error as a worker reports it is kept with
// its lines, without control or bidi characters, and bounded.
func TestErrorDetail(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"lines and tabs kept", "Error: x\n\n\ton main.tf\n", "Error: x\n\n\ton main.tf"},
		{"terminal escape", "Error: \x1b]52;c;ZXZpbA==\x07x", "Error: ]52;c;ZXZpbA==x"},
		{"bidi override", "a\u202eb\r", "ab"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		if got := errorDetail(tt.in); got != tt.want {
			t.Errorf("%s: errorDetail(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	long := errorDetail(strings.Repeat("é", MaxErrorDetail))
	if len(long) > MaxErrorDetail || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("a long detail kept %d bytes (valid %v)", len(long), utf8.ValidString(long))
	}
}
