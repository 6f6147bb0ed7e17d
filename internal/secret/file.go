package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxFile bounds what reading a secret from a file takes in: a token, a
// key or a database URL is far smaller, and a mistaken path (a log, a
// device) must not fill memory.
const MaxFile = 64 << 10

// ReadFile reads a secret from path, surrounding space (the final newline)
// trimmed. Errors name the file, never its contents. A file anyone may
// write is refused: anyone on the machine could swap the server's
// database or key. One others may read is not, because the secret mounts
// of containers are 0444 or 0644 by default, in folders only their pod or
// service reaches.
func ReadFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if info.Mode().Perm()&0o002 != 0 {
		return "", fmt.Errorf("%s is writable by anyone (mode %o): chmod o-w it", path, info.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFile {
		return "", fmt.Errorf("%s is larger than %d KiB, which no secret is", path, MaxFile>>10)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", errors.New(path + " is empty")
	}
	return v, nil
}
