package secret_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/secret"
)

func TestReadFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want, err     string
	}{
		{name: "trimmed", content: "  s3cret\n", mode: 0o600, want: "s3cret"},
		{name: "readable by others", content: "s3cret", mode: 0o644, want: "s3cret"},
		{name: "writable by anyone", content: "s3cret", mode: 0o666, err: "writable by anyone"},
		{name: "empty", content: " \n", mode: 0o600, err: "is empty"},
		{name: "at the bound", content: strings.Repeat("x", secret.MaxFile), mode: 0o600, want: strings.Repeat("x", secret.MaxFile)},
		{name: "over the bound", content: strings.Repeat("x", secret.MaxFile+1), mode: 0o600, err: "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			got, err := secret.ReadFile(path)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("ReadFile = %q, %v; want an error with %q", got, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case got != tc.want:
				t.Errorf("ReadFile = %.20q…, want %.20q…", got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	if _, err := secret.ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}
