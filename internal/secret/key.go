package secret

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvKey is the environment variable holding the encryption key.
const EnvKey = "HOIST_ENCRYPTION_KEY"

// KeyFileName is the key file inside the data directory.
const KeyFileName = "encryption-key"

// KeySource says where LoadKey found the key (for a log line; never the key).
type KeySource string

// Where keys come from.
const (
	FromConfig    KeySource = "config" // given by the caller (hoist server --encryption-key)
	FromEnv       KeySource = "env"
	FromFile      KeySource = "file"
	FromGenerated KeySource = "generated"
)

// LoadKey returns the encryption key: from HOIST_ENCRYPTION_KEY when set
// (standard or URL-safe base64 of exactly 32 bytes; anything else is an
// error, never silently replaced), else from <dataDir>/encryption-key, which
// is created with a new random key and mode 0600 when missing. A key file
// readable by group or others is refused.
func LoadKey(getenv func(string) string, dataDir string) ([]byte, KeySource, error) {
	if v := strings.TrimSpace(getenv(EnvKey)); v != "" {
		key, err := ParseKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvKey, err)
		}
		return key, FromEnv, nil
	}
	path := filepath.Join(dataDir, KeyFileName)
	key, err := readKeyFile(path)
	if err == nil {
		return key, FromFile, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	if err := writeKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it first
			key, err = readKeyFile(path)
			return key, FromFile, err
		}
		return nil, "", err
	}
	return key, FromGenerated, nil
}

// ParseKey decodes a key written as standard or URL-safe base64 (padded or
// not) of exactly KeySize bytes. Its errors never quote s.
func ParseKey(s string) ([]byte, error) {
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("encryption key is not base64: generate one with `openssl rand -base64 32`")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key must be base64 of %d bytes, got %d bytes: generate one with `openssl rand -base64 32`", KeySize, len(key))
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("encryption key file %s has mode %o: it must be readable by its owner only (chmod 600)", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	key, err := ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return key, nil
}

// writeKeyFile creates path exclusively with mode 0600, so two servers
// starting on one data directory cannot each write a different key.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("encryption key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create encryption key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return fmt.Errorf("write encryption key file: %w", err)
	}
	return nil
}
